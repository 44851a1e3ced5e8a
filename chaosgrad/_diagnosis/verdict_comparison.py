"""The verdict's rules for a measured rate, against the physics' prediction.

On neutral physics, growth as a power of T is stable (or inconclusive where the
horizons cannot tell it from an exponential); a rate whose class is undecided is
inconclusive; a rate that disagrees with the physics is numerical when an ablation
explains the gap; an undecided comparison or undetermined physics is inconclusive;
otherwise the gradient is what the physics predicts. Each rule returns its
:class:`~chaosgrad._diagnosis.verdict_facts.Outcome`, or ``None`` when it does not apply
(the last one always applies); ``_diagnosis.verdict`` applies them in order.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from chaosgrad._diagnosis import words as words
from chaosgrad._diagnosis.rates import LOG2
from chaosgrad._diagnosis.verdict_facts import Facts, Outcome

if TYPE_CHECKING:  # the rules read a GrowthLaw's fields only; its module imports the verdict
    from chaosgrad._diagnosis.types import GrowthLaw


def _law_words(law: GrowthLaw) -> str:
    lo, hi = law.exponent_interval
    return f"|grad| grows like T^p with p = {words.rate(law.exponent, lo, hi)} over T = {law.horizon_range[0]:.4g} to {law.horizon_range[1]:.4g}"


def _plain_power_growth(law: GrowthLaw) -> bool:
    """Growth as a power is plain when its exponent's interval excludes 0 and the growth
    over the horizons is material."""
    lo, _ = law.exponent_interval
    t_lo, t_hi = law.horizon_range
    return lo > 0 and law.exponent * math.log(t_hi / t_lo) > LOG2


def neutral_growth_law(f: Facts) -> Outcome | None:
    """Growth on neutral physics: a power of T is what a neutral direction gives (phase
    drift along a limit cycle or libration, a secular term, a free rotation), so a power
    law is ``stable`` whether or not an exponential fit would call the rate a gap (over
    finite horizons a finite-time exponent's interval can hold the rate a power law
    mimics); growth the horizons cannot tell from an exponential is ``inconclusive`` with
    the horizon that would decide. ``None`` when the law does not change the verdict
    (exponential growth is judged by the comparison)."""
    v, law, user = f.v, f.v.law, f.own_class
    if law is None or v.physics != "neutral":
        return None
    if user is None:
        # The exponential's interval spans classes: only plain growth as a power counts.
        if not _plain_power_growth(law):
            return None
    elif user != "grows":
        return None
    if law.law == "power":
        net_lo, net_hi = law.net_rate_interval
        return Outcome(
            "stable",
            (
                f"{_law_words(law)}: polynomial, not exponential (the exponential rate net of the power is "
                f"{words.rate(law.net_rate, net_lo, net_hi)}, which contains 0)",
                f"{f.expected_words}: a neutral direction, along which a parameter moves the phase or a secular term, "
                "so the gradient grows like a power of T without exploding",
                f"fitted as an exponential the same data give {f.rate_words[4:]}, a rate that falls like p ln(T) / T "
                "as the horizons grow",
            ),
        )
    if law.law == "either":
        lo, hi = law.horizon_range
        decide_at = (
            f"horizons from T = {lo:.4g} up to T = {law.deciding_horizon:.4g} (at the scatter measured)"
            if math.isfinite(law.deciding_horizon)
            else "more members: at the scatter measured no horizon up to 1024 times the longest tells the laws apart"
        )
        return Outcome(
            "inconclusive",
            (
                f"{f.rate_words}; {f.expected_words}: the gradient grows, but over T = {lo:.4g} to {hi:.4g} its growth "
                f"fits both an exponential and a power of T ({_law_words(law)[len('|grad| grows like ') :]}); "
                "a power is what neutral physics allows, an exponential is not",
            ),
            (decide_at,),
        )
    return None


def class_undecided(f: Facts) -> Outcome | None:
    """The rate's interval spans classes, and neither the members nor the physics along
    them decide it."""
    if f.gradient_class is not None:
        return None
    return Outcome(
        "inconclusive",
        (f"{f.rate_words} spans more than one class over T = {f.v.t_max:.4g} (growth, decay or flat)",),
        (
            "longer horizons (the interval narrows like 1 / T)",
            "more members (the interval narrows like 1 / sqrt(members))"
            if f.v.rate_from_spread
            else "independent members (members=GivenStates(...) or OnAttractor(...)): these members' curves coincide, "
            "so more of them add nothing",
        ),
    )


def _explained_gap(user: str, above: bool) -> str:
    """The verdict for a gap from the physics that a confirmed cause explains.

    Numerical when the numerics push the gradient beyond the physics in the direction it
    moves (it grows faster, or shrinks faster, than the physics allows); when they only
    soften what the physics does (a chaotic gradient that grows more slowly, a decaying
    one that decays more slowly) the physics still names the class, and the cause is
    reported beside it. A flat gradient is stable whatever the physics predicts.
    """
    if user == "grows":
        return "numerical-explosion" if above else "intrinsic-explosion"
    if user == "shrinks":
        return "intrinsic-vanishing" if above else "numerical-vanishing"
    return "stable"


def gap_from_physics(f: Facts) -> Outcome | None:
    """The rate disagrees with the physics: numerical when an ablation explains the gap
    (:func:`_explained_gap`), inconclusive when none does."""
    if f.comparison.outcome != "disagree":
        return None
    gap_words = f"{f.rate_words} while {f.expected_words} ({f.comparison.evidence})"
    if f.causes:
        user = f.gradient_class
        assert user is not None  # class_undecided applies before
        return Outcome(
            _explained_gap(user, f.v.rate > f.v.expected),
            (gap_words, "the ablation of " + ", ".join(f.causes) + " explains the gap"),
        )
    reasons = [gap_words, "no ablation explains the gap"]
    if f.v.failed:
        reasons.append("the ablation(s) " + ", ".join(f.v.failed) + " could not run")
    return Outcome(
        "inconclusive",
        tuple(reasons),
        (
            "an ablation of the cause you suspect (diagnose(..., causes=[...]))",
            "a reference= simulator that is known to resolve the physics",
        ),
    )


def comparison_undecided(f: Facts) -> Outcome | None:
    """Disjoint intervals that are not significantly apart: never called agreement."""
    comparison = f.comparison
    if comparison.outcome != "undecided":
        return None
    more = (
        f"about {comparison.members_needed} members (members=), at the spread measured"
        if comparison.members_needed
        else "a narrower physics interval (a longer lyapunov_time=)"
        if f.v.rate_from_spread
        else "independent members (the members' curves coincide, so more of them add nothing): longer horizons"
    )
    return Outcome(
        "inconclusive",
        (
            f"{f.rate_words} and {f.expected_words[4:]}: {comparison.evidence}, so the rates neither agree nor "
            "are shown to differ",
        ),
        (more, "longer horizons (the rate's interval narrows like 1 / T)"),
    )


def physics_undetermined(f: Facts) -> Outcome | None:
    """The rates agree, but the physics' own class is not decided."""
    if f.v.physics not in ("undetermined", "unbounded"):
        return None
    return Outcome(
        "inconclusive",
        (f"{f.rate_words} agrees with the physics, but {f.expected_words}, which does not decide its class",),
        (
            "a longer Lyapunov time (lyapunov_time= or a larger UntilConverged budget)",
            "a reference= simulator if the default reference did not converge",
        ),
    )


def as_the_physics_predicts(f: Facts) -> Outcome:
    """The rates agree. The physics' class names the verdict when it is decided (the
    spectrum is the longer, better-resolved measurement); the gradient's own class only
    when the physics' interval leaves the class open."""
    physics, user = f.physics_growth, f.gradient_class
    assert user is not None  # class_undecided applies before
    names = {"grows": "intrinsic-explosion", "shrinks": "intrinsic-vanishing", "flat": "stable"}
    reasons = [f"{f.rate_words} agrees with what {f.expected_words[4:]} ({f.comparison.evidence})"]
    if physics is not None and physics != user:
        reasons.append(
            f"on its own the gradient's rate looks {'flat' if user == 'flat' else 'like ' + ('growth' if user == 'grows' else 'decay')}"
            f" over T = {f.v.t_max:.4g}, but it is consistent with the physics, whose class is decided"
        )
    if f.causes:
        reasons.append(
            "the ablation of " + ", ".join(f.causes) + " shows the user's gradient is wrong in value, "
            "although its rate is the physical one"
        )
    return Outcome(names[physics or user], tuple(reasons))
