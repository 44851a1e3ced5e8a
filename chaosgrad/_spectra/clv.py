"""Covariant Lyapunov vectors (Ginelli, Poggi, Turchi, Chaté, Livi & Politi, PRL 99, 130601,
2007): the directions that the tangent dynamics carries into each other, each growing at
its own exponent.

Forward: the Benettin/QR pass, ``J_i Q_i = Q_{i+1} R_{i+1}`` per interval, after a
transient (so the ``Q`` are the backward Lyapunov vectors); ``Q_i`` and ``R_i`` are stored
over the window. Backward: from a random upper-triangular ``C`` at the window's end,
``C_i = R_{i+1}^{-1} C_{i+1}`` with columns normalised; after a backward transient the
columns of ``V_i = Q_i C_i`` are the covariant vectors at the stored times. Their
growth factors give the exponents again (a check).

The angle between the unstable subspace (the first ``u`` vectors) and the rest is where
shadowing becomes ill-conditioned when it nears zero (a near-tangency, Ginelli et al. 2007;
Ni & Wang 2017 sec. 5): :func:`subspace_angles` is the smallest principal angle.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._checks import as_count, check_count, check_step_shapes, check_time
from chaosgrad._gradients.options import checked_inputs
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._shadowing.types import CovariantVectorsResult
from chaosgrad._spectra.options import check_k, interval_steps


@eqx.filter_jit
def _forward(simulator, y0, args, Q0, steps, intervals, t0):
    """Per interval: the state at its start, ``Q`` at its start and ``R`` at its end."""

    def interval(carry, _):
        t, y, Q = carry

        def step(c, _):
            t, y, Q = c
            y, Q = simulator.tangent_step(t, y, Q, args)
            return (t + simulator.dt, y, Q), None

        (t1, y1, Z), _ = jax.lax.scan(step, (t, y, Q), None, length=steps)
        Qn, R = jnp.linalg.qr(Z)
        signs = jnp.where(jnp.diag(R) < 0, -1.0, 1.0).astype(R.dtype)
        Qn, R = Qn * signs, R * signs[:, None]
        return (t1, y1, Qn), (y, Q, R)

    (_, y_end, Q_end), (ys, Qs, Rs) = jax.lax.scan(interval, (t0, y0, Q0), None, length=intervals)
    return y_end, Q_end, ys, Qs, Rs


def subspace_angles(V: np.ndarray, u: int) -> np.ndarray:
    """Smallest principal angle (radians) between ``span(V[:, :u])`` and ``span(V[:, u:])``
    at each stored time (``V``: ``(N, n, k)``)."""
    out = np.full(V.shape[0], np.nan)
    for i, Vi in enumerate(V):
        A, _ = np.linalg.qr(Vi[:, :u])
        B, _ = np.linalg.qr(Vi[:, u:])
        s = np.linalg.svd(A.T @ B, compute_uv=False)
        out[i] = float(np.arccos(np.clip(s.max(), -1.0, 1.0))) if s.size else np.nan
    return out


@float64_scope
def covariant_vectors(
    simulator,
    y0,
    args=None,
    *,
    k: int | None = None,
    time: float,
    transient: float | None = None,
    backward_transient: float | None = None,
    interval: float | None = None,
    unstable: int | None = None,
    seed: int = 0,
) -> CovariantVectorsResult:
    """The ``k`` leading covariant Lyapunov vectors at times spaced ``interval`` over ``time``.

    Arguments:
        simulator, y0, args: as for :func:`~chaosgrad.lyapunov_spectrum`.
        k: how many vectors (default all).
        time: the window of stored vectors; ``transient`` (forward, default ``time / 2``)
            before it and ``backward_transient`` (default ``time / 2``) after it, so both
            passes have converged inside the window.
        interval: time between QR steps (default 10 steps; one step when ``dt >= 1``).
        unstable: how many leading vectors span the unstable subspace for the angles
            (default: the exponents above zero by three standard errors of their
            per-interval growth).
    """
    check_time("time", time, allow_zero=False, example="100.0")
    check_time("transient", transient, allow_none=True, example="50.0 (None: time / 2)")
    check_time("backward_transient", backward_transient, allow_none=True, example="50.0 (None: time / 2)")
    simulator, y0, args, seed = checked_inputs(simulator, y0, args, seed)
    if unstable is not None:
        check_count("unstable", unstable, minimum=0, example=1)
    check_step_shapes(simulator, y0, args)
    n = int(simulator.tangent_space(y0)[0].dim)
    k = check_k(k, n)
    steps, block, ahead, window, behind = _intervals(simulator.dt, time, transient, backward_transient, interval)
    Q0 = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, k)))[0]
    dtype = jnp.dtype(simulator.dtype)
    y, Q, _, _, _ = _forward(simulator, y0, args, jnp.asarray(Q0, dtype), steps, ahead, jnp.asarray(0.0))
    _, _, ys, Qs, Rs = _forward(simulator, y, args, Q, steps, window + behind, jnp.asarray(ahead * block))
    V, logs, finite = _backward(np.asarray(Qs, np.float64), np.asarray(Rs, np.float64), window, seed)
    exponents = -logs.mean(axis=0) / block  # the backward pass contracts each CLV at its own rate
    u = _unstable_count(exponents, logs, block) if unstable is None else int(unstable)
    angles = subspace_angles(V, u) if 0 < u < k else np.full(window, np.nan)
    times = (ahead + np.arange(window)) * block
    flat = simulator.tangent_space(y0)[0]
    states = np.asarray(
        jax.vmap(lambda y: flat.split(y)[0])(jax.tree_util.tree_map(lambda x: x[:window], ys)), np.float64
    )
    return CovariantVectorsResult(
        times=times,
        vectors=V,
        exponents=exponents,
        unstable=u,
        angles=angles,
        states=states,
        interval=block,
        status="ok" if finite else "nonfinite",
        method=(
            f"Ginelli et al. 2007: forward QR every {steps} steps after {ahead} intervals, backward R^-1 pass from "
            f"{behind} intervals beyond the window"
        ),
    )


def _intervals(dt, time, transient, backward_transient, interval) -> tuple[int, float, int, int, int]:
    """``(steps, block, ahead, window, behind)``: the steps per QR interval and its length in
    time, then the forward transient, the window and the backward transient in intervals
    (each at least one; the transients ``time / 2`` by default)."""
    dt = float(dt)
    steps = interval_steps(dt, interval)
    block = steps * dt
    window = max(1, as_count("time", time, block, allow_zero=False, unit="one interval ({dt:g})"))
    ahead = as_count("transient", time / 2 if transient is None else transient, block, allow_zero=True)
    behind = max(
        1,
        as_count(
            "backward_transient", time / 2 if backward_transient is None else backward_transient, block, allow_zero=True
        ),
    )
    # At least one interval ahead: the stored Q are then QR factors of pushed frames.
    return steps, block, max(ahead, 1), window, behind


def _backward(Qs: np.ndarray, Rs: np.ndarray, window: int, seed: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """The backward pass over the stored ``Q`` (``(N, n, k)``) and ``R`` (``(N, k, k)``,
    ``N = window + behind``): ``C_i = R_{i+1}^{-1} C_{i+1}`` (R of interval i ends at i+1)
    with columns normalised, from a random upper-triangular ``C`` at the end. Returns the
    covariant vectors ``V_i = Q_i C_i`` and the logs of the normalisations over the window,
    and whether they are finite; a collapsed direction (``R`` singular) has no backward
    pass (NaN)."""
    n, k = Qs.shape[1], Qs.shape[2]
    C = np.triu(np.random.default_rng(seed + 1).standard_normal((k, k))) + np.eye(k)
    logs = np.zeros((window, k))
    V = np.zeros((window, n, k))
    finite = bool(np.isfinite(Rs).all() and np.all(np.abs(np.diagonal(Rs, axis1=1, axis2=2)) > 0))
    if not finite:
        V[:] = np.nan
        logs[:] = np.nan
        return V, logs, finite
    for i in range(len(Rs) - 1, -1, -1):
        C = np.linalg.solve(Rs[i], C)
        norms = np.linalg.norm(C, axis=0)
        C = C / norms
        if i < window:
            logs[i] = np.log(norms)
            V[i] = Qs[i] @ C
    return V, logs, bool(np.isfinite(V).all())


def _unstable_count(exponents: np.ndarray, logs: np.ndarray, block: float) -> int:
    """The exponents above zero by three standard errors of the per-interval growth (a
    flow's neutral exponent has a random sign over a finite window)."""
    window = len(logs)
    spread = logs.std(axis=0, ddof=1) / np.sqrt(window) / block if window > 1 else np.zeros(logs.shape[1])
    return int(np.sum(exponents - 3 * spread > 0))
