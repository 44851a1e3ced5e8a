"""The compiled loop of the Lyapunov engine (:mod:`chaosgrad._spectra.lyapunov`): tangent steps
inside a ``lax.scan`` over one renormalisation interval, inside one compiled *chunk*, a
loop over a traced number of intervals (at most ``CHUNK``); :class:`_Chunks` runs any
number of intervals as calls of that one program, keeping the carry between calls.
"""

from __future__ import annotations

import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._pytree import all_finite
from chaosgrad._runtime.sharding import to_host


def _qr_positive(Q):
    """QR with a non-negative diagonal of R, in at least float32 (LAPACK has no float16).

    One column (``k = 1``, the leading exponent alone) is its own QR: ``q = Q / |Q|``,
    ``R = |Q|``; written out, so that an ensemble does not call LAPACK on a batch of
    one-column matrices every interval (``benchmarks/bench_diagnose.py``, ensemble row).
    """
    work = Q.astype(jnp.promote_types(Q.dtype, jnp.float32))
    if work.shape[-1] == 1:
        norm = jnp.sqrt(jnp.sum(jnp.square(work), axis=-2))
        # A column that collapsed exactly (exponent -inf) continues as the first unit
        # vector, as Householder QR leaves it.
        unit = jnp.zeros_like(work).at[..., 0, :].set(1.0)
        q = jnp.where(norm > 0, work / jnp.where(norm > 0, norm, 1.0), unit)
        return q.astype(Q.dtype), jnp.log(norm)
    q, r = jnp.linalg.qr(work)
    d = jnp.diagonal(r)
    sign = jnp.where(d < 0, -1.0, 1.0).astype(work.dtype)
    return (q * sign).astype(Q.dtype), jnp.log(jnp.abs(d))


def _initial_frame(seed, n: int, k: int, dtype) -> np.ndarray:
    """The random orthonormal ``(n, k)`` initial frame: QR of a standard normal matrix
    drawn on the host from ``seed`` in float64, cast to the state dtype. Host NumPy, so
    no device program is compiled for it and a new seed changes only a value."""
    rng = np.random.default_rng(int(seed) % 2**64)
    return np.linalg.qr(rng.standard_normal((n, k)))[0].astype(dtype)


# ``members_args_axis`` of the loop builders for one trajectory (no members axis).
ONE_TRAJECTORY = "one trajectory"


def _interval_fn(simulator, args, m: int, unroll: int, members_args_axis=ONE_TRAJECTORY):
    """One renormalisation interval: ``m`` tangent steps, then QR of the frame.

    Returns ``(t, y, Q) -> ((t, y, Q), (ln |R_ii|, state finite))``. For an ensemble
    (``members_args_axis``: the axis of ``args`` along the members, ``None`` when shared) the
    carry holds the members along the last axis of every leaf and each step is the
    member step under ``vmap``: the loop stays outside ``vmap``, so every operation of
    a step runs on contiguous vectors of members (SIMD lanes), not on one member's few
    components (``vmap`` of a loop would move the members to the leading axis). The
    clock ``t`` is one scalar for all members: they step together, and a clock per
    member would be one more array operation every step (a 1024-member Lorenz-63
    ensemble, T = 200, ran 5-7 % slower with it, best of 5; ``benchmarks/bench_diagnose.py``).
    """
    dt = simulator.dt
    step, qr, finite = simulator.tangent_step, _qr_positive, all_finite
    if members_args_axis != ONE_TRAJECTORY:
        step = jax.vmap(step, in_axes=(None, -1, -1, members_args_axis), out_axes=-1)
        qr = jax.vmap(_qr_positive, in_axes=-1, out_axes=-1)
        finite = jax.vmap(all_finite, in_axes=-1)

    def one_step(carry, _):
        t, y, Q = carry
        y1, Q1 = step(t, y, Q, args)
        return (t + dt, y1, Q1), None

    def interval(carry):
        carry, _ = jax.lax.scan(one_step, carry, None, length=m, unroll=unroll)
        t, y, Q = carry
        state_ok = finite(y)
        Q, logs = qr(Q)
        return (t, y, Q), (logs, state_ok)

    return interval


# Intervals per call of the compiled chunk. Every run (a transient, a fixed time, a run
# until converged, every step size of the same solver, since ``dt`` is a value) is a
# sequence of calls of one program, ``count`` (traced, at most CHUNK) intervals each.
# At most this many intervals in one fixed-time run (their logs, k floats each, are kept).
MAX_INTERVALS = 10_000_000
CHUNK = 400
# ... and at most this many, fewer when the logs of one call (intervals x k x members)
# would pass LOG_FLOATS: each call costs a dispatch (about 0.3 ms on a 2-core machine),
# so a 20,000-interval run of a small state makes 4 calls instead of 50.
MAX_CHUNK = 6400
LOG_FLOATS = 2**16


