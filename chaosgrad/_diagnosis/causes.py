"""Causes of poor conditioning: the second extension point of chaosgrad.

A cause is one small class: what it is called, when the measurements make it suspect,
how it builds the ablated set-up (the user's with exactly one thing changed), and what it
recommends when the ablation confirms it. :func:`chaosgrad.diagnose` iterates over its
``causes=`` argument; the comparison of the ablated gradient with the user's
(``_diagnosis.compare``) and the verdict (``_diagnosis.verdict``) are the same for every cause.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

import equinox as eqx
import jax.numpy as jnp

from chaosgrad._diagnosis import words as words
from chaosgrad._diagnosis.types import GradientGrowthResult, Recommendation
from chaosgrad._simulators.base import AbstractSimulator
from chaosgrad._simulators.capabilities import SwappableAdjoint, adjoint_name, float64_limit, reverse_through_steps
from chaosgrad._spectra.lyapunov import LyapunovResult
from chaosgrad._spectra.reference import agree, largest_safe_step

LOG2 = math.log(2.0)


@dataclass(frozen=True)
class CauseEvidence:
    """What a cause may look at: the measurements made before any ablation.

    Attributes:
        simulator, args: the user's set-up.
        reference: the reference dynamics (converged, float64).
        reference_differs: whether the reference is a different discretisation of the
            same physics (``False`` when it is the user's own step in float64, as for a
            map without ``reference=``).
        lambda_physical, lambda_numerical: the two spectra.
        gradient: the user's gradient growth.
        expected_physical, expected_numerical: the gradient rate each spectrum predicts
            for this ``wrt`` (lambda_1 for the initial state, max(lambda_1, 0) for
            parameters).
        t_max: the longest horizon.
        wrt_state: whether the gradient is with respect to the initial state.
        y_start: the state after the transient, where the spectra start.
        lyapunov_options: the keyword arguments the spectra were measured with.
        y0: the user's own start (``None`` when not given): where a cause that measures
            the user's computation itself starts (``chaosgrad.NonSmooth``).
        search_seconds: the wall-clock budget of a cause's own spectra (``None``: none),
            the diagnosis's share for them (``chaosgrad._spectra.budget`` rule 4).
    """

    simulator: AbstractSimulator
    args: Any
    reference: AbstractSimulator
    reference_differs: bool
    lambda_physical: LyapunovResult
    lambda_numerical: LyapunovResult
    gradient: GradientGrowthResult
    expected_physical: float
    expected_numerical: float
    t_max: float
    wrt_state: bool
    y_start: Any
    lyapunov_options: dict
    y0: Any = None
    search_seconds: float | None = None


class AblatedSetup(NamedTuple):
    """What :meth:`AbstractCause.ablate` returns (cause rule 3): the user's set-up with
    exactly one thing changed.

    Attributes:
        simulator, args: the ablated set-up; the simulator steps the user's state pytree.
        change: that one change, in words (``"float64 instead of float32"``).
        options: keywords of the gradient measurement, for a change in how the gradient is
            computed rather than in the set-up (``{"loss_scaling": DynamicLossScale()}``);
            none by default.
    """

    simulator: AbstractSimulator
    args: Any
    change: str
    options: Mapping[str, Any] = MappingProxyType({})


class AbstractCause(eqx.Module):
    """A suspected cause of an exploding or vanishing gradient, tested by an ablation.

    Rules for implementors (all required):

    1. ``name`` is a short id (``"adjoint"``); ``words`` is one sentence saying what the
       cause is, shown in reports; ``ablation_name`` names the rerun (default: ``name``)
       and is unique among the causes passed to ``diagnose``, so one cause may be tested
       by several ablations (a class attribute, or a field of the instance).
    2. ``suspect(evidence)`` is a pure function of the :class:`CauseEvidence`: it
       returns why the cause is suspected, in words, or ``None`` (then no ablation runs).
    3. ``ablate(evidence)`` returns an :class:`AblatedSetup` ``(simulator, args, change)``:
       the user's set-up with exactly this one thing changed, and that change in words.
       The simulator must step the same state pytree. A cause that changes how the
       gradient is computed rather than the set-up gives the measurement's options too
       (``options={"loss_scaling": DynamicLossScale()}``). A plain tuple ``(simulator,
       args, change)`` or ``(simulator, args, change, options)`` is read the same way;
       anything else is reported as a failed ablation that names the cause and the fix.
       It may raise: the ablation is then reported as failed, never raised, and the rest
       of the diagnosis still runs.
    4. ``exact`` is ``True`` when the ablated gradient is, by construction, the exact
       derivative of the same numerical map (a discretise-then-optimise adjoint, a
       float64 twin): a material difference member by member along coinciding forward
       trajectories then confirms the cause. When ``False`` (the ablation changes the
       map: a finer step, rescaled weights) it is confirmed only by removing non-finite
       values or by moving the gradient's rate towards ``target(evidence)``.
    5. ``target(evidence)`` is the rate the ablated gradient should approach (default:
       the physics' prediction, ``evidence.expected_physical``).
    6. ``recommend(evidence, ablated)`` returns :class:`~chaosgrad.Recommendation` s for
       when the cause is confirmed (``ablated`` is its gradient measurement).
    7. ``anticipate(simulator, args)`` (optional, default ``None``) returns the
       ``(simulator, args)`` that ``ablate`` will return, when the user's set-up alone
       already decides it, so that the ablation's programs compile while the user's
       gradient is measured. A wrong anticipation costs compile time, never numbers.
    8. ``confirm(evidence)`` (optional) is for a cause that no growth-rate ablation can
       show (``chaosgrad.NonSmooth``: first- against zeroth-order estimates): it returns
       ``(confirmed, evidence in words, measurement)``, ``diagnose`` records it as the
       cause's ablation instead of calling ``ablate`` (which may then raise), and
       ``recommend`` gets ``None`` for ``ablated``.

    :class:`Precision` is the shortest reference implementation.
    """

    name: ClassVar[str]
    words: ClassVar[str]
    exact: ClassVar[bool] = False

    @abc.abstractmethod
    def suspect(self, evidence: CauseEvidence) -> str | None:
        """Why this cause is suspected, or ``None``."""

    @abc.abstractmethod
    def ablate(self, evidence: CauseEvidence) -> AblatedSetup | tuple:
        """The set-up with this one thing changed, and the change in words (rule 3)."""

    def target(self, evidence: CauseEvidence) -> float:
        return evidence.expected_physical

    def recommend(self, evidence: CauseEvidence, ablated: GradientGrowthResult) -> list[Recommendation]:
        del evidence, ablated
        return []

    def anticipate(self, simulator, args) -> tuple[AbstractSimulator, Any] | None:
        del simulator, args
        return None


class Precision(AbstractCause):
    """Round-off, overflow or underflow of a 16- or 32-bit floating-point type."""

    name: ClassVar[str] = "precision"
    ablation_name: ClassVar[str] = "float64"
    words: ClassVar[str] = "the floating-point dtype overflows, underflows or loses the signal in round-off"
    exact: ClassVar[bool] = True

    def suspect(self, evidence):
        dtype = evidence.simulator.dtype
        return f"the simulator computes in {dtype}" if jnp.dtype(dtype).itemsize < 8 else None

    def ablate(self, evidence):
        sim = evidence.simulator
        limit = float64_limit(sim)
        if limit is not None:
            # Its float64 twin would compare the computation with itself: not measured, said.
            raise ValueError(f"float64 is not measurable here: {limit}")
        return AblatedSetup(sim.with_dtype("float64"), evidence.args, f"float64 instead of {sim.dtype}")

    def recommend(self, evidence, ablated):
        return [
            Recommendation(
                "dtype",
                f"Compute in float64 instead of {evidence.simulator.dtype} (or scale the loss so the gradient "
                "stays inside the type's range): the float64 ablation shows it changes the gradient.",
                None,
                None,
            )
        ]


class LossScaling(AbstractCause):
    """The remedy for a 16-bit gradient that underflows (or overflows): the same
    simulator and dtype with dynamic loss scaling (``chaosgrad.DynamicLossScale``). It
    tests the ``precision`` cause a second way: where float64 says precision is the
    cause, this says whether keeping the 16-bit type with a scaled loss is enough."""

    name: ClassVar[str] = "precision"
    ablation_name: ClassVar[str] = "loss-scaling"
    words: ClassVar[str] = (
        "a 16-bit type's range loses the gradient's small (or large) values; dynamic loss scaling keeps them"
    )
    exact: ClassVar[bool] = True

    def suspect(self, evidence):
        sim = evidence.simulator
        # bfloat16 has float32's range: scaling cannot help its precision.
        if jnp.dtype(sim.dtype) != jnp.float16 or not reverse_through_steps(sim):
            return None
        return f"the simulator computes in {sim.dtype}, whose range is 2^-24 (subnormal) to 65504"

    def ablate(self, evidence):
        from chaosgrad._gradients.loss_scaling import DynamicLossScale

        return AblatedSetup(
            evidence.simulator,
            evidence.args,
            f"dynamic loss scaling in {evidence.simulator.dtype} (each horizon's backward pass scaled by the largest "
            "power of two that keeps it finite)",
            options={"loss_scaling": DynamicLossScale()},
        )

    def recommend(self, evidence, ablated):
        from chaosgrad._diagnosis.advice import underflow_with_scaling

        dtype = evidence.simulator.dtype
        plain, scaled = underflow_with_scaling(evidence.gradient, ablated, dtype)
        moved = ""
        if plain is not None:
            moved = (
                f" It moves the {dtype} underflow horizon from T ≈ {words.number(plain)} to "
                + (f"T ≈ {words.number(scaled)}" if scaled is not None else "beyond the horizons measured")
                + ": by ln(S_max) / |rate| at most, since the scaled seed must stay below the largest number."
            )
        return [
            Recommendation(
                "loss-scaling",
                f"Keep {dtype} with dynamic loss scaling (scale the loss by a power of two before the backward pass, "
                "divide the gradient after, lower the scale on overflow): with it the gradient's rate is "
                f"{words.rate(ablated.rate, ablated.rate_low, ablated.rate_high)} against "
                f"{words.number(evidence.expected_physical, 3, signed=True)} predicted by the physics." + moved,
                scaled,
                "time" if scaled is not None else None,
            )
        ]


class Adjoint(AbstractCause):
    """An adjoint with numerics of its own (for example a backsolve that re-integrates
    the ODE backwards in time, which expands at rate -lambda_n; Chen et al. 2018,
    Gholami, Keutzer & Biros 2019)."""

    name: ClassVar[str] = "adjoint"
    ablation_name: ClassVar[str] = "checkpoint-adjoint"
    words: ClassVar[str] = (
        "the adjoint method computes a gradient that differs from the exact derivative of the forward computation"
    )
    exact: ClassVar[bool] = True

    @staticmethod
    def _own_numerics(simulator) -> bool:
        # An adaptive solve is differentiated through diffeqsolve, not through the steps
        # (reverse_through_steps is False), but with the exact adjoint already its
        # ablation would be the same configuration: nothing to test.
        return (
            isinstance(simulator, SwappableAdjoint)
            and not reverse_through_steps(simulator)
            and type(simulator.adjoint) is not type(simulator.exact_adjoint())
        )

    def suspect(self, evidence):
        sim = evidence.simulator
        if self._own_numerics(sim):
            return f"the gradient goes through {adjoint_name(sim)}, which has numerics of its own"
        return None

    def anticipate(self, simulator, args):
        return (simulator.with_adjoint(simulator.exact_adjoint()), args) if self._own_numerics(simulator) else None

    def ablate(self, evidence):
        sim = evidence.simulator
        exact = sim.exact_adjoint()
        return AblatedSetup(
            sim.with_adjoint(exact),
            evidence.args,
            f"{type(exact).__name__} (discretise-then-optimise) instead of {adjoint_name(sim)}",
        )

    def recommend(self, evidence, ablated):
        sim = evidence.simulator
        return [
            Recommendation(
                "adjoint",
                f"Replace {adjoint_name(sim)} with {type(sim.exact_adjoint()).__name__} (discretise-then-optimise): it "
                "differentiates the forward computation itself instead of re-integrating the ODE backwards in time, "
                "which is unstable when the forward flow contracts.",
                None,
                None,
            )
        ]


class Discretization(AbstractCause):
    """The solver's step makes the numerical map a different dynamical system from the
    physics: lambda_numerical differs from lambda_physical (a step beyond the solver's
    stability region, a stiff system on an explicit method)."""

    name: ClassVar[str] = "discretization"
    ablation_name: ClassVar[str] = "reference-step"
    words: ClassVar[str] = "the solver's step makes the numerical map a different dynamical system from the physics"

    def suspect(self, evidence):
        if not evidence.reference_differs:
            return None
        p, n = evidence.lambda_physical, evidence.lambda_numerical
        lp, ln = float(p.exponents[0]), float(n.exponents[0])
        if n.status != "ok" and p.status == "ok":
            return "the user's numerical map blows up where the reference does not"
        if not evidence.gradient.state_finite.all():
            return "the user's forward simulation became non-finite"
        if not (math.isfinite(lp) and math.isfinite(ln)):
            return None
        if not agree(ln, float(n.uncertainty[0]), lp, float(p.uncertainty[0])) and abs(ln - lp) * evidence.t_max > LOG2:
            return f"lambda_1 of the numerical map ({ln:+.4g}) differs from the physics ({lp:+.4g})"
        return None

    def ablate(self, evidence):
        sim, ref = evidence.simulator, evidence.reference.with_dtype(evidence.simulator.dtype)
        if isinstance(sim, SwappableAdjoint) and isinstance(ref, SwappableAdjoint):
            ref = ref.with_adjoint(sim.adjoint)
        solver = ref.describe().get("solver", type(ref).__name__)
        return AblatedSetup(
            ref,
            evidence.args,
            f"the reference step ({solver}, dt = {ref.dt:g}) instead of the user's, same dtype and adjoint",
        )

    def recommend(self, evidence, ablated):
        sim, p = evidence.simulator, evidence.lambda_physical
        # At most a quarter of the measured time per halving.
        safe = largest_safe_step(
            sim,
            evidence.y_start,
            evidence.args,
            float(p.exponents[0]),
            float(p.uncertainty[0]),
            evidence.t_max,
            time=float(evidence.lambda_numerical.time) / 4,
            seed=int(evidence.lyapunov_options.get("seed", 0)),
            max_seconds=evidence.search_seconds,
        )
        if safe.dt is not None:
            return [
                Recommendation(
                    "step size",
                    f"Reduce the step from {sim.dt:g} to at most {safe.dt:.3g}: at that step the numerical map's lambda_1 "
                    f"matches the physics (within their 95% intervals, or a factor 2 of the gradient over T = "
                    f"{evidence.t_max:g}); a step that only keeps the map stable can be much larger.",
                    safe.dt,
                    "time",
                )
            ]
        ref = evidence.reference
        return [
            Recommendation(
                "step size",
                f"The step {evidence.simulator.dt:g} changes the dynamics; use a smaller step, the reference "
                f"discretisation ({ref.describe().get('solver', type(ref).__name__)} at dt = {ref.dt:g}) or an implicit / "
                "exponential integrator for stiff systems"
                + (f" (the largest faithful step is not known: {safe.why})." if safe.why else "."),
                ref.dt,
                "time",
            )
        ]


DEFAULT_CAUSES: tuple[AbstractCause, ...] = (Discretization(), Adjoint(), Precision(), LossScaling())
