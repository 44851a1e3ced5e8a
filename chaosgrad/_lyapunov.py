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
Because the tangent map is that of the user's *own* step (their solver, step size and
dtype), the result is lambda_numerical; with a converged reference step it is
lambda_physical.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._errors import bad_argument
from ._pytree import FlatState, all_finite, float_leaves
from ._serialize import Result
from ._sharding import shard_ensemble
from ._simulators import AbstractSimulator, check_simulator


@dataclass(frozen=True)
class LyapunovResult(Result):
    """The Lyapunov spectrum of one simulator, with its uncertainty and history.

    Attributes:
        exponents: ``(k,)`` estimates, descending; the ensemble mean for ensembles.
        standard_error: ``(k,)`` standard error: batch means over intervals for a single
            trajectory (Flyvbjerg & Petersen 1989), member spread / sqrt(M) for ensembles.
        member_exponents: ``(M, k)`` per ensemble member (``M = 1`` for one trajectory).
        history: ``(n_intervals, k)`` running estimate after each interval (ensemble mean).
        finite_time_exponents: ``(M, n_intervals, k)`` ``ln|R_ii| / tau`` of each interval.
        valid_intervals: ``(M,)`` intervals each member completed with finite values.
        kaplan_yorke: ``j + S_j / |lambda_{j+1}|`` (Kaplan & Yorke 1979), ``None`` if the
            computed exponents do not reach a negative partial sum.
        status: ``"ok"`` or ``"nonfinite"``.
        first_nonfinite_interval: earliest interval (0-based, any member) with a
            non-finite value, or ``None``.
        nonfinite_quantity: ``"state"`` or ``"tangent"`` for that interval, or ``None``.
        dimension, k, dt, steps_per_interval, interval, transient, time, n_intervals,
        error_method, seed, simulator, dtype: how the run was configured.
    """

    exponents: np.ndarray
    standard_error: np.ndarray
    member_exponents: np.ndarray
    history: np.ndarray
    finite_time_exponents: np.ndarray
    valid_intervals: np.ndarray
    kaplan_yorke: float | None
    status: str
    first_nonfinite_interval: int | None
    nonfinite_quantity: str | None
    dimension: int
    k: int
    dt: float
    steps_per_interval: int
    interval: float
    transient: float
    time: float
    n_intervals: int
    error_method: str
    seed: int
    simulator: dict
    dtype: str
    kind: str = "lyapunov"

    @property
    def leading(self) -> float:
        return float(self.exponents[0])

    def summary(self) -> str:
        rows = [f"{'i':>3} {'lambda_i':>12} {'std.err':>10}"]
        for i, (lam, se) in enumerate(zip(self.exponents, self.standard_error), 1):
            rows.append(f"{i:>3} {lam:>12.5f} {se:>10.2e}")
        return "\n".join(rows)


def kaplan_yorke_dimension(exponents) -> float | None:
    """Kaplan–Yorke dimension ``D = j + (lambda_1 + ... + lambda_j) / |lambda_{j+1}|``.

    ``j`` is the largest index with a non-negative partial sum. Returns 0 when
    ``lambda_1 < 0`` and ``None`` when all partial sums of the given exponents are
    non-negative (the dimension needs more exponents than were computed).
    """
    lam = np.sort(np.asarray(exponents, dtype=float))[::-1]
    if not np.all(np.isfinite(lam)):
        return None
    sums = np.cumsum(lam)
    if sums[0] < 0:
        return 0.0
    j = int(np.max(np.nonzero(sums >= 0)[0])) + 1
    if j == lam.size:
        return None
    return float(j + sums[j - 1] / abs(lam[j]))


# ---------------------------------------------------------------------------- checks


def _as_count(name: str, value: float, dt: float, *, allow_zero: bool) -> int:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise bad_argument(name, f"{value!r} is not a number", "pass a time in the simulator's units") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise bad_argument(name, f"{value!r} is not a positive finite time", "pass a positive time")
    n = int(round(v / dt))
    if n == 0 and not allow_zero:
        raise bad_argument(name, f"{value!r} is shorter than one step (dt = {dt})", f"pass at least {dt}")
    return n


