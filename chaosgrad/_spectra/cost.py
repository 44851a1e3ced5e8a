"""What a Lyapunov spectrum will cost, estimated before anything compiles.

A Benettin/QR run of ``k`` tangent columns of an ``n``-dimensional state over ``N`` steps,
renormalised every ``m`` steps, does

- ``k`` Jacobian-vector products per step (``N k`` in all), each about as costly as the
  step itself, and each producing ``n`` numbers: ``N k n`` is a lower bound on their
  floating-point work (the step's own cost per component is not known in advance);
- one QR of the ``(n, k)`` frame per renormalisation: Householder QR takes
  ``2 n k^2 - (2/3) k^3`` flops and forming the ``Q`` factor about as much again
  (Golub & Van Loan, Matrix Computations, 4th ed., section 5.2.2), so ``4 n k^2 - (4/3) k^3``;

and holds the frame (``n k`` numbers of the state's dtype per member) on the device and the
per-interval logs (``k`` float64 per interval per member, kept twice in the result: the
finite-time exponents and the running estimate) on the host. :func:`spectrum_cost` is
that arithmetic, a pure function; :func:`warn_if_costly` warns with
:class:`CostWarning` when a call passes the thresholds below, naming the cost and the fix.
"""

from __future__ import annotations

import logging
import os
import sys
import types
import warnings
from dataclasses import dataclass

__all__ = ["CostWarning", "SpectrumCost", "spectrum_cost", "warn_if_costly"]

logger = logging.getLogger("chaosgrad")

# Thresholds of the warning. Work: XLA's CPU QR ran at 1.5-2.6 GFLOP/s (counted as
# 4 n k^2 - 4/3 k^3) on the 2-core Intel Xeon development machine (jnp.linalg.qr, float64:
# 1024 x 1024 in 1.9 s, 2048 x 2048 in 8.7 s, 5000 x 200 in 0.93 s), so 1e11 flops is about
# a minute there; the tangent steps come on top of it. Memory: the compiled interval holds
# the carried frame, the tangent step's output and the QR's factors at once (about four
# frames), so a 256 MB frame is about 1 GB of device memory, a large share of a laptop's
# or of a small GPU's, where it would otherwise fail late with an allocation error.
WARN_FLOPS = 1e11
WARN_FRAME_BYTES = 256 * 2**20
# The ``k`` suggested in the warning: the default number of exponents ``diagnose`` measures.
SUGGESTED_K = 8


class CostWarning(UserWarning):
    """A Lyapunov computation is estimated to be slow or memory-hungry (see
    :func:`spectrum_cost`). Filter it with ``warnings.simplefilter("ignore",
    chaosgrad.CostWarning)``, or make it an error to stop such calls before they start."""


@dataclass(frozen=True)
class SpectrumCost:
    """The estimate of :func:`spectrum_cost` (every count covers all members).

    Attributes:
        dimension, k, members: the tangent space's dimension, the tangent columns and the
            ensemble members.
        steps: steps of the simulator, transient included; for a run until converged,
            those up to its first check (it takes at least that many).
        intervals: renormalisations (QR factorisations per member) in ``steps``.
        budget_steps: for a run until converged, the most steps its budget allows
            (transient included); else ``None``.
        jvps: tangent-column steps (Jacobian-vector products), ``steps * k * members``.
        jvp_flops: ``jvps * dimension``, a lower bound on their floating-point work.
        qr_flops: ``intervals * members * (4 n k^2 - 4/3 k^3)``.
        frame_bytes: the tangent frame, ``n * k * itemsize * members``.
        log_bytes: the per-interval logs kept in the result, two float64 arrays of
            ``k`` per measured interval per member.
    """

    dimension: int
    k: int
    members: int
    steps: int
    intervals: int
    budget_steps: int | None
    jvps: int
    jvp_flops: float
    qr_flops: float
    frame_bytes: int
    log_bytes: int

    @property
    def flops(self) -> float:
        """The work estimate the warning uses: QR plus the lower bound of the JVPs."""
        return self.qr_flops + self.jvp_flops

    def too_costly(self) -> list[str]:
        """What passes the thresholds (``WARN_FLOPS``, ``WARN_FRAME_BYTES``), in words."""
        out = []
        if self.flops > WARN_FLOPS:
            out.append(f"about {self.flops:.2g} floating-point operations (warning above {WARN_FLOPS:.0e})")
        if self.frame_bytes > WARN_FRAME_BYTES:
            out.append(f"a tangent frame of {_bytes(self.frame_bytes)} (warning above {_bytes(WARN_FRAME_BYTES)})")
        return out

    def describe(self) -> str:
        at_least = "at least " if self.budget_steps is not None else ""
        budget = f" (budget {self.budget_steps} steps)" if self.budget_steps is not None else ""
        members = f", {self.members} members" if self.members > 1 else ""
        return (
            f"{self.k} tangent columns of a {self.dimension}-dimensional state{members}: {at_least}{self.steps} steps"
            f"{budget}, {self.jvps:.3g} Jacobian-vector products (>= {self.jvp_flops:.2g} flops), "
            f"{self.intervals} QR renormalisations ({self.qr_flops:.2g} flops), tangent frame "
            f"{_bytes(self.frame_bytes)}, logs {_bytes(self.log_bytes)}"
        )


