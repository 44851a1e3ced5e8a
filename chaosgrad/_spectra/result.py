"""The result of a Lyapunov measurement and the statistics behind its error bars.

Per interval ``j`` of length ``tau``, the QR step gives finite-time exponents
``ln |R_j[i, i]| / tau``; the estimate is their mean. Its 95% interval is
``± t_{0.975, dof} * u`` with ``u = max(se, |drift|, floor)``:

- ``se``: batch means over ``n_batches`` non-overlapping blocks of intervals for one
  trajectory (Flyvbjerg & Petersen 1989; ``dof = n_batches - 1``), the member spread over
  ``sqrt(M)`` for an ensemble (``dof = M - 1``);
- ``drift``: the running estimate at T minus that at T/2. With an O(1/T) bias ``b/T`` it
  is ``-b/T``, the bias itself; with pure noise it is a normal variate with standard
  deviation ``se`` (the two halves' errors are independent), so ``max(se, |drift|)``
  enlarges a noise-only interval only where the drift happens to exceed ``se``. Taking the
  maximum, rather than adding the two in quadrature, keeps a noise-only interval near
  its nominal coverage instead of inflating it to ~99%
  (``tests/test_calibration.py``);
- ``floor``: ten units of round-off of the state dtype, so an exact exponent (a
  diagonal linear map) gets an interval no narrower than its arithmetic.

A direction that collapses exactly has ``R_ii = 0``, exponent ``-inf`` and ``u = 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from chaosgrad._results.serialize import Result
from chaosgrad._student_t import t_quantile

CONFIDENCE = 0.95


@dataclass(frozen=True)
class LyapunovResult(Result):
    """The Lyapunov spectrum of one simulator, with its uncertainty and history.

    Attributes:
        exponents: ``(k,)`` estimates in the order of the QR columns (the ensemble mean
            for ensembles): descending once the run has separated the directions; a run
            too short to separate two exponents may list them out of order, which then
            shows in their overlapping ``uncertainty``.
        standard_error: ``(k,)`` standard error: batch means over intervals for a single
            trajectory (Flyvbjerg & Petersen 1989), member spread / sqrt(M) for ensembles.
        member_exponents: ``(M, k)`` per ensemble member (``M = 1`` for one trajectory).
        history: ``(n_intervals, k)`` running estimate after each interval (ensemble mean).
        finite_time_exponents: ``(M, n_intervals, k)`` ``ln|R_ii| / tau`` of each interval.
        valid_intervals: ``(M,)`` intervals each member completed with finite values. A
            direction that collapses exactly (``R_ii = 0``: a passive leaf, a detached
            step) is a valid result, exponent ``-inf``, and does not end the run.
        uncertainty: ``(k,)`` half-width of the 95% interval of each exponent:
            ``t_{0.975, dof} * max(standard error, drift, round-off)``, where the drift is
            the change of the running estimate between T/2 and T (it measures the O(1/T)
            bias that the standard error misses); see :func:`exponent_half_width`. This is
            the one uncertainty every report shows.
        dof: degrees of freedom of the Student-t behind ``uncertainty`` (batches - 1 or
            members - 1).
        convergence: how the measuring time was chosen (fixed, or run until the leading
            exponent's interval was small against its size, and whether it got there).
        stop_reason: why the run ended: ``"fixed time"``, ``"converged"``, ``"step
            budget"``, ``"episode end"`` or ``"time budget"`` (a run until converged that
            spent its step budget, reached the end of an episodic simulator's episode, or
            spent its wall-clock budget first: the estimate is less precise than asked), or
            ``"non-finite"`` (a run until converged that stopped where the run became
            non-finite; a fixed-time run keeps ``"fixed time"`` and says so in
            ``status``); ``None`` for results written before it was recorded.
        kaplan_yorke: ``j + S_j / |lambda_{j+1}|`` (Kaplan & Yorke 1979), ``None`` if the
            computed exponents do not reach a negative partial sum.
        status: ``"ok"`` or ``"nonfinite"``.
        first_nonfinite_interval: earliest interval (0-based, any member) with a
            non-finite value, or ``None``.
        nonfinite_quantity: ``"state"`` or ``"tangent"`` for that interval, or ``None``.
        failure: why the state became non-finite when the simulator's step reported a
            failure (contract rule 9, e.g. an adaptive solve that reached ``max_steps``),
            with the step where it happened; ``None`` otherwise.
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
    uncertainty: np.ndarray
    dof: int
    convergence: str
    kind: str = "lyapunov"
    failure: str | None = None
    stop_reason: str | None = None

    # A results file stores the history as a function of the finite-time exponents when
    # that reproduces it bit for bit (``chaosgrad._results.serialize``).
    DERIVED: ClassVar[dict] = {
        "history": lambda f: running_history(f["finite_time_exponents"], f["valid_intervals"]),
    }

    @property
    def leading(self) -> float:
        return float(self.exponents[0])

    def summary(self) -> str:
        rows = [f"{'i':>3} {'lambda_i':>12} {'std.err':>10}"]
        for i, (lam, se) in enumerate(zip(self.exponents, self.standard_error), 1):
            rows.append(f"{i:>3} {lam:>12.5f} {se:>10.2e}")
        return "\n".join(rows)