def check_finite_input(name: str, tree) -> None:
    """Raise if any floating leaf of a (concrete) input pytree is non-finite."""
    for leaf in float_leaves(tree):
        arr = np.asarray(leaf)
        if not np.all(np.isfinite(arr)):
            raise bad_argument(
                name,
                f"contains {int(np.sum(~np.isfinite(arr)))} non-finite value(s)",
                "pass finite values; a state that becomes non-finite during the run is "
                "reported in the result's status instead",
            )


def check_step_shapes(simulator: AbstractSimulator, y, args) -> None:
    """The step must map the state to a state of the same structure, shapes and dtypes.

    The check traces ``simulator.step`` abstractly (``jax.eval_shape``). Its outcome
    depends only on the simulator and on the structure, shapes and dtypes of ``y`` and
    ``args``, so a passed check is remembered under that signature and repeated calls
    with the same kind of input do not trace the step again.
    """
    key = _check_key(simulator, y, args)
    if key is not None and key in _CHECKED:
        _CHECKED.move_to_end(key)
        return
    try:
        out = jax.eval_shape(lambda y, a: simulator.step(0.0, y, a), y, args)
    except Exception as exc:  # the user's step cannot run on this y/args: say so
        raise bad_argument(
            "y0",
            f"the simulator's step fails on this state and args ({type(exc).__name__}: {exc})",
            "pass y0 and args of the shapes the step function expects",
        ) from exc
    expect = jax.tree_util.tree_map(lambda x: (jnp.shape(x), jnp.result_type(x)), y)
    got = jax.tree_util.tree_map(lambda x: (x.shape, x.dtype), out)
    if jax.tree_util.tree_structure(out) != jax.tree_util.tree_structure(y) or expect != got:
        raise bad_argument(
            "y0",
            f"one step maps the state {expect} to {got}; structure, shapes and dtypes must match",
            "make step return a state shaped like its input, and cast y0 to the simulator's dtype",
        )
    if key is not None:
        _CHECKED[key] = None
        while len(_CHECKED) > _CHECKED_MAX:
            _CHECKED.popitem(last=False)


# Signatures of (simulator, y, args) whose step passed check_step_shapes, most recent last.
_CHECKED: collections.OrderedDict = collections.OrderedDict()
_CHECKED_MAX = 256


def _leaf_signature(x, abstract: bool):
    """What the check depends on in one leaf. Arrays: shape, dtype and weak type. Python
    numbers: their type where ``jax.eval_shape`` abstracts them (``abstract``, the leaves
    of ``y`` and ``args``), their value where the step closes over them (the simulator's
    fields). Anything else (functions, flags): the object itself."""
    if isinstance(x, (bool, int, float, complex)):
        return type(x) if abstract else (type(x), x)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return (tuple(x.shape), jnp.dtype(x.dtype).name, bool(getattr(x, "weak_type", False)))
    return x


def _check_key(simulator, y, args):
    """A hashable signature of the inputs of check_step_shapes, or ``None`` if some leaf
    is unhashable (then nothing is remembered). The simulator's array fields enter by
    shape and dtype only: the engine traces them, so their values cannot decide the
    shapes a step it can run produces."""
    parts = [jax.config.jax_enable_x64]
    for tree, abstract in ((simulator, False), (y, True), (args, True)):
        leaves, treedef = jax.tree_util.tree_flatten(tree)
        parts.append((treedef, tuple(_leaf_signature(x, abstract) for x in leaves)))
    key = tuple(parts)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _leading_size(tree, name: str) -> int:
    sizes = {np.shape(x)[0] if np.ndim(x) else None for x in jax.tree_util.tree_leaves(tree)}
    if len(sizes) != 1 or None in sizes:
        raise bad_argument(
            name,
            f"an ensemble needs a common leading axis on every leaf, found sizes {sizes}",
            "stack the members along axis 0 of every leaf",
        )
    return sizes.pop()


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


