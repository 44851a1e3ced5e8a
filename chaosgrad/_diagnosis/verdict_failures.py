"""The verdict's rules for a gradient that is not a measurable rate.

The forward simulation diverged; the gradient is identically zero; it is partly
non-finite and an ablation removes the blow-up (the overflow of a physical explosion, or
numerical); the program is non-smooth; the gradient is non-finite at too many horizons
to fit. Each rule returns its :class:`~chaosgrad._diagnosis.verdict_facts.Outcome`, or
``None`` when it does not apply; ``_diagnosis.verdict`` applies them in order.
"""

from __future__ import annotations

import dataclasses

from chaosgrad._diagnosis import words as words
from chaosgrad._diagnosis.rates import disagreement, growth_class
from chaosgrad._diagnosis.verdict_facts import Facts, Outcome


def diverged(f: Facts) -> Outcome | None:
    """The forward simulation itself became non-finite."""
    v = f.v
    if not v.forward_diverged:
        return None
    reasons = ["the forward simulation became non-finite within the horizons studied"]
    if v.reference_diverged:
        reasons.append(
            "the reference dynamics blow up as well: the motion itself is unbounded, not a numerical artefact"
        )
    elif f.causes:
        reasons.append("the ablation of " + ", ".join(f.causes) + " stays finite")
    return Outcome("diverged", tuple(reasons))


def no_gradient(f: Facts) -> Outcome | None:
    """The gradient is identically zero: the loss's doing when the probe at ``y0`` saw the
    step carry derivatives with respect to the state and to ``wrt``, the step's otherwise."""
    if f.v.gradient_status != "zero":
        return None
    if f.v.step_propagates:
        return Outcome(
            "no-gradient",
            (
                "the gradient is exactly zero at every horizon and member, although one step at y0 propagates "
                "derivatives with respect to the state and to what is differentiated: the loss does not depend on "
                "what the step changes (a constant reward, a loss that reads a leaf the step never writes)",
            ),
            (
                "a loss that reads the state the dynamics change (for a return, a reward that depends on the state "
                "or the action)",
            ),
        )
    return Outcome(
        "no-gradient",
        (
            "the gradient is exactly zero at every horizon and member: the step propagates no derivative "
            "(a stop_gradient, an integer or discrete operation, or a state that does not enter the loss)",
        ),
        ("make the step differentiable, e.g. a transition with gradients enabled or a relaxed discrete action",),
    )


def overflow_of_growth(f: Facts) -> Outcome | None:
    """A gradient that turns non-finite too early to fit its own rate, where the ablation
    that keeps it finite measures the rate instead, and growth at that rate reaches the
    dtype's largest number there: growth at the physics' rate is the overflow of a
    physical explosion (intrinsic, the cause beside it); growth that
    disagrees with the physics is numerical; an undecided ablation decides nothing."""
    v = f.v
    if not v.nonfinite_fixed_by or f.own_class is not None:
        return None
    for (rate, low, high), cause, overflow in zip(v.nonfinite_fixed_rates, v.nonfinite_fixed_by, v.nonfinite_overflow):
        if not overflow:
            continue  # a blow-up growth cannot reach (a failing adjoint) is no overflow
        after = growth_class(rate, low, high, v.t_max)
        if after is None:
            return Outcome(
                "inconclusive",
                (
                    f"the gradient is non-finite at {v.nonfinite_fraction:.0%} of the measured horizons and members, too "
                    f"early to fit its rate, and the ablation of {cause} that keeps it finite does not decide its growth "
                    f"either ({words.rate(rate, low, high)})",
                ),
                ("more members", "horizons below where the gradient overflows", "a wider dtype"),
            )
        if after == "grows" and not disagreement(dataclasses.replace(v, rate=rate, rate_low=low, rate_high=high)):
            return Outcome(
                "intrinsic-explosion",
                (
                    f"the gradient is non-finite at {v.nonfinite_fraction:.0%} of the measured horizons and members, too "
                    f"early to fit its own rate; the ablation of {cause} keeps it finite and it grows at "
                    f"{words.rate(rate, low, high)}, as the physics predicts ({words.rate(v.expected, v.expected_low, v.expected_high)}): "
                    "the non-finite values are the overflow of a physical explosion",
                ),
            )
    return None


def blowup_beyond_growth(f: Facts) -> Outcome | None:
    """Growth that stays finite elsewhere, but the blow-up is out of its reach: the
    ablation that removes it names a numerical failure (a reverse solve that fails)."""
    v = f.v
    no_overflow = len(v.nonfinite_overflow) == len(v.nonfinite_fixed_by) and not any(v.nonfinite_overflow)
    if not (v.nonfinite_fixed_by and f.own_class == "grows" and no_overflow):
        return None
    return Outcome(
        "numerical-explosion",
        (
            f"the gradient is non-finite at {v.nonfinite_fraction:.0%} of the measured horizons and members while "
            "the forward simulation stays finite, and growth at the rate that the ablation measures cannot reach the "
            "dtype's largest number there: the blow-up is not an overflow of growth",
            "the ablation of " + ", ".join(v.nonfinite_fixed_by) + " makes it finite",
        ),
    )


def blowup_without_growth(f: Facts) -> Outcome | None:
    """Non-finite values are the overflow of a physical explosion only when what stays
    finite grows; otherwise a blow-up that one change removes is numerical."""
    v, user = f.v, f.own_class
    if not v.nonfinite_fixed_by or user == "grows":
        return None
    rest = (
        "no rate can be measured on the rest"
        if user is None or v.gradient_status == "nonfinite"
        else f"what stays finite does not grow ({v.rate:+.3g} per time unit), so the blow-up is not an overflow "
        "of growth"
    )
    return Outcome(
        "numerical-explosion",
        (
            f"the gradient is non-finite at {v.nonfinite_fraction:.0%} of the measured horizons and members while "
            f"the forward simulation stays finite, and {rest}",
            "the ablation of " + ", ".join(v.nonfinite_fixed_by) + " makes it finite",
        ),
    )


def non_smooth(f: Facts) -> Outcome | None:
    """Whatever the rate does, the derivative AD computes is not the gradient of the
    loss an optimiser sees (Suh, Simchowitz, Zhang & Tedrake 2022)."""
    if "non-smooth" not in f.causes:
        return None
    return Outcome(
        "non-smooth",
        (
            "the first-order (AD) estimate of the smoothed loss's gradient lies outside the zeroth-order estimate's "
            "interval: the program is piecewise smooth, and its exact derivative misses the jumps, so it is not the "
            "gradient of the loss an optimiser sees (the non-smooth ablation gives the evidence and where it sits)",
        ),
    )


def nonfinite_unexplained(f: Facts) -> Outcome | None:
    """Too few finite gradients to fit a rate, and no ablation made them finite."""
    if f.v.gradient_status != "nonfinite":
        return None
    return Outcome(
        "inconclusive",
        ("the gradient is non-finite at too many horizons to fit a rate, and no ablation made it finite",),
        ("shorter horizons, below where the gradient overflows", "a wider dtype if the simulator is in 16 or 32 bits"),
    )
