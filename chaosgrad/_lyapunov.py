"""Lyapunov spectra of a simulator's own numerical step (Benettin/QR).

For the map ``y_{n+1} = F(y_n)`` with Jacobian ``J_n = DF(y_n)``, the Lyapunov exponents
are the growth rates of the QR factors of the tangent propagator:

    J_{N-1} ... J_1 J_0 Q_0 = Q_N R_N ... R_1,   lambda_i = lim (1 / (N dt)) sum_j ln |R_j[i, i]|

(Benettin, Galgani, Giorgilli & Strelcyn, Meccanica 15, 1980; Shimada & Nagashima,
Prog. Theor. Phys. 61, 1979). Each step advances the state and the tangent columns with
``simulator.tangent_step`` (by default ``jax.jvp`` through ``simulator.step``, ``vmap``-ed
over columns so the primal step is computed once; ``ODESimulator`` with an explicit
Runge–Kutta solver at a constant step integrates the variational equations with the same
tableau instead, see its ``tangent_step``), inside a ``lax.scan`` over steps
nested in one loop over renormalisation intervals (transient, then measurement), compiled
once per configuration; the random initial frame is drawn inside the compiled run.

The measuring time is a fixed ``time`` (or ``n_intervals``) or a strategy,
:class:`UntilConverged`: one compiled chunk of intervals is called again and again,
continuing from its last state and frame, until the leading exponent's 95% interval is
small against its size or the step budget is spent.
Because the tangent map is that of the user's *own* step (their solver, step size and
dtype), the result is lambda_numerical; with a converged reference step it is
lambda_physical.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._checks import (
    as_count,
    check_finite_input,
    check_seed,
    check_state_values,
    check_step_shapes,
    leading_size,
)
from ._errors import bad_argument
from ._lyapunov_result import LyapunovResult, kaplan_yorke_dimension, summarise
from ._precision import float64_scope
from ._pytree import all_finite
from ._sharding import shard_ensemble, to_host
from ._simulators import AbstractSimulator, check_simulator, first_failure

__all__ = [
    "LyapunovResult",
    "UntilConverged",
    "check_finite_input",
    "check_step_shapes",
    "kaplan_yorke_dimension",
    "lyapunov_spectrum",
]


# ---------------------------------------------------------------------------- engine


def _qr_positive(Q):
    """QR with a non-negative diagonal of R, in at least float32 (LAPACK has no float16)."""
    work = Q.astype(jnp.promote_types(Q.dtype, jnp.float32))
    q, r = jnp.linalg.qr(work)
    d = jnp.diagonal(r)
    sign = jnp.where(d < 0, -1.0, 1.0).astype(work.dtype)
    return (q * sign).astype(Q.dtype), jnp.log(jnp.abs(d))


def _initial_frame(seed, n: int, k: int, dtype):
    """The random orthonormal ``(n, k)`` initial frame: QR of a standard normal matrix
    drawn from ``PRNGKey(seed)`` in float64, cast to the state dtype. Traced inside the
    compiled run, so a new seed does not recompile and no eager work precedes the run."""
    key = jax.random.PRNGKey(seed)
    return jnp.linalg.qr(jax.random.normal(key, (n, k), dtype=jnp.float64))[0].astype(dtype)


def _interval_fn(simulator, args, m: int, unroll: int):
    """One renormalisation interval: ``m`` tangent steps, then QR of the frame.

    Returns ``(t, y, Q) -> ((t, y, Q), (ln |R_ii|, state finite))``.
    """
    dt = simulator.dt

    def one_step(carry, _):
        t, y, Q = carry
        y1, Q1 = simulator.tangent_step(t, y, Q, args)
        return (t + dt, y1, Q1), None

    def interval(carry):
        carry, _ = jax.lax.scan(one_step, carry, None, length=m, unroll=unroll)
        t, y, Q = carry
        state_ok = all_finite(y)
        Q, logs = _qr_positive(Q)
        return (t, y, Q), (logs, state_ok)

    return interval


def _run_one(simulator, y0, args, Q0, n_transient: int, m: int, n_intervals: int, unroll: int):
    """Transient, then ``n_intervals`` intervals of ``m`` tangent steps each, with QR.

    The transient is rounded up to whole intervals.

    Returns the ``(n_intervals, k)`` log stretches ``ln |R_ii|`` and, per interval,
    whether the state stayed finite.
    """
    interval = _interval_fn(simulator, args, m, unroll)
    # The transient evolves the tangent frame too (whole intervals, logs discarded), so
    # measurement starts from a frame aligned with the leading Lyapunov directions and
    # the 1/T bias of a random initial frame is not in the estimate. Transient and
    # measurement are one loop over intervals (one compiled body, not two): a transient
    # interval writes its logs to row 0, which the first measured interval overwrites.
    n_tr = -(-n_transient // m)

    def body(i, state):
        carry, logs, ok, transient_ok = state
        carry, (logs_i, ok_i) = interval(carry)
        row = jnp.maximum(i - n_tr, 0)
        logs = jax.lax.dynamic_update_index_in_dim(logs, logs_i, row, 0)
        ok = jax.lax.dynamic_update_index_in_dim(ok, ok_i, row, 0)
        return carry, logs, ok, transient_ok & (ok_i | (i >= n_tr))

    k = Q0.shape[1]
    log_dtype = jnp.promote_types(Q0.dtype, jnp.float32)
    state = (
        (jnp.asarray(0.0, jnp.float64), y0, Q0),
        jnp.zeros((n_intervals, k), log_dtype),
        jnp.zeros((n_intervals,), bool),
        jnp.asarray(True),
    )
    _, logs, state_ok, transient_ok = jax.lax.fori_loop(0, n_tr + n_intervals, body, state)
    return logs, state_ok & transient_ok


# Compiled once per (simulator, shapes, counts): jit caches on the static arguments and
# the simulator's non-array fields, so repeated calls do not recompile. The seed is a
# traced array, so changing it does not recompile either.
@eqx.filter_jit
def _run_single(simulator, y0, args, seed, n, k, dtype, n_transient, m, n_intervals, unroll):
    Q0 = _initial_frame(seed, n, k, dtype)
    return _run_one(simulator, y0, args, Q0, n_transient, m, n_intervals, unroll)


@eqx.filter_jit
def _run_ensemble(simulator, y0, args, seed, n, k, dtype, n_transient, m, n_intervals, unroll, y_axis, a_axis):
    Q0 = _initial_frame(seed, n, k, dtype)
    run = lambda y, a: _run_one(simulator, y, a, Q0, n_transient, m, n_intervals, unroll)
    return jax.vmap(run, in_axes=(y_axis, a_axis))(y0, args)


# ---------------------------------------------------------------------------- until converged


@dataclass(frozen=True)
class UntilConverged:
    """Measuring-time strategy: run until the leading exponent is known well enough.

    The run is extended (doubling, from ``min_intervals`` renormalisation intervals)
    until the 95% half-width of lambda_1 is at most ``rtol * |lambda_1| + atol``, or
    until ``max_steps`` steps have been taken; ``result.convergence`` says which. The
    time is then set by the system's own fluctuations and time scale (a slow or
    strongly fluctuating exponent takes longer), not by a step count.

    Arguments:
        rtol: relative half-width to reach (default 2%: well inside the typical
            gradient-rate interval, so lambda_1 does not dominate the comparison).
        atol: absolute half-width that is also good enough (1 / time unit), for
            exponents near zero; ``diagnose`` sets it to a tenth of ln 2 over the longest
            horizon (an error that changes the gradient there by under 7%).
        max_steps: the budget, in steps of the simulator.
        min_intervals: the first length checked (20 batches of 20 intervals).
    """

    rtol: float = 0.02
    atol: float = 0.0
    max_steps: int = 500_000
    min_intervals: int = 400

    def __post_init__(self):
        for name in ("rtol", "atol"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise bad_argument(name, f"{v!r} is not a non-negative number", "pass e.g. 0.02")
        if self.rtol == 0 and self.atol == 0:
            raise bad_argument("rtol", "rtol and atol are both 0, so the run could never stop early", "pass rtol=0.02")
        for name in ("max_steps", "min_intervals"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise bad_argument(name, f"{v!r} is not a positive int", "pass e.g. 500_000")

    def done(self, res: LyapunovResult) -> bool:
        lam, h = float(res.exponents[0]), float(res.uncertainty[0])
        return lam == -math.inf or (math.isfinite(h) and h <= self.rtol * abs(lam) + self.atol)


@eqx.filter_jit
def _chunk_single(simulator, carry, args, m, n_intervals, unroll):
    interval = _interval_fn(simulator, args, m, unroll)
    return jax.lax.scan(lambda c, _: interval(c), carry, None, length=n_intervals)


@eqx.filter_jit
def _chunk_ensemble(simulator, carry, args, m, n_intervals, unroll, y_axis, a_axis):
    def run(c, a):
        interval = _interval_fn(simulator, a, m, unroll)
        return jax.lax.scan(lambda c, _: interval(c), c, None, length=n_intervals)

    carry_axes = (0, 0 if y_axis == 0 or a_axis == 0 else None, 0)
    return jax.vmap(run, in_axes=(carry_axes, a_axis))(carry, args)


def _run_until(strategy: UntilConverged, simulator, y0, args, Q0, *, n_transient, m, unroll, members, axes, summary):
    """Chunks of ``strategy.min_intervals`` intervals of the same compiled program, until
    ``strategy.done`` or the budget; returns ``(logs, ok, convergence)``."""
    chunk = int(strategy.min_intervals)
    max_intervals = max(chunk, strategy.max_steps // m)
    if members is None:
        carry = (jnp.asarray(0.0, jnp.float64), y0, Q0)
        run = lambda c: _chunk_single(simulator, c, args, m, chunk, unroll)
    else:
        M = members
        carry = (jnp.zeros(M, jnp.float64), y0 if axes[0] == 0 else jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (M,) + jnp.shape(x)), y0),
                 jnp.broadcast_to(Q0, (M,) + Q0.shape))
        run = lambda c: _chunk_ensemble(simulator, c, args, m, chunk, unroll, 0, axes[1])
    transient_ok = True
    for _ in range(-(-n_transient // (m * chunk))):
        carry, (_, ok) = run(carry)
        transient_ok = transient_ok and bool(np.all(ok))
    logs, oks, target = [], [], chunk
    while True:
        carry, (lg, ok) = run(carry)
        lg, ok = to_host(lg), to_host(ok)
        if members is None:
            lg, ok = lg[None], ok[None]
        else:
            lg, ok = np.swapaxes(lg, 0, 1), np.swapaxes(ok, 0, 1)
        logs.append(lg)
        oks.append(ok & transient_ok)
        n = sum(x.shape[1] for x in logs)
        if n < target:
            continue
        res = summary(np.concatenate(logs, axis=1), np.concatenate(oks, axis=1), n, "")
        if res.status != "ok":
            return np.concatenate(logs, axis=1), np.concatenate(oks, axis=1), "stopped where the run became non-finite"
        if strategy.done(res):
            how = f"converged: lambda_1's 95% half-width {float(res.uncertainty[0]):.2g} <= {strategy.rtol:g} |lambda_1| + {strategy.atol:.2g}"
            return np.concatenate(logs, axis=1), np.concatenate(oks, axis=1), how
        if n >= max_intervals:
            how = (f"not converged: the budget of {strategy.max_steps} steps was spent with lambda_1's 95% half-width "
                   f"{float(res.uncertainty[0]):.2g} > {strategy.rtol:g} |lambda_1| + {strategy.atol:.2g}")
            return np.concatenate(logs, axis=1), np.concatenate(oks, axis=1), how
        target = min(2 * target, max_intervals)


def _with_failure(res: LyapunovResult, simulator, y0, args, ok, *, members, axes, m, transient_steps) -> LyapunovResult:
    """When the state became non-finite, replay the first member that did with
    ``advance`` (contract rule 9) and record the step's own reason, if it reported one."""
    if res.status == "ok" or res.nonfinite_quantity != "state":
        return res
    ok = np.asarray(ok)
    bad_at = np.where(ok.all(axis=1), ok.shape[1], np.argmin(ok, axis=1))
    i = int(np.argmin(bad_at))
    y_axis, a_axis = axes
    take = lambda tree, axis: tree if members is None or axis is None else jax.tree_util.tree_map(lambda x: x[i], tree)
    n_steps = -(-transient_steps // m) * m + (int(bad_at[i]) + 1) * m
    found = first_failure(simulator, take(y0, y_axis), take(args, a_axis), n_steps)
    if found is None:
        return res
    step, why = found
    return dataclasses.replace(res, failure=f"step {step} (t = {step * simulator.dt:g}): {why}")


@float64_scope
def lyapunov_spectrum(
    simulator: AbstractSimulator,
    y0,
    args=None,
    *,
    k: int | None = None,
    transient: float = 0.0,
    interval: float | None = None,
    time: float | UntilConverged | None = None,
    n_intervals: int | None = None,
    ensemble_axes: tuple[int | None, int | None] | None = None,
    n_batches: int = 20,
    seed: int = 0,
    unroll: int = 1,
    shard: bool = True,
) -> LyapunovResult:
    """Lyapunov spectrum of ``simulator``'s numerical step by Benettin/QR.

    Arguments:
        simulator: any :class:`AbstractSimulator`.
        y0: initial state (any pytree), cast to the simulator's dtype.
        args: parameters passed to every step.
        k: number of leading exponents (default: all, the state dimension).
        transient: time to integrate before measuring (discarded).
        interval: renormalisation interval tau (default: one step for maps and rollouts
            with ``dt = 1``, else about 10 steps). Rounded to whole steps.
        time: the measured time, or :class:`UntilConverged` to measure until the
            leading exponent's interval is small against its size; alternatively
            ``n_intervals``.
        ensemble_axes: ``(axis_of_y0, axis_of_args)`` as for ``jax.vmap`` (``0`` or
            ``None``), to run many initial states and/or parameter sets in one call. The
            ensemble is sharded across all visible devices (``shard=False`` to keep it on
            one device).
        n_batches: batches for the batch-means standard error of a single trajectory.
        seed: seed of the random orthonormal initial tangent frame.
        unroll: ``lax.scan`` unroll of the inner step loop (speed only).

    Returns:
        A :class:`LyapunovResult`; ``status == "nonfinite"`` if the state or the tangent
        frame became non-finite, with the estimate from the intervals before it kept.
        A direction that collapses exactly has exponent ``-inf`` and is not a failure.
    """
    simulator = check_simulator(simulator)
    dt = simulator.dt
    transient_steps = as_count("transient", transient, dt, allow_zero=True)
    if interval is None:
        m = 1 if dt >= 1 else 10
    else:
        m = as_count("interval", interval, dt, allow_zero=False)
    if (time is None) == (n_intervals is None):
        raise bad_argument(
            "time", "give exactly one of `time` and `n_intervals`", "pass e.g. time=1000.0"
        )
    strategy = time if isinstance(time, UntilConverged) else None
    if strategy is None and time is not None:
        n_int = as_count("time", time, dt * m, allow_zero=False, unit="one renormalisation interval ({dt:g})")
    elif strategy is None:
        if not isinstance(n_intervals, (int, np.integer)) or n_intervals < 1:
            raise bad_argument("n_intervals", f"{n_intervals!r} is not a positive int", "pass e.g. 1000")
        n_int = int(n_intervals)
    seed = check_seed(seed)

    axes = (None, None) if ensemble_axes is None else ensemble_axes
    if not isinstance(axes, (tuple, list)) or len(axes) != 2:
        raise bad_argument(
            "ensemble_axes", f"{ensemble_axes!r} is not a pair of 0/None with at least one 0",
            "pass (0, None) for many initial states, (None, 0) for many parameter sets",
        )
    y_axis, a_axis = axes
    if ensemble_axes is not None and (y_axis not in (0, None) or a_axis not in (0, None) or (y_axis is None and a_axis is None)):
        raise bad_argument(
            "ensemble_axes", f"{ensemble_axes!r} is not a pair of 0/None with at least one 0",
            "pass (0, None) for many initial states, (None, 0) for many parameter sets",
        )
    check_state_values("y0", y0)
    y0 = simulator.prepare(y0)
    check_finite_input("y0", y0)
    check_finite_input("args", args)

    members = None
    if y_axis == 0:
        members = leading_size(y0, "y0")
    if a_axis == 0:
        m_args = leading_size(args, "args")
        if members is not None and m_args != members:
            raise bad_argument("args", f"has {m_args} members but y0 has {members}", "use equal ensemble sizes")
        members = m_args
    one_y = jax.tree_util.tree_map(lambda x: x[0], y0) if y_axis == 0 else y0
    one_a = jax.tree_util.tree_map(lambda x: x[0], args) if a_axis == 0 else args
    check_step_shapes(simulator, one_y, one_a)

    flat, u_template, _ = simulator.tangent_space(one_y)
    n = flat.dim
    if n == 0:
        raise bad_argument("y0", "has no floating-point leaves", "pass a state with float arrays")
    k = n if k is None else k
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise bad_argument("k", f"{k!r} is not between 1 and the state dimension {n}", f"pass 1 <= k <= {n}")
    k = int(k)

    def summary(logs, ok, n_int, convergence):
        return summarise(
            logs.astype(np.float64), ok, simulator=simulator, n=n, k=k, m=m, n_int=n_int,
            transient_steps=transient_steps, n_batches=n_batches, seed=int(seed),
            ensemble=members is not None, convergence=convergence,
        )

    def finish(logs, ok, n_int, convergence):
        res = summary(logs, ok, n_int, convergence)
        return _with_failure(res, simulator, y0, args, ok, members=members, axes=(y_axis, a_axis), m=m,
                             transient_steps=transient_steps)

    seed_in, dtype = np.asarray(seed, dtype=np.int64), jnp.dtype(flat.dtype).name
    if strategy is not None:
        Q0 = _initial_frame(seed_in, n, k, dtype)
        y_in, a_in = (y0, args) if members is None else shard_ensemble((y0, args), (y_axis, a_axis), members, enabled=shard)
        padded = None if members is None else leading_size(y_in if y_axis == 0 else a_in, "y0")
        logs, ok, how = _run_until(
            strategy, simulator, y_in, a_in, Q0, n_transient=transient_steps, m=m, unroll=unroll,
            members=padded, axes=(y_axis, a_axis), summary=summary,
        )
        if members is not None:
            logs, ok = logs[:members], ok[:members]
        return finish(logs, ok, logs.shape[1], how)
    if members is None:
        logs, ok = _run_single(
            simulator, y0, args, seed_in, n, k, dtype, transient_steps, m, n_int, unroll
        )
        logs, ok = np.asarray(logs)[None], np.asarray(ok)[None]
    else:
        y_in, a_in = shard_ensemble((y0, args), (y_axis, a_axis), members, enabled=shard)
        logs, ok = _run_ensemble(
            simulator, y_in, a_in, seed_in, n, k, dtype, transient_steps, m, n_int, unroll,
            y_axis, a_axis,
        )
        logs, ok = to_host(logs)[:members], to_host(ok)[:members]
    return finish(logs, ok, n_int, f"fixed time {n_int * m * dt:g}")