def _run_one(simulator, y0, args, Q0, n_transient: int, m: int, n_intervals: int, unroll: int):
    """Transient, then ``n_intervals`` intervals of ``m`` tangent steps each, with QR.

    The transient is rounded up to whole intervals.

    Returns the ``(n_intervals, k)`` log stretches ``ln |R_ii|`` and, per interval,
    whether the state stayed finite.
    """
    dt = simulator.dt

    def one_step(carry, _):
        t, y, Q = carry
        y1, Q1 = simulator.tangent_step(t, y, Q, args)
        return (t + dt, y1, Q1), None

    def interval(carry, _):
        carry, _ = jax.lax.scan(one_step, carry, None, length=m, unroll=unroll)
        t, y, Q = carry
        state_ok = all_finite(y)
        Q, logs = _qr_positive(Q)
        return (t, y, Q), (logs, state_ok)

    # The transient evolves the tangent frame too (whole intervals, logs discarded), so
    # measurement starts from a frame aligned with the leading Lyapunov directions and
    # the 1/T bias of a random initial frame is not in the estimate. Transient and
    # measurement are one loop over intervals (one compiled body, not two): a transient
    # interval writes its logs to row 0, which the first measured interval overwrites.
    n_tr = -(-n_transient // m)

    def body(i, state):
        carry, logs, ok, transient_ok = state
        carry, (logs_i, ok_i) = interval(carry, None)
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


def _batch_means_error(ftle: np.ndarray, n_batches: int) -> np.ndarray:
    """Standard error of the mean FTLE by non-overlapping batch means."""
    n = ftle.shape[0]
    b = min(n_batches, n)
    if b < 2:
        return np.full(ftle.shape[1], np.nan)
    size = n // b
    means = ftle[: b * size].reshape(b, size, -1).mean(axis=1)
    return means.std(axis=0, ddof=1) / math.sqrt(b)


def lyapunov_spectrum(
    simulator: AbstractSimulator,
    y0,
    args=None,
    *,
    k: int | None = None,
    transient: float = 0.0,
    interval: float | None = None,
    time: float | None = None,
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
        time: total measured time; alternatively ``n_intervals``.
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
    """
    simulator = check_simulator(simulator)
    dt = simulator.dt
    transient_steps = _as_count("transient", transient, dt, allow_zero=True)
    if interval is None:
        m = 1 if dt >= 1 else 10
    else:
        m = _as_count("interval", interval, dt, allow_zero=False)
    if (time is None) == (n_intervals is None):
        raise bad_argument(
            "time", "give exactly one of `time` and `n_intervals`", "pass e.g. time=1000.0"
        )
    if time is not None:
        n_int = _as_count("time", time, dt * m, allow_zero=False)
    else:
        if not isinstance(n_intervals, (int, np.integer)) or n_intervals < 1:
            raise bad_argument("n_intervals", f"{n_intervals!r} is not a positive int", "pass e.g. 1000")
        n_int = int(n_intervals)
    if not isinstance(seed, (int, np.integer)) or not -(2**63) <= seed < 2**63:
        raise bad_argument("seed", f"{seed!r} is not a 64-bit int", "pass an int, e.g. 0")

    y_axis, a_axis = (None, None) if ensemble_axes is None else tuple(ensemble_axes)
    if ensemble_axes is not None and (
        len(ensemble_axes) != 2 or y_axis not in (0, None) or a_axis not in (0, None)
        or (y_axis is None and a_axis is None)
    ):
        raise bad_argument(
            "ensemble_axes", f"{ensemble_axes!r} is not a pair of 0/None with at least one 0",
            "pass (0, None) for many initial states, (None, 0) for many parameter sets",
        )
    y0 = simulator.prepare(y0)
    check_finite_input("y0", y0)
    check_finite_input("args", args)

    members = None
    if y_axis == 0:
        members = _leading_size(y0, "y0")
    if a_axis == 0:
        m_args = _leading_size(args, "args")
        if members is not None and m_args != members:
            raise bad_argument("args", f"has {m_args} members but y0 has {members}", "use equal ensemble sizes")
        members = m_args
    one_y = jax.tree_util.tree_map(lambda x: x[0], y0) if y_axis == 0 else y0
    one_a = jax.tree_util.tree_map(lambda x: x[0], args) if a_axis == 0 else args
    check_step_shapes(simulator, one_y, one_a)

    flat, u_template, _ = FlatState.from_template(one_y)
    n = flat.dim
    if n == 0:
        raise bad_argument("y0", "has no floating-point leaves", "pass a state with float arrays")
    k = n if k is None else k
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise bad_argument("k", f"{k!r} is not between 1 and the state dimension {n}", f"pass 1 <= k <= {n}")
    k = int(k)

    seed_in, dtype = np.asarray(seed, dtype=np.int64), jnp.dtype(flat.dtype).name
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
        logs, ok = np.asarray(logs)[:members], np.asarray(ok)[:members]

    return _summarise(
        logs.astype(np.float64), ok, simulator=simulator, n=n, k=k, m=m, n_int=n_int,
        transient_steps=transient_steps, n_batches=n_batches, seed=int(seed),
        ensemble=members is not None,
    )


def _summarise(logs, state_ok, *, simulator, n, k, m, n_int, transient_steps, n_batches, seed, ensemble):
    """Turn per-interval log stretches into exponents, errors and a status (numpy)."""
    tau = simulator.dt * m
    ftle = logs / tau  # (M, n_int, k)
    finite = np.all(np.isfinite(ftle), axis=2) & state_ok  # (M, n_int)
    # An interval is valid only if it and every interval before it are finite.
    valid_mask = np.cumprod(finite, axis=1).astype(bool)
    valid = valid_mask.sum(axis=1)  # (M,)
    M = ftle.shape[0]

    member_exp = np.full((M, k), np.nan)
    for i in range(M):
        if valid[i]:
            member_exp[i] = ftle[i, : valid[i]].mean(axis=0)
    counts = np.arange(1, n_int + 1)[None, :, None]
    running = np.where(valid_mask[..., None], np.cumsum(np.where(valid_mask[..., None], ftle, 0.0), axis=1) / counts, np.nan)
    with np.errstate(invalid="ignore"):
        history = np.nanmean(running, axis=0) if M > 1 else running[0]

    usable = valid > 0
    if ensemble:
        exps = member_exp[usable].mean(axis=0) if usable.any() else np.full(k, np.nan)
        se = (member_exp[usable].std(axis=0, ddof=1) / math.sqrt(usable.sum())) if usable.sum() > 1 else np.full(k, np.nan)
        method = "ensemble-spread"
    else:
        exps = member_exp[0]
        se = _batch_means_error(ftle[0, : valid[0]], n_batches) if valid[0] else np.full(k, np.nan)
        method = "batch-means"

    bad = valid < n_int
    first_bad = int(valid[bad].min()) if bad.any() else None
    quantity = None
    if first_bad is not None:
        member = int(np.nonzero(bad & (valid == first_bad))[0][0])
        quantity = "tangent" if state_ok[member, first_bad] else "state"

    return LyapunovResult(
        exponents=exps,
        standard_error=se,
        member_exponents=member_exp,
        history=history,
        finite_time_exponents=ftle,
        valid_intervals=valid,
        kaplan_yorke=kaplan_yorke_dimension(exps) if k == n or np.any(np.cumsum(exps) < 0) else None,
        status="ok" if first_bad is None else "nonfinite",
        first_nonfinite_interval=first_bad,
        nonfinite_quantity=quantity,
        dimension=n,
        k=k,
        dt=float(simulator.dt),
        steps_per_interval=m,
        interval=float(tau),
        transient=float(-(-transient_steps // m) * m * simulator.dt),
        time=float(n_int * tau),
        n_intervals=n_int,
        error_method=method,
        seed=seed,
        simulator=simulator.describe(),
        dtype=simulator.dtype,
    )