def chunk_size(k: int, members: int | None) -> int:
    """Intervals per call of the chunk program (its logs buffer's length)."""
    per_interval = max(1, int(k) * (1 if members is None else int(members)))
    return int(np.clip(LOG_FLOATS // per_interval, CHUNK, MAX_CHUNK))


# Seconds per call a timed run (progress, a wall-clock budget) aims at: how often it
# reports, and how far past a deadline it may run.
PACE = 1.0


def _chunk_fn(simulator, args, m: int, size: int, unroll: int, members_args_axis=ONE_TRAJECTORY):
    """``(carry, count) -> (carry, (logs (size, k), ok (size,)))``: ``count`` intervals;
    rows from ``count`` on are zero logs and ``ok``. For an ensemble (see
    :func:`_interval_fn`) members are the last axis of the carry and of the outputs."""
    interval = _interval_fn(simulator, args, m, unroll, members_args_axis)
    lanes = members_args_axis != ONE_TRAJECTORY

    def chunk(carry, count):
        Q = carry[2]
        k = Q.shape[-2] if lanes else Q.shape[-1]
        log_dtype = jnp.promote_types(Q.dtype, jnp.float32)
        members = Q.shape[-1:] if lanes else ()

        def body(i, state):
            carry, logs, ok = state
            carry, (logs_i, ok_i) = interval(carry)
            # i < count <= size: a plain in-place update; ``.at[i].set`` would guard an
            # out-of-range index with a select over the whole buffer, every interval.
            put = lambda buf, row: jax.lax.dynamic_update_index_in_dim(buf, row.astype(buf.dtype), i, 0)
            return carry, put(logs, logs_i), put(ok, ok_i)

        state = (carry, jnp.zeros((size, k) + members, log_dtype), jnp.ones((size,) + members, bool))
        carry, logs, ok = jax.lax.fori_loop(0, count, body, state)
        return carry, (logs, ok)

    return chunk


# Compiled once per (simulator's static part, shapes, m, size): the step size, the
# state, the frame, the parameters and the count are traced values.
@eqx.filter_jit
def _chunk_single(simulator, carry, args, count, m, size, unroll):
    return _chunk_fn(simulator, args, m, size, unroll)(carry, count)


@eqx.filter_jit
def _chunk_ensemble(simulator, carry, args, count, m, size, unroll, a_axis):
    """The members (leading axis of the state and frame in ``carry`` and of the outputs)
    moved to the last axis for the loop, once per chunk of intervals; the clock
    ``carry[0]`` is one scalar for all members."""
    to_last = lambda tree: jax.tree_util.tree_map(lambda x: jnp.moveaxis(x, 0, -1), tree)
    to_first = lambda tree: jax.tree_util.tree_map(lambda x: jnp.moveaxis(x, -1, 0), tree)
    t, y, Q = carry
    (t, y, Q), (logs, ok) = _chunk_fn(simulator, args, m, size, unroll, a_axis)((t, to_last(y), to_last(Q)), count)
    return (t, to_first(y), to_first(Q)), (jnp.moveaxis(logs, -1, 0), jnp.moveaxis(ok, -1, 0))


# A transient whose tangent frame would hold at least this many numbers (``n k``) runs the
# state alone (:func:`evolve_state`), in a program of its own. A step of ``k`` tangent
# columns costs about ``k + 1`` steps of the state (``jax.jvp`` of each column): on the
# 1,024-dimensional Kuramoto-Sivashinsky map with k = 8, the 2,000-step transient of
# ``diagnose`` took 13 s with the frame and about 2 s without it, compilation of the
# state-only program included (``benchmarks/bench_large_state.py``). Below it, the one
# compiled chunk program of the spectrum serves the transient too (no compilation of
# its own, which costs more than the steps of a small state save).
STATE_ONLY_FRAME = 4096


@eqx.filter_jit
def _state_chunk(simulator, carry, args, count, m):
    """``count`` intervals of ``m`` steps of the state alone: ``(t, y) -> ((t, y), finite)``,
    ``finite`` whether the state was finite at the end of every interval."""
    dt = simulator.dt

    def one_step(c, _):
        t, y = c
        return (t + dt, simulator.step(t, y, args)), None

    def body(i, state):
        c, ok = state
        c, _ = jax.lax.scan(one_step, c, None, length=m)
        return c, ok & all_finite(c[1])

    return jax.lax.fori_loop(0, count, body, (carry, jnp.asarray(True)))


def evolve_state(simulator, y0, args, n: int, m: int):
    """The state after ``n`` intervals of ``m`` steps from ``y0`` at ``t = 0`` (no tangent
    frame), in calls of at most ``CHUNK`` intervals. Returns ``(y, finite)``."""
    carry, finite = (jnp.asarray(0.0, jnp.float64), y0), True
    while n > 0 and finite:
        c = min(n, CHUNK)
        carry, ok = _state_chunk(simulator, carry, args, jnp.asarray(c, jnp.int32), m)
        finite, n = bool(ok), n - c
    return carry[1], finite


class _Chunks:
    """Runs intervals with the one compiled chunk program, keeping the carry
    ``(t, y, Q)`` between calls (members along a leading axis for ensembles)."""

    def __init__(self, simulator, y0, args, Q0, *, m, unroll, members, a_axis, size=None):
        size = chunk_size(jnp.shape(Q0)[-1], members) if size is None else size
        self.simulator, self.args, self.m, self.unroll, self.size = simulator, args, m, unroll, int(size)
        self.members, self.a_axis = members, a_axis
        self._timed_count = 1  # intervals in the next call of a timed run (see ``run``)
        if members is None:
            self.carry = (jnp.asarray(0.0, jnp.float64), y0, jnp.asarray(Q0))
        else:
            M = members
            self.carry = (jnp.asarray(0.0, jnp.float64), y0, jnp.broadcast_to(jnp.asarray(Q0), (M,) + Q0.shape))

    def run(self, n: int, *, report=None, deadline: float | None = None):
        """``n`` intervals; returns host ``(logs (M, n', k), ok (M, n'))`` (``M = 1`` for
        one run), ``n' = n`` unless ``deadline`` (a ``time.monotonic()`` value) passed
        first: no call starts after it, and at least one runs. ``report(done)`` after
        each call. A timed run (``report`` or ``deadline`` given) starts with one
        interval per call and grows the count towards ``PACE`` seconds a call (the count
        is a traced value: no new program), so that it reports and can stop early even
        where one interval takes seconds."""
        logs, oks = [], []
        timed = report is not None or deadline is not None
        c = self._timed_count if timed else self.size
        done = 0
        while n > 0:
            if deadline is not None and done and time.monotonic() >= deadline:
                break
            c = min(n, c, self.size)
            # A NumPy count: a value of the program like a device scalar, without a
            # dispatch of its own (jnp.asarray took about 0.7 ms a call).
            count = np.asarray(c, np.int32)
            started = time.monotonic()
            if self.members is None:
                self.carry, (lg, ok) = _chunk_single(
                    self.simulator, self.carry, self.args, count, self.m, self.size, self.unroll
                )
            else:
                self.carry, (lg, ok) = _chunk_ensemble(
                    self.simulator, self.carry, self.args, count, self.m, self.size, self.unroll, self.a_axis
                )
            if timed:  # to the host now: the pace below is the call's own time, not its dispatch
                lg, ok = to_host(lg), to_host(ok)
            # Untimed, the logs stay on the device until every call is dispatched: no host
            # round trip between calls, so the next call's dispatch overlaps this one's run.
            logs.append((lg, c))
            oks.append((ok, c))
            n -= c
            done += c
            if timed:
                if report is not None:
                    report(done)
                # At most 8 times more per call: the pace of a short call is a noisy
                # guess (and the first one's includes the compilation).
                took = time.monotonic() - started
                c = self._timed_count = max(1, min(self.size, 8 * c, int(c * PACE / max(took, 1e-9))))
        if not logs:
            k = self.carry[2].shape[-1]
            M = 1 if self.members is None else self.members
            return np.zeros((M, 0, k)), np.ones((M, 0), bool)
        # One run's logs gain their member axis on the host: indexing a device array is a
        # dispatch of its own (about 0.2 ms each, twice per call, on a 2-core machine).
        members = (lambda x: x[None]) if self.members is None else (lambda x: x)
        host = lambda parts: np.concatenate([members(to_host(x))[:, :c] for x, c in parts], axis=1)
        return host(logs), host(oks)

    def lower(self):
        """The chunk program for this carry, lowered (``.compile()`` it to compile it
        without running: JAX keeps the executable, so the first :meth:`run` does not)."""
        count = jnp.asarray(1, jnp.int32)
        # The ignores: equinox types filter_jit's result as a plain callable; it has .lower.
        if self.members is None:
            return _chunk_single.lower(self.simulator, self.carry, self.args, count, self.m, self.size, self.unroll)  # type: ignore[attr-defined]
        return _chunk_ensemble.lower(  # type: ignore[attr-defined]
            self.simulator, self.carry, self.args, count, self.m, self.size, self.unroll, self.a_axis
        )

    def transient(self, n: int, *, report=None) -> np.ndarray:
        """``n`` intervals whose logs are discarded; per member, whether the state stayed finite."""
        _, ok = self.run(n, report=report)
        return ok.all(axis=1)

    @property
    def state(self):
        return self.carry[1]