def _bytes(b: float) -> str:
    for unit, size in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if b >= size:
            return f"{b / size:.3g} {unit}"
    return f"{int(b)} B"


def qr_flops(n: int, k: int) -> float:
    """Flops of one QR of an ``(n, k)`` frame with its ``Q`` formed: ``4 n k^2 - 4/3 k^3``."""
    return 4.0 * n * k * k - 4.0 / 3.0 * k**3


def spectrum_cost(
    dimension: int,
    k: int,
    *,
    intervals: int,
    steps_per_interval: int = 1,
    transient_intervals: int = 0,
    members: int = 1,
    itemsize: int = 8,
    budget_intervals: int | None = None,
) -> SpectrumCost:
    """The cost of measuring ``k`` exponents of a ``dimension``-dimensional state over
    ``intervals`` renormalisation intervals of ``steps_per_interval`` steps each, after
    ``transient_intervals`` more (frame evolved, logs discarded), for ``members`` members
    whose state has ``itemsize`` bytes per number. ``budget_intervals``: for a run until
    converged, the most measured intervals its budget allows (``intervals`` is then its
    first check). Pure arithmetic: see the module docstring."""
    from chaosgrad._checks import check_count  # checks import the simulators, which import this module

    n, k, M, m = [
        check_count(name, v)
        for name, v in (
            ("dimension", dimension),
            ("k", k),
            ("members", members),
            ("steps_per_interval", steps_per_interval),
        )
    ]
    intervals, itemsize = check_count("intervals", intervals), check_count("itemsize", itemsize)
    transient_intervals = check_count("transient_intervals", transient_intervals, minimum=0)
    if budget_intervals is not None:
        budget_intervals = check_count("budget_intervals", budget_intervals)
    total_intervals = int(intervals) + int(transient_intervals)
    steps = total_intervals * m
    jvps = steps * k * M
    return SpectrumCost(
        dimension=n,
        k=k,
        members=M,
        steps=steps,
        intervals=total_intervals,
        budget_steps=None if budget_intervals is None else (int(budget_intervals) + int(transient_intervals)) * m,
        jvps=jvps,
        jvp_flops=float(jvps) * n,
        qr_flops=total_intervals * M * qr_flops(n, k),
        frame_bytes=n * k * int(itemsize) * M,
        log_bytes=2 * 8 * int(intervals) * k * M,
    )


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside chaosgrad (the user's call)."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame: types.FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def warn_if_costly(cost: SpectrumCost, *, caller: str, fix_k: bool = True) -> bool:
    """Log ``cost`` (logger ``chaosgrad``, level INFO) and warn with :class:`CostWarning`
    when it passes a threshold, naming the cost and the fix; returns whether it warned."""
    logger.info("%s: %s", caller, cost.describe())
    reasons = cost.too_costly()
    if not reasons:
        return False
    fixes = []
    if fix_k and cost.k > SUGGESTED_K:
        small = spectrum_cost(
            cost.dimension,
            SUGGESTED_K,
            intervals=max(cost.intervals, 1),
            members=cost.members,
            itemsize=max(1, cost.frame_bytes // max(1, cost.dimension * cost.k * cost.members)),
        )
        fixes.append(
            f"pass k= (the number of leading exponents you need; k={SUGGESTED_K} would do "
            f"{small.qr_flops:.2g} flops of QR and hold a frame of {_bytes(small.frame_bytes)})"
        )
    fixes.append("pass a shorter time= or a longer interval=")
    warnings.warn(
        f"chaosgrad: {caller} is estimated to need {' and '.join(reasons)}: {cost.describe()}. "
        f"Fix: {'; or '.join(fixes)}. Silence with warnings.simplefilter('ignore', chaosgrad.CostWarning).",
        CostWarning,
        stacklevel=_caller_level(),
    )
    return True


def until_converged_intervals(strategy, m: int) -> tuple[int, int]:
    """``(first check, budget)`` in measured intervals of a run until converged, as
    :func:`chaosgrad._spectra.measuring.run_until` runs it."""
    first = int(strategy.min_intervals)
    return first, max(first, int(strategy.max_steps) // m)
