"""The non-smooth cause: a piecewise-smooth program whose exact derivative is not the
gradient of the loss the optimiser sees.

Neither physics (chaos, contraction) nor numerics (step, adjoint, precision): contact,
clipping, resets, saturating actuators and step-function losses make ``L_T`` jump, and
AD's exact derivative of the program misses the jumps (Suh, Simchowitz, Zhang & Tedrake,
ICML 2022, sec. 3.1). The test is the comparison of the first-order (AD) and zeroth-order
(randomised-smoothing) estimates of the smoothed loss's gradient
(:func:`chaosgrad.smoothed_gradients`): the cause is confirmed when, at some horizon, the
first-order estimate falls outside the zeroth-order estimate's simultaneous interval
*and* the paired interval of their difference excludes 0 (the first condition alone would
also be met by a first-order estimate that is merely noisy; the second accounts for both
estimators' noise). Where it sits along the trajectory: the steps whose central
difference across a pair of noisy trajectories disagrees with the step's derivative at
the midpoint (``SmoothedGradientResult.nonsmooth_steps``), and the loss at the final state.

Its confirmation is that comparison, not a change of the gradient's growth rate: there
is no set-up that differs from the user's by one thing and whose growth rate would show
it (a smoothed step is not a smooth step; the zeroth-order estimator is a different
estimator, not a different set-up). ``ablate`` therefore raises, with that reason, as the
cause contract allows (rule 3); :meth:`NonSmooth.confirm` is the confirmation, with its
evidence in words, for a caller that asks for it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from chaosgrad._checks import check_count, check_real, check_seed, check_wrt
from chaosgrad._diagnosis import words as words
from chaosgrad._diagnosis.causes import AbstractCause, CauseEvidence
from chaosgrad._diagnosis.types import Recommendation
from chaosgrad._errors import bad_argument
from chaosgrad._gradients.losses import as_loss
from chaosgrad._nonsmooth.estimators import smoothed_advice, smoothed_gradients
from chaosgrad._nonsmooth.types import SmoothedGradientResult

# Outcome word for reports and the verdict.
OUTCOME = "non-smooth"


def _steps_words(result: SmoothedGradientResult) -> str:
    """Where the non-smoothness sits, in words."""
    flagged = np.asarray(result.nonsmooth_steps)
    parts = []
    if flagged.size:
        k = int(np.argmax(result.step_flags))
        listed = ", ".join(str(int(s)) for s in flagged[:8]) + (
            f" and {flagged.size - 8} more" if flagged.size > 8 else ""
        )
        parts.append(
            f"at step{'s' if flagged.size > 1 else ''} {listed} of {result.step_flags.size} (most at step {k}: "
            f"{int(result.step_flags[k])} of {result.samples} pairs, relative disagreement up to "
            f"{words.number(float(result.step_disagreement[k]))} against a tolerance of {result.tolerance:g})"
        )
    if result.loss_flags:
        parts.append(f"in the loss at the final state ({result.loss_flags} of {result.samples} pairs)")
    if not parts:
        return "no step of the longest horizon disagrees with its derivative across the pairs"
    return "the program is non-smooth " + " and ".join(parts)


def evidence_words(result: SmoothedGradientResult) -> str:
    """The evidence for (or against) the cause, with its numbers: at the first biased
    horizon, the component with the largest standardised difference."""
    biased = np.flatnonzero(result.biased)
    if biased.size == 0:
        h = (
            int(np.nanargmax(np.where(np.isfinite(result.worst_z), result.worst_z, -np.inf)))
            if np.isfinite(result.worst_z).any()
            else 0
        )
        return (
            f"the first-order and zeroth-order estimates agree at every horizon (largest difference "
            f"{words.number(float(result.worst_z[h]))} standard errors, at T = {words.number(float(result.horizons[h]))}); "
            + _steps_words(result)
        )
    h = int(biased[0])
    d, lo, hi = result.difference[h], result.difference_low[h], result.difference_high[h]
    excludes = (lo > 0) | (hi < 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        size = np.where(excludes, np.abs(d), -np.inf)
    i = int(np.argmax(size))
    level = int(round(result.confidence * 100))
    times = ", ".join(words.number(float(t)) for t in result.horizons[biased])
    return (
        f"at T = {words.number(float(result.horizons[h]))} (component {i} of {result.wrt}) the first-order (AD) estimate "
        f"{words.number(float(result.first_order[h, i]), signed=True)} lies outside the zeroth-order estimate's "
        f"{level}% interval [{words.number(float(result.zeroth_low[h, i]), signed=True)}, "
        f"{words.number(float(result.zeroth_high[h, i]), signed=True)}], and their difference "
        f"{words.number(float(d[i]), signed=True)} [{words.number(float(lo[i]), signed=True)}, "
        f"{words.number(float(hi[i]), signed=True)}] excludes 0 ({words.number(float(result.worst_z[h]))} standard "
        f"errors; biased at T = {times}; smoothing scale {words.number(result.sigma)}, {result.samples} pairs); "
        + _steps_words(result)
    )


class NonSmooth(AbstractCause):
    """A piecewise-smooth program (contact, clipping, resets, a step-function loss): AD's
    exact derivative is not the gradient of the smoothed loss (Suh et al. 2022).

    Fields:
        measured: a :class:`~chaosgrad.SmoothedGradientResult` already measured on the
            user's set-up; when ``None`` it is measured from the evidence (the user's
            simulator, ``args``, ``y_start`` and the gradient's reported horizons) with
            ``loss``, ``wrt``, ``sigma``, ``samples`` and ``seed``.
        loss: the user's loss (the evidence holds only its name); needed without ``measured``.
        wrt: ``None``: ``"y0"`` for an initial-state gradient, ``"args"`` otherwise.
        sigma, samples, seed: as for :func:`~chaosgrad.smoothed_gradients`.

    Rules of :class:`~chaosgrad.AbstractCause`: ``suspect`` (rule 2) is a pure function
    of the evidence and of these fields (the measurement is seeded); ``ablate`` raises
    (rule 3; see the module docstring), and ``confirm`` is the confirmation;
    ``recommend`` (rule 6) is :func:`~chaosgrad.smoothed_advice` headed by where the
    non-smoothness sits.
    """

    measured: SmoothedGradientResult | None = None
    loss: Any = None
    wrt: Any = None
    sigma: float = 0.1
    samples: int = 256
    seed: int = 0

    def __check_init__(self):
        if self.loss is not None:
            as_loss(self.loss)  # the loss kind's rule; the field keeps the caller's object
        check_wrt("wrt", self.wrt, allow_none=True)
        check_real("sigma", self.sigma, positive=True, example="0.1")
        check_count("samples", self.samples, minimum=2, example=256)
        check_seed(self.seed)

    name: ClassVar[str] = OUTCOME
    ablation_name: ClassVar[str] = "first-vs-zeroth-order"
    words: ClassVar[str] = (
        "the program is piecewise smooth (contact, clipping, a reset, a step-function loss): AD's "
        "exact derivative misses its jumps and is not the gradient of the smoothed loss"
    )
    exact: ClassVar[bool] = False
    change: ClassVar[str] = (
        "first-order (AD) against zeroth-order (randomised smoothing) estimates of the smoothed loss's gradient"
    )

    def measurement(self, evidence: CauseEvidence | None) -> SmoothedGradientResult:
        """The stored measurement, or one made on the evidence's set-up (``evidence`` may
        be ``None`` only with a stored measurement)."""
        if self.measured is not None:
            return self.measured
        if evidence is None:
            raise bad_argument(
                "evidence",
                "is None and this NonSmooth holds no measurement to use instead",
                "pass the diagnosis's CauseEvidence, or NonSmooth(measured=...) with a smoothed_gradients result",
            )
        horizons = np.asarray(evidence.gradient.reported_horizons, np.float64)
        wrt = self.wrt if self.wrt is not None else ("y0" if evidence.wrt_state else "args")
        start = evidence.y0 if evidence.y0 is not None else evidence.y_start  # the user's own start
        return smoothed_gradients(
            evidence.simulator,
            start,
            evidence.args,
            horizons=horizons,
            wrt=wrt,
            loss=self.loss,
            sigma=self.sigma,
            samples=self.samples,
            seed=self.seed,
        )

    def confirm(self, evidence: CauseEvidence | None) -> tuple[bool, str, SmoothedGradientResult]:
        """``(confirmed, evidence in words, measurement)``; ``evidence`` may be ``None``
        with a stored measurement."""
        result = self.measurement(evidence)
        return result.confirmed, evidence_words(result), result

    def suspect(self, evidence):
        confirmed, why, _ = self.confirm(evidence)
        return why if confirmed else None

    def ablate(self, evidence):
        raise ValueError(
            "the non-smooth cause is confirmed by the first-order against zeroth-order comparison "
            "(NonSmooth.confirm), not by a growth-rate ablation: " + self.confirm(evidence)[1]
        )

    def recommend(self, evidence, ablated):
        del ablated
        result = self.measurement(evidence)
        head = Recommendation(
            OUTCOME,
            "The gradient AD computes is the exact derivative of a piecewise-smooth program, not the gradient of the "
            f"smoothed loss: {evidence_words(result)}. Smooth the contact or clip there (a soft contact model, a "
            "smooth saturation), or estimate the gradient of the smoothed loss with the zeroth-order or alpha-order "
            "estimator below.",
            float(result.horizons[np.flatnonzero(result.biased)[0]]) if result.confirmed else None,
            "time" if result.confirmed else None,
        )
        return [head] + smoothed_advice(result)