def kaplan_yorke_dimension(exponents) -> float | None:
    """Kaplan–Yorke dimension ``D = j + (lambda_1 + ... + lambda_j) / |lambda_{j+1}|``
    (Kaplan & Yorke, Lecture Notes in Math. 730, 204, 1979).

    ``j`` is the largest index with a non-negative partial sum. Returns 0 when
    ``lambda_1 < 0`` and ``None`` when all partial sums of the given exponents are
    non-negative (the dimension needs more exponents than were computed). ``exponents``
    is a one-dimensional sequence of real numbers (``-inf``, a direction that collapsed
    exactly, included); NaN or ``+inf`` is refused: a measured spectrum that became
    non-finite reports ``kaplan_yorke = None`` in its result instead.
    """
    from chaosgrad._checks import check_exponents  # here: reading a results file never imports JAX

    return _dimension(check_exponents("exponents", exponents))


def _dimension(exponents) -> float | None:
    """:func:`kaplan_yorke_dimension` of measured exponents, ``None`` where NaN or
    ``+inf`` leave it undefined."""
    lam = np.sort(np.asarray(exponents, dtype=float))[::-1]
    # A collapsed direction (-inf) contributes nothing to the dimension; NaN or +inf
    # leave it undefined.
    if np.any(np.isnan(lam)) or np.any(lam == np.inf):
        return None
    sums = np.cumsum(lam)
    if sums[0] < 0:
        return 0.0
    j = int(np.max(np.nonzero(sums >= 0)[0])) + 1
    if j == lam.size:
        return None
    return float(j + sums[j - 1] / abs(lam[j]))


def _batch_means_error(ftle: np.ndarray, n_batches: int) -> np.ndarray:
    """Standard error of the mean FTLE by non-overlapping batch means."""
    n = ftle.shape[0]
    b = min(n_batches, n)
    if b < 2:
        return np.full(ftle.shape[1], np.nan)
    size = n // b
    means = ftle[: b * size].reshape(b, size, -1).mean(axis=1)
    return means.std(axis=0, ddof=1) / math.sqrt(b)


