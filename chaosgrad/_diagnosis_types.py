"""Result types of the gradient-growth measurement and the diagnosis (data only).

These are the contract between the numerics (``_gradients``, ``_diagnose``) and the
presentation (``chaosgrad.report``): every field is plain numbers, strings or arrays and
round-trips through JSON without loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._lyapunov import LyapunovResult
from ._serialize import Result

PHYSICS = ("chaotic", "neutral", "contracting")
CAUSES = ("discretization", "adjoint", "precision", "saturation", "nonfinite")
VERDICTS = (
    "stable",
    "intrinsic-explosion",
    "intrinsic-vanishing",
    "numerical-explosion",
    "numerical-vanishing",
    "diverged",
)


@dataclass(frozen=True)
class GradientGrowthResult(Result):
    """How the norm of the user's gradient grows with the horizon.

    Attributes:
        horizons: ``(H,)`` horizons T (time units), increasing.
        horizon_steps: ``(H,)`` the same in simulator steps.
        norms: ``(M, H)`` ``||dL_T / d wrt||`` per ensemble member; NaN where non-finite.
        finite: ``(M, H)`` whether that gradient was finite.
        first_nonfinite_horizon: ``(M,)`` first horizon index with a non-finite
            gradient, ``-1`` when all were finite.
        rate, rate_low, rate_high: fitted growth rate ``gamma`` of ``ln ||grad||`` in T
            and its confidence interval (``confidence`` level, e.g. 0.95).
        fit_mask: ``(H,)`` horizons used in the fit (finite for enough members).
        cotangent_times: ``(P,)`` times along the longest horizon's trajectory.
        cotangent_norms: ``(M, P)`` norm of the backward cotangent ``dL/dy(t)`` at those
            times: where along the trajectory the gradient grows.
        wrt: ``"y0"`` or the path of the parameter in ``args`` (e.g. ``"args[1]"``).
        loss: a description of the loss.
        status: ``"ok"``, ``"partial-nonfinite"`` (some horizons non-finite, fit on the
            rest) or ``"nonfinite"`` (too few finite horizons to fit).
        method: how the rate and interval were computed.
        dtype, adjoint: the user's state dtype and adjoint.
        state_finite: ``(M, H)`` whether the forward state stayed finite up to each
            horizon (``None`` if not measured): tells a simulation that blew up from a
            gradient that overflowed on the way back.
    """

    horizons: np.ndarray
    horizon_steps: np.ndarray
    norms: np.ndarray
    finite: np.ndarray
    first_nonfinite_horizon: np.ndarray
    rate: float
    rate_low: float
    rate_high: float
    confidence: float
    fit_mask: np.ndarray
    cotangent_times: np.ndarray
    cotangent_norms: np.ndarray
    wrt: str
    loss: str
    status: str
    method: str
    dtype: str
    adjoint: str
    kind: str = "gradient-growth"
    state_finite: np.ndarray | None = None


@dataclass(frozen=True)
class Ablation(Result):
    """One rerun with a single thing changed, as evidence for (or against) a cause.

    Attributes:
        name: short id, e.g. ``"float64"``, ``"reference-step"``, ``"checkpoint-adjoint"``.
        cause: the cause it tests (one of ``CAUSES``).
        change: what was changed, in words.
        rate_before, rate_after: gradient growth rate without and with the change.
        interval_before, interval_after: their confidence intervals ``(low, high)``.
        confirmed: whether the change closed the gap (the cause is real).
        status: ``"ok"`` or ``"failed"``.
        error: why it failed (``None`` when it ran).
        evidence: other numbers that support the conclusion, e.g. ``{"dz_drho": 1.0}``.
    """

    name: str
    cause: str
    change: str
    rate_before: float
    rate_after: float
    interval_before: tuple
    interval_after: tuple
    confirmed: bool
    status: str
    error: str | None
    evidence: dict
    kind: str = "ablation"


@dataclass(frozen=True)
class Recommendation(Result):
    """One piece of advice with its number (``value`` in ``unit``; ``None`` if none)."""

    topic: str
    text: str
    value: float | None
    unit: str | None
    kind: str = "recommendation"


@dataclass(frozen=True)
class Diagnosis(Result):
    """Why the gradient explodes or vanishes: the three rates, causes and a verdict.

    Attributes:
        name: the system or simulator analysed.
        lambda_physical: spectrum of the converged reference dynamics.
        lambda_numerical: spectrum of the user's own numerical step and dtype.
        gradient: the measured gradient growth.
        gradient_rate, gradient_interval: ``gamma`` and its confidence interval.
        expected_rate: lambda_1 (wrt the initial state) or max(lambda_1, 0) (wrt params),
            of the physical spectrum.
        expected_numerical_rate: the same from lambda_numerical.
        physics: ``"chaotic"``, ``"neutral"`` or ``"contracting"``.
        causes: confirmed poor-conditioning causes (subset of ``CAUSES``).
        verdict: one of ``VERDICTS``.
        explanation: one paragraph in plain words with the measured numbers.
        ablations: the reruns, with before/after rates.
        recommendations: concrete advice with numbers.
        overflow_horizon, underflow_horizon: horizon at which ``||grad||`` reaches the
            largest / smallest normal number of ``dtype`` at the measured rate (``None``
            if the rate has the other sign or is zero within its interval).
        truncation_horizon: ``ln 2 / lambda_1`` when chaotic (Mikhaeil et al. 2022).
        dtype: the user's dtype.
        literature: ``{"exponents": [...], "source": "..."}`` or ``None``.
        config: everything needed to reproduce the run (horizons, ensemble, seed,
            simulator description, versions, device, command).
        notes: anything else worth knowing (failed ablations, warnings).
        status: ``"ok"`` or ``"partial"`` (some part could not be measured).
    """

    name: str
    lambda_physical: LyapunovResult
    lambda_numerical: LyapunovResult
    gradient: GradientGrowthResult
    gradient_rate: float
    gradient_interval: tuple
    expected_rate: float
    expected_numerical_rate: float
    physics: str
    causes: tuple
    verdict: str
    explanation: str
    ablations: tuple
    recommendations: tuple
    overflow_horizon: float | None
    underflow_horizon: float | None
    truncation_horizon: float | None
    dtype: str
    literature: dict | None
    config: dict
    notes: tuple
    status: str
    kind: str = "diagnosis"

    def summary(self) -> str:
        """A plain-text table of the diagnosis, for terminals."""
        lo, hi = self.gradient_interval
        lines = [
            f"chaosgrad diagnosis: {self.name}",
            f"  verdict            {self.verdict}",
            f"  physics            {self.physics}",
            f"  causes             {', '.join(self.causes) if self.causes else 'none (numerics are sound)'}",
            f"  lambda_1 physical  {self.lambda_physical.exponents[0]:+.4f} ± {self.lambda_physical.standard_error[0]:.4f}",
            f"  lambda_1 numerical {self.lambda_numerical.exponents[0]:+.4f} ± {self.lambda_numerical.standard_error[0]:.4f}",
            f"  gradient rate      {self.gradient_rate:+.4f}  [{lo:+.4f}, {hi:+.4f}]",
            f"  expected rate      {self.expected_rate:+.4f}",
        ]
        if self.overflow_horizon is not None:
            lines.append(f"  {self.dtype} overflow at T ≈ {self.overflow_horizon:.3g}")
        if self.underflow_horizon is not None:
            lines.append(f"  {self.dtype} underflow at T ≈ {self.underflow_horizon:.3g}")
        for rec in self.recommendations:
            lines.append(f"  - {rec.text}")
        return "\n".join(lines)
