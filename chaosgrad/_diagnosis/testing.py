"""Testing each cause of a diagnosis: suspect, ablate, measure, compare (cause rules 1-8).

A suspected cause builds its ablation (the user's set-up with one thing changed), whose
gradient is measured on the same members and horizons and compared with the user's
(``_diagnosis.compare``); a cause that no growth-rate ablation can show confirms itself by its own
comparison (rule 8, ``chaosgrad.NonSmooth``). What ``ablate`` returns is read in one place
(:func:`ablated_setup`). An ablation that cannot run is reported, never raised.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from chaosgrad._diagnosis.causes import AblatedSetup, CauseEvidence
from chaosgrad._diagnosis.compare import compare
from chaosgrad._diagnosis.types import Ablation, GradientGrowthResult
from chaosgrad._errors import bad_argument
from chaosgrad._gradients.growth import precompile_growth
from chaosgrad._simulators.base import check_simulator


def ablation_name(cause) -> str:
    """The optional ``ablation_name`` (class attribute or field), else the cause's name."""
    return getattr(cause, "ablation_name", None) or cause.name


def ablated_setup(cause, built) -> AblatedSetup:
    """What ``cause.ablate`` returned, as an :class:`~chaosgrad.AblatedSetup` (cause rule 3):
    the typed value itself, or a tuple ``(simulator, args, change)`` or ``(simulator, args,
    change, options)``. Anything else raises, naming the cause and the fix (the ablation is
    then reported as failed)."""
    if isinstance(built, (tuple, list)) and len(built) in (3, 4):  # an AblatedSetup is a tuple of 4
        setup = AblatedSetup(*built)
        if isinstance(setup.options, Mapping):
            return setup
        problem = f"options of type {type(setup.options).__name__}, not a dict"
    else:
        problem = f"a {type(built).__name__}" + (
            f" of {len(built)} elements" if isinstance(built, (tuple, list)) else ""
        )
    raise bad_argument(
        "causes",
        f"{type(cause).__name__}.ablate (cause {cause.name!r}) returned {problem}",
        "return chaosgrad.AblatedSetup(simulator, args, change), with options={...} for the measurement's keywords, "
        "or a tuple (simulator, args, change) or (simulator, args, change, options)",
    )


def anticipate_ablations(causes, simulator, args, y0s, ablated_inputs) -> list:
    """Background compilations of the ablations that the causes anticipate (cause rule
    7); a cause whose anticipation fails is simply not anticipated."""
    programs = []
    for cause in causes:
        try:
            guess = cause.anticipate(simulator, args)
            if guess is None:
                continue
            sim, a = guess
            program = precompile_growth(check_simulator(sim), **ablated_inputs(sim, a, y0s))
        except Exception:  # noqa: BLE001 - the ablation itself reports its failure later
            continue
        if program is not None:
            programs.append(program)
    return programs


def try_cause(cause, evidence: CauseEvidence, y0s, measure) -> tuple[Ablation, GradientGrowthResult | None] | None:
    """Suspect, ablate, measure and compare one cause; ``None`` when not suspected."""
    grad = evidence.gradient
    name = ablation_name(cause)
    if callable(getattr(cause, "confirm", None)):
        return confirmed_by_comparison(cause, name, evidence), None
    suspected = cause.suspect(evidence)
    if suspected is None:
        return None
    try:
        setup = ablated_setup(cause, cause.ablate(evidence))
        after = measure(check_simulator(setup.simulator), setup.args, y0s, **setup.options)
    except Exception as exc:  # an ablation that cannot run is reported, not raised
        return Ablation(
            name=name,
            cause=cause.name,
            change="(could not be built)",
            suspected=suspected,
            rate_before=grad.rate,
            rate_after=math.nan,
            interval_before=(grad.rate_low, grad.rate_high),
            interval_after=(math.nan, math.nan),
            confirmed=False,
            reason="the ablation could not run",
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            evidence={},
        ), None
    target = None if cause.exact else cause.target(evidence)
    result = compare(grad, after, exact=cause.exact, target=target, t_max=evidence.t_max)
    return Ablation(
        name=name,
        cause=cause.name,
        change=setup.change,
        suspected=suspected,
        rate_before=grad.rate,
        rate_after=after.rate,
        interval_before=(grad.rate_low, grad.rate_high),
        interval_after=(after.rate_low, after.rate_high),
        confirmed=result.confirmed,
        reason=result.reason,
        status="ok",
        error=None,
        evidence=result.numbers,
    ), after


def confirmed_by_comparison(cause, name: str, evidence: CauseEvidence) -> Ablation:
    """A cause confirmed by its own comparison (cause rule 8), recorded as its ablation;
    a comparison that cannot run is reported, not raised."""
    grad = evidence.gradient
    nan = math.nan
    record = dict(
        name=name,
        cause=cause.name,
        suspected="the caller asked for it (causes=)",
        rate_before=grad.rate,
        rate_after=nan,
        interval_before=(grad.rate_low, grad.rate_high),
        interval_after=(nan, nan),
    )
    try:
        confirmed, why, result = cause.confirm(evidence)
    except Exception as exc:  # noqa: BLE001 - reported like a failed ablation
        return Ablation(
            **record,
            change="(could not be measured)",
            confirmed=False,
            reason="the comparison could not run",
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            evidence={},
        )
    numbers = {}
    biased = np.asarray(getattr(result, "biased", ()), bool)
    if biased.any():
        first = int(np.flatnonzero(biased)[0])
        numbers = {
            "first_biased_horizon": float(np.asarray(result.horizons)[first]),
            "worst_z": float(np.asarray(result.worst_z)[first]),
        }
    return Ablation(
        **record,
        change=getattr(cause, "change", "its own comparison (cause rule 8)"),
        confirmed=bool(confirmed),
        reason=why,
        status="ok",
        error=None,
        evidence=numbers,
    )