def _drift(history: np.ndarray) -> np.ndarray:
    """Running estimate at the end minus that half-way, per exponent (NaN if too short)."""
    out = np.full(history.shape[1], np.nan)
    for i in range(history.shape[1]):
        valid = np.nonzero(np.isfinite(history[:, i]))[0]
        if valid.size >= 2:
            out[i] = history[valid[-1], i] - history[valid[valid.size // 2], i]
    return out


def _eps(dtype: str) -> float:
    """Machine epsilon of ``dtype``; JAX (for bfloat16 and the other ml_dtypes) only when
    numpy does not know the name, so that reading a result does not import JAX."""
    if dtype in ("float16", "float32", "float64"):
        return float(np.finfo(dtype).eps)
    import jax.numpy as jnp

    return float(jnp.finfo(jnp.dtype(dtype)).eps)


def half_widths(exponents, se, history, dof: int, dtype: str, confidence: float = CONFIDENCE) -> np.ndarray:
    """The ``confidence`` half-width of each exponent (see the module docstring)."""
    exponents = np.asarray(exponents, float)
    floor = 10.0 * _eps(dtype) * np.maximum(1.0, np.abs(np.where(np.isfinite(exponents), exponents, 0.0)))
    drift = np.abs(_drift(np.asarray(history, float).reshape(len(history), -1)))
    u = np.fmax(np.fmax(np.where(np.isfinite(se), se, np.nan), drift), floor)
    # Without a standard error (fewer than two batches or members) nothing bounds the
    # sampling error: the interval is unbounded, not the drift alone.
    u = np.where(np.isfinite(se), u, np.inf)
    q = t_quantile(0.5 + confidence / 2, dof) if dof >= 1 else math.inf
    out = q * u
    out = np.where(exponents == -np.inf, 0.0, out)  # an exactly collapsed direction
    return np.where(np.isnan(exponents), np.nan, out)


def running_history(ftle, valid) -> np.ndarray:
    """The running estimate after each interval, ``(n_intervals, k)``, from the
    finite-time exponents ``(M, n_intervals, k)`` and each member's valid intervals
    ``(M,)``: each member's mean over its intervals so far, averaged over the members
    still valid at that interval (NaN where none is). :func:`summarise` computes
    ``LyapunovResult.history`` with it, and a results file stores the history as this
    function of the stored arrays when it reproduces them bit for bit."""
    ftle = np.asarray(ftle)
    valid = np.asarray(valid)
    M, n_int = ftle.shape[0], ftle.shape[1]
    valid_mask = np.arange(n_int)[None, :] < valid[:, None]  # (M, n_int)
    kept = np.where(valid_mask[..., None], ftle, 0.0)  # -inf (a collapsed direction) stays
    with np.errstate(invalid="ignore", divide="ignore"):
        running = np.cumsum(kept, axis=1) / np.arange(1, n_int + 1)[None, :, None]
        if M > 1:
            # The mean over the members valid at each interval (NaN where none is).
            members_valid = valid_mask.sum(axis=0)[:, None]
            return np.where(valid_mask[..., None], running, 0.0).sum(axis=0) / members_valid
        return np.where(valid_mask[0][:, None], running[0], np.nan)


def summarise(logs, state_ok, *, simulator, n, k, m, n_int, transient_steps, n_batches, seed, ensemble, convergence):
    """Turn per-interval log stretches into exponents, errors and a status (numpy)."""
    tau = simulator.dt * m
    ftle = logs / tau  # (M, n_int, k)
    # A zero stretch (ln 0 = -inf) is a direction that collapsed exactly: valid. NaN or
    # +inf mean the tangent frame itself broke down.
    finite = ~np.any(np.isnan(ftle) | (ftle == np.inf), axis=2) & state_ok  # (M, n_int)
    M = ftle.shape[0]
    # An interval is valid only if it and every interval before it are finite: each
    # member's valid prefix ends at its first non-finite interval. Array operations over
    # all members at once: per-member Python and NaN-aware reductions would be a quarter
    # of a 1024-member ensemble's call (``benchmarks/bench_diagnose.py``).
    first_nonfinite = np.argmin(finite, axis=1) if n_int else np.zeros(M, int)
    valid = np.where(finite.all(axis=1), n_int, first_nonfinite)  # (M,)
    valid_mask = np.arange(n_int)[None, :] < valid[:, None]  # (M, n_int)

    kept = np.where(valid_mask[..., None], ftle, 0.0)  # -inf (a collapsed direction) stays
    with np.errstate(invalid="ignore", divide="ignore"):
        member_exp = np.where(valid[:, None] > 0, kept.sum(axis=1) / np.maximum(valid, 1)[:, None], np.nan)
    history = running_history(ftle, valid)

    # Members that stayed finite throughout make the estimate; a member that blew up is
    # reported (member_exponents, status), not averaged in with its pre-blow-up value.
    complete = valid == n_int
    usable = complete if complete.any() else valid > 0
    with np.errstate(invalid="ignore"):
        if ensemble:
            exps = member_exp[usable].mean(axis=0) if usable.any() else np.full(k, np.nan)
            se = (
                (member_exp[usable].std(axis=0, ddof=1) / math.sqrt(usable.sum()))
                if usable.sum() > 1
                else np.full(k, np.nan)
            )
            dof = int(usable.sum()) - 1
            method = "ensemble spread over sqrt(M)"
        else:
            exps = member_exp[0]
            b = min(n_batches, int(valid[0]))
            se = _batch_means_error(ftle[0, : valid[0]], n_batches) if valid[0] else np.full(k, np.nan)
            dof = b - 1
            method = f"batch means over {b} batches"
    se = np.where(exps == -np.inf, 0.0, se)
    uncertainty = half_widths(exps, se, history, dof, simulator.dtype)

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
        kaplan_yorke=_dimension(exps) if k == n or np.any(np.cumsum(exps) < 0) else None,
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
        error_method=f"{method}; 95% half-width t * max(standard error, drift of the running estimate, round-off)",
        seed=seed,
        simulator=simulator.describe(),
        dtype=simulator.dtype,
        uncertainty=uncertainty,
        dof=int(max(dof, 0)),
        convergence=convergence,
    )
