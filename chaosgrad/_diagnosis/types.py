"""Result types of the gradient-growth measurement and the diagnosis (data only).

These are the contract between the numerics (``_gradients.growth``, ``_diagnosis.diagnose``) and the
presentation (``chaosgrad.report``): every field is plain numbers, strings or arrays and
round-trips through JSON without loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from chaosgrad._diagnosis.verdict import PHYSICS, VERDICTS
from chaosgrad._results.serialize import Result
from chaosgrad._shadowing.types import ShadowingResult
from chaosgrad._spectra.result import LyapunovResult

# Names of the bundled causes (``chaosgrad.DEFAULT_CAUSES``); a user's own cause adds its own.
CAUSES = ("discretization", "adjoint", "precision")


@dataclass(frozen=True)
class GrowthLaw(Result):
    """Which law ``||grad||`` follows over the horizons (``chaosgrad._gradients.laws``).

    Attributes:
        law: ``"exponential"`` (``e^{gamma T}``), ``"power"`` (``T^p``), ``"saturating"``
            (levels off within an order of magnitude), ``"either"`` (the horizons cannot
            tell exponential from power) or ``"undetermined"`` (too few finite points).
        exponent, exponent_interval: ``p`` of the power law alone, ``ln||g|| = a + p ln T``,
            with its interval.
        net_rate, net_rate_interval: ``gamma`` of the joint model
            ``ln||g|| = a + gamma T + p ln T``: the exponential rate net of any power.
        joint_exponent, joint_exponent_interval: ``p`` of the joint model.
        horizon_range: ``(T_lo, T_hi)`` of the horizons fitted.
        deciding_horizon: for ``"either"``, the longest horizon (keeping ``T_lo``) at which
            the joint fit would tell the laws apart at the scatter measured; NaN when
            none up to ``1024 T_hi`` would, or when the law is decided.
        points: how many horizons were fitted.
    """

    law: str
    exponent: float
    exponent_interval: tuple
    net_rate: float
    net_rate_interval: tuple
    joint_exponent: float
    joint_exponent_interval: tuple
    horizon_range: tuple
    deciding_horizon: float
    points: int
    kind: str = "growth-law"


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
        status: ``"ok"``, ``"partial"`` (the rate is fitted on fewer than 5 horizons: see
            ``notes``), ``"partial-nonfinite"`` (some horizons non-finite, fit on the
            rest) or ``"nonfinite"`` (too few finite horizons to fit).
        method: how the rate and interval were computed.
        dtype, adjoint: the user's state dtype and adjoint.
        state_finite: ``(M, H)`` whether the forward state stayed finite up to each
            horizon: tells a simulation that blew up from a gradient that overflowed on
            the way back.
        zero: ``(M, H)`` where the gradient was exactly zero (the step propagated no
            derivative); zeros are neither finite values to fit nor non-finite ones.
        reported: ``(H,)`` the caller's horizons (the others are the internal fit grid).
        member_rates: ``(M,)`` each member's own fitted slope (NaN where not fitted).
        rate_uncertainty, rate_dof: the standard uncertainty of ``rate`` and the degrees
            of freedom of its Student-t interval.
        gradient_sketch: ``(M, R, P)`` the gradients at the ``R`` reported horizons
            (exact when ``P`` is the gradient's size, else a CountSketch, see ``sketch``).
        state_sketch: ``(M, R, S)`` the forward states at the reported horizons, likewise.
        sketch: how the two sketches were made.
        loss_scale_log2: ``(M, H)`` ``log2`` of the loss scale each horizon's backward pass
            used, or ``None`` without loss scaling (``chaosgrad.DynamicLossScale``).
        rate_of_time_integral: whether ``rate`` was fitted on ``T ||dL_T / d wrt||``: a
            growing time average, whose algebraic ``1/T`` would bias it
            (``chaosgrad._gradients.growth.time_average_grows``).
        law: the growth law (:class:`GrowthLaw`) over every measured horizon.
        member_rate_se, member_rate_dof: ``(M,)`` each member's own rate uncertainty (its
            curve's least-squares error with its window's bend) and degrees of freedom.
        rate_from_spread: whether the rate's interval comes from the members' spread
            (more members narrow it) or from one curve (members that are not independent).
        notes: what changes the meaning of the numbers (a horizon measured off the
            caller's value, a fit on too few horizons).
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
    state_finite: np.ndarray
    zero: np.ndarray
    reported: np.ndarray
    member_rates: np.ndarray
    rate_uncertainty: float
    rate_dof: int
    gradient_sketch: np.ndarray
    state_sketch: np.ndarray
    sketch: str
    kind: str = "gradient-growth"
    loss_scale_log2: np.ndarray | None = None
    rate_of_time_integral: bool = False
    law: GrowthLaw | None = None
    member_rate_se: np.ndarray | None = None
    member_rate_dof: np.ndarray | None = None
    rate_from_spread: bool = True
    notes: tuple = ()

    @property
    def reported_horizons(self) -> np.ndarray:
        return self.horizons[self.reported]


@dataclass(frozen=True)
class Ablation(Result):
    """One rerun with a single thing changed, as evidence for (or against) a cause.

    Attributes:
        name: short id of the rerun, e.g. ``"float64"``, ``"reference-step"``.
        cause: the cause it tests.
        change: what was changed, in words.
        suspected: why the cause was suspected.
        rate_before, rate_after: gradient growth rate without and with the change.
        interval_before, interval_after: their 95% intervals ``(low, high)``.
        confirmed: whether the change confirmed the cause (see ``reason``).
        reason: why it was confirmed or not, in words, with the numbers.
        status: ``"ok"`` or ``"failed"`` (it could not run).
        error: why it failed (``None`` when it ran).
        evidence: the numbers of the comparison: rates, non-finite fractions and, member
            by member at one horizon, the median log-ratio of the gradient norms and the
            median cosine with their interquartile ranges.
    """

    name: str
    cause: str
    change: str
    suspected: str
    rate_before: float
    rate_after: float
    interval_before: tuple
    interval_after: tuple
    confirmed: bool
    reason: str
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
        gradient_rate, gradient_interval: ``gamma`` and its 95% interval.
        expected_rate, expected_interval: lambda_1 (wrt the initial state) or
            max(lambda_1, 0) (wrt params), of the physical spectrum, and its 95% interval.
        expected_numerical_rate: the same from lambda_numerical.
        physics: one of ``PHYSICS``.
        causes: confirmed poor-conditioning causes (names of causes).
        cause_words: ``{name: words}`` of every cause tested, for reports.
        verdict: one of ``VERDICTS``.
        reasons: why this verdict, in words with the numbers (what ``diagnose`` decided;
            reports show these and never decide again).
        to_decide: for ``"inconclusive"``, what would decide it.
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
        step_derivatives: the norm of one step's derivative along random directions,
            measured before anything else: ``{"state": ..., "wrt": ...}``; a zero means
            the step propagates no derivative.
        notes: anything else worth knowing (failed ablations, warnings).
        status: ``"ok"`` or ``"partial"`` (some part could not be measured).
        member_source: where the members started (``chaosgrad.NearStart``, ``OnAttractor``,
            ``GivenStates``), in words.
        expected_basis: what the expected rate was computed from: the reference's
            finite-time exponent along the members over the horizons, or its asymptotic
            lambda_1 (members on the attractor).
        paired_gap: ``(rate, low, high)``: the gradient's rate minus the physics' along the
            same members (the user's own start), or ``None``.
    """

    CHOICES: ClassVar[dict] = {"verdict": VERDICTS, "physics": PHYSICS}

    name: str
    lambda_physical: LyapunovResult
    lambda_numerical: LyapunovResult
    gradient: GradientGrowthResult
    gradient_rate: float
    gradient_interval: tuple
    expected_rate: float
    expected_interval: tuple
    expected_numerical_rate: float
    physics: str
    causes: tuple
    cause_words: dict
    verdict: str
    reasons: tuple
    to_decide: tuple
    explanation: str
    ablations: tuple
    recommendations: tuple
    overflow_horizon: float | None
    underflow_horizon: float | None
    truncation_horizon: float | None
    dtype: str
    literature: dict | None
    config: dict
    step_derivatives: dict
    notes: tuple
    status: str
    kind: str = "diagnosis"
    shadowing: ShadowingResult | None = None
    shadowing_note: str | None = None
    member_source: str | None = None
    expected_basis: str | None = None
    paired_gap: tuple | None = None

    def summary(self) -> str:
        """A plain-text table of the diagnosis, for terminals."""
        from chaosgrad._diagnosis import words as words

        def level(a, b):
            return " (95%)" if words.finite(a) and words.finite(b) else ""

        lo, hi = self.gradient_interval
        expected_lo, expected_hi = self.expected_interval
        p, n = self.lambda_physical, self.lambda_numerical
        lines = [
            f"chaosgrad diagnosis: {self.name}",
            f"  verdict            {self.verdict}",
            f"  physics            {self.physics}",
            f"  causes             {', '.join(self.causes) if self.causes else 'none confirmed'}",
            f"  lambda_1 physical  {words.plus_minus(p.exponents[0], p.uncertainty[0])} (95%)",
            f"  lambda_1 numerical {words.plus_minus(n.exponents[0], n.uncertainty[0])} (95%)",
            f"  gradient rate      {words.rate(self.gradient_rate, lo, hi, 4)}{level(lo, hi)}",
            f"  expected rate      {words.rate(self.expected_rate, expected_lo, expected_hi, 4)}{level(expected_lo, expected_hi)}",
        ]
        if self.expected_basis:
            lines.append(f"  expected from      {self.expected_basis}")
        if self.paired_gap is not None:
            gap, gap_lo, gap_hi = self.paired_gap
            lines.append(f"  gradient - physics {words.rate(gap, gap_lo, gap_hi, 4)} (95%, along the same members)")
        if self.member_source:
            lines.append(f"  members            {self.member_source}")
        law = self.gradient.law
        if law is not None and law.law != "undetermined":
            fit = (
                f"|grad| ~ T^p, p = {law.exponent:.3g} [{law.exponent_interval[0]:.3g}, {law.exponent_interval[1]:.3g}]"
            )
            law_words = {
                "power": f"power: {fit}",
                "either": f"exponential or power ({fit}), not decided by these horizons",
            }
            lines.append(f"  growth law         {law_words.get(law.law, law.law)}")
        if self.overflow_horizon is not None and words.finite(self.overflow_horizon):
            from chaosgrad.report._text import horizon_kind  # the rule the report's words use

            kind = (
                "overflow at T ≈ {} (extrapolated at the measured rate)"
                if horizon_kind(self) == "overflow"
                else "gradient non-finite from T ≈ {} (observed)"
            )
            lines.append(f"  {self.dtype} {kind.format(words.number(self.overflow_horizon))}")
        if self.underflow_horizon is not None:
            lines.append(f"  {self.dtype} underflow at T ≈ {self.underflow_horizon:.3g}")
        if self.shadowing is not None:
            lines.append(
                f"  shadowing          {', '.join(f'{d:+.4g} ± {2 * e:.2g}' for d, e in zip(self.shadowing.derivative, self.shadowing.standard_error))} "
                f"(d<J>/d{', '.join(self.shadowing.parameters)}, {self.shadowing.method})"
            )
        elif self.shadowing_note:
            lines.append(f"  shadowing          {self.shadowing_note}")
        lines += [f"  because: {r}" for r in self.reasons]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  to decide: {t}" for t in self.to_decide]
        for rec in self.recommendations:
            lines.append(f"  - {rec.text}")
        return "\n".join(lines)
