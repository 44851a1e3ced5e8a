"""Words shared by every report format (no matplotlib here): the verdict, physics and
causes in sentences, the end-of-run summary and the report's one notation. Numbers are
formatted by ``_numbers``."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from chaosgrad._diagnosis import words as words
from chaosgrad.report._numbers import fmt, fmt_interval, fmt_value

# verdict -> (plain words, tone). Tone picks the colour of the headline banner.
VERDICT_WORDS = {
    "stable": ("The gradient neither explodes nor vanishes over the horizons tested.", "good"),
    "intrinsic-explosion": (
        "The gradient explodes because the dynamics are chaotic: the exact derivative "
        "really is this large, and the numerics are not to blame.",
        "physics",
    ),
    "intrinsic-vanishing": (
        "The gradient vanishes because the dynamics contract: the true sensitivity "
        "really is this small, and the numerics are not to blame.",
        "physics",
    ),
    "numerical-explosion": (
        "The gradient explodes because of the numerics, not the physics: it grows faster than the true dynamics allow.",
        "numerics",
    ),
    "numerical-vanishing": (
        "The gradient vanishes because of the numerics, not the physics: it decays "
        "faster than the true dynamics demand.",
        "numerics",
    ),
    "non-smooth": (
        "The gradient AD computes is the exact derivative of a piecewise-smooth program (contact, clipping, a reset), "
        "not the gradient of the smoothed loss an optimiser needs.",
        "numerics",
    ),
    "diverged": (
        "The simulation or its gradient diverged: non-finite values (infinite or not a "
        "number) appear before a growth rate could be measured.",
        "bad",
    ),
    "no-gradient": (
        "The gradient is exactly zero: the simulation step propagates no derivative "
        "(a stop_gradient, an integer or discrete operation, or a detached environment step).",
        "bad",
    ),
    "inconclusive": (
        "The evidence does not decide why the gradient behaves as it does; the report says what would decide it.",
        "neutral",
    ),
}

PHYSICS_WORDS = {
    "chaotic": "chaotic (lambda_1 > 0: nearby trajectories separate exponentially)",
    "neutral": "neutral (lambda_1 = 0 within its error: no exponential separation)",
    "contracting": "contracting (lambda_1 < 0: trajectories converge)",
    "undetermined": "undetermined (lambda_1's interval does not decide its sign at these horizons)",
    "unbounded": "unbounded (the reference dynamics themselves blow up)",
}

CAUSE_WORDS = {
    "discretization": "discretisation: the solver's step is a different dynamical system "
    "from the physics (lambda_numerical differs from lambda_physical)",
    "adjoint": "adjoint: the way the gradient is computed is unstable (for example a "
    "backsolve adjoint re-integrating a contracting flow backwards in time)",
    "precision": "precision: round-off, overflow or underflow of the floating-point type",
    "saturation": "saturation: saturated nonlinearities (tanh, sigmoid, clipping) damp the gradient",
    "nonfinite": "non-finite values: infinite or not-a-number values appear in the forward or backward pass",
}


def verdict_words(verdict: str) -> tuple[str, str]:
    """Plain-words sentence and tone for a verdict (unknown verdicts are shown as given)."""
    return VERDICT_WORDS.get(verdict, (f"Verdict: {verdict}.", "neutral"))


def headline(d) -> tuple[str, str]:
    """The verdict's sentence and tone for diagnosis ``d``, with each clause that states a
    comparison kept only where the diagnosis' own numbers show it: "grows faster than the
    true dynamics allow" needs the gradient's interval above the physics' interval, "the
    numerics are not to blame" needs no confirmed cause, "really is this large" needs
    intervals that overlap. A clause the numbers do not show is replaced by what they do
    show, or left out."""
    verdict = str(d.verdict)
    tone = verdict_words(verdict)[1]
    g_lo, g_hi = _pair(d.gradient_interval)
    e_lo, e_hi = _pair(d.expected_interval)
    rate_known = words.finite(d.gradient_rate) and words.finite(g_lo) and words.finite(g_hi)
    expected_known = words.finite(e_lo) and words.finite(e_hi)
    rate_s = words.rate(d.gradient_rate, g_lo, g_hi) if rate_known else words.interval(g_lo, g_hi)
    expected_s = (
        words.rate(d.expected_rate, e_lo, e_hi)
        if expected_known and words.finite(d.expected_rate)
        else (words.interval(e_lo, e_hi) if expected_known else None)
    )
    causes = tuple(d.causes or ())
    if verdict in ("numerical-explosion", "numerical-vanishing"):
        grows = verdict == "numerical-explosion"
        first = (
            "The gradient explodes" if grows else "The gradient vanishes"
        ) + " because of the numerics, not the physics"
        beyond = rate_known and expected_known and (g_lo > e_hi if grows else g_hi < e_lo)
        if beyond:
            how = (
                "grows faster than the true dynamics allow" if grows else "decays faster than the true dynamics demand"
            )
            return f"{first}: it {how} (rate {rate_s} against {expected_s} from the physics).", tone
        why = nonfinite_words(d)
        if why:
            return f"{first}: {why}.", tone
        return first + (f" (confirmed cause: {', '.join(causes)})." if causes else "."), tone
    if verdict in ("intrinsic-explosion", "intrinsic-vanishing"):
        grows = verdict == "intrinsic-explosion"
        s = (
            "The gradient explodes because the dynamics are chaotic"
            if grows
            else "The gradient vanishes because the dynamics contract"
        )
        if words.disjoint((g_lo, g_hi), (e_lo, e_hi)):
            s += (
                f"; its rate {rate_s} lies outside the physics' interval {expected_s}, so the physics names "
                "the class but not the value"
            )
        else:
            s += (
                ": the exact derivative really is this large"
                if grows
                else ": the true sensitivity really is this small"
            )
        if causes:
            s += f"; the confirmed cause ({', '.join(causes)}) changes the gradient beside the physics"
        elif not words.disjoint((g_lo, g_hi), (e_lo, e_hi)):
            s += ", and the numerics are not to blame"
        return s + ".", tone
    return verdict_words(verdict)


def _pair(interval) -> tuple[Any, Any]:
    try:
        lo, hi = interval
    except (TypeError, ValueError):
        return None, None
    return lo, hi


def nonfinite_words(d) -> str | None:
    """ "it turns non-finite in 40 of 64 evaluations (from T ≈ 3.63) while the
    forward simulation stays finite", from the gradient's own arrays; ``None`` when every
    gradient is finite or the forward state is not."""
    g = d.gradient
    norms = np.asarray(g.norms, dtype=float)
    if norms.ndim != 2 or not norms.size:
        return None
    zero = np.asarray(g.zero, dtype=bool) if np.asarray(g.zero).shape == norms.shape else np.zeros(norms.shape, bool)
    state = np.asarray(g.state_finite, dtype=bool) if np.asarray(g.state_finite).shape == norms.shape else None
    bad = ~np.asarray(g.finite, dtype=bool) & ~zero
    if not bad.any() or state is None or not state[bad].all():
        return None
    first = float(np.asarray(g.horizons, dtype=float)[np.nonzero(bad.any(axis=0))[0][0]])
    return (
        f"it turns non-finite in {int(bad.sum())} of {bad.size} evaluations (from T ≈ "
        f"{words.number(first)}) while the forward simulation stays finite"
    )


def horizon_kind(d) -> str | None:
    """What ``d.overflow_horizon`` is: ``"overflow"`` when a finite rate above zero
    extrapolates it, ``"non-finite"`` when it is the horizon where the gradient was seen to
    turn non-finite, ``None`` when there is none (or it is not finite)."""
    from chaosgrad._diagnosis.advice import overflow_extrapolated  # the rule that made the horizon

    if not words.finite(d.overflow_horizon):
        return None
    g_lo = _pair(d.gradient_interval)[0]
    if words.finite(d.gradient_rate) and words.finite(g_lo) and float(g_lo) > 0 and overflow_extrapolated(d.gradient):
        return "overflow"
    return "non-finite"


def verdict_label(verdict: str) -> str:
    return str(verdict).replace("-", " ")


def cause_words(cause: str, recorded: dict | None = None) -> str:
    """Words for a cause: those the diagnosis recorded for it (a user's own cause carries
    its own), else the bundled ones."""
    if isinstance(recorded, dict) and isinstance(recorded.get(cause), str):
        return f"{cause}: {recorded[cause]}"
    return CAUSE_WORDS.get(cause, cause)


def physics_words(physics: str) -> str:
    return PHYSICS_WORDS.get(physics, str(physics))


def fmt_rate_interval(rate, interval, digits: int = 3) -> str:
    """A rate and its interval side by side in common decimals (``+0.890 [+0.854,
    +0.950]``, the one formatter of ``chaosgrad._diagnosis.words``); for a table, a value that is
    not finite is still shown (``NaN``), never dropped."""
    try:
        lo, hi = interval
    except (TypeError, ValueError):
        lo = hi = None
    if all(words.finite(x) for x in (rate, lo, hi)):
        return words.rate(rate, lo, hi, digits)
    return f"{fmt(rate, digits, signed=True)} {fmt_interval(interval, digits)}"


def paragraphs(text: str | None) -> list[str]:
    """Split text on blank lines into paragraphs, joining wrapped lines."""
    if not text:
        return []
    out = []
    for block in str(text).replace("\r\n", "\n").split("\n\n"):
        block = " ".join(line.strip() for line in block.strip().splitlines())
        if block:
            out.append(block)
    return out


def summary_table(study, paths=(), *, ascii_only: bool = False) -> str:
    """The end-of-run table for a terminal: verdict, rates and the files written."""
    d = study.diagnosis

    def lam(r):
        exps, se = list(r.exponents), list(r.uncertainty)
        return words.plus_minus(exps[0] if exps else None, se[0] if se else None, 4)

    rows = [
        ("system", f"{study.system} ({study.mode})"),
        ("verdict", verdict_label(d.verdict)),
        ("physics", d.physics),
        ("causes", ", ".join(d.causes) if d.causes else "none confirmed"),
        ("lambda_1 physical", lam(d.lambda_physical)),
        ("lambda_1 numerical", lam(d.lambda_numerical)),
        (
            "gradient rate",
            words.rate(d.gradient_rate, *_pair(d.gradient_interval))
            if words.finite(d.gradient_rate)
            else f"{words.MISSING} (fit status {d.gradient.status})",
        ),
        ("expected rate", words.rate(d.expected_rate, *_pair(d.expected_interval), digits=4)),
    ]
    rows += [("because" if i == 0 else "", r) for i, r in enumerate(d.reasons)]
    rows += [("to decide" if i == 0 else "", t) for i, t in enumerate(d.to_decide)]
    kind = horizon_kind(d)
    if kind == "overflow":
        rows.append((f"{d.dtype} overflow", f"T ~ {words.number(d.overflow_horizon)} (at the measured rate)"))
    elif kind == "non-finite":
        rows.append(("gradient non-finite", f"from T ~ {words.number(d.overflow_horizon)} (observed)"))
    if words.finite(d.underflow_horizon) and words.finite(d.gradient_rate):
        rows.append((f"{d.dtype} underflow", f"T ~ {words.number(d.underflow_horizon)}"))
    rows.append(("status", d.status))
    for i, path in enumerate(paths):
        rows.append(("wrote" if i == 0 else "", str(path)))
    width = max(len(k) for k, _ in rows)
    text = "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)
    return text.replace("±", "+/-").encode("ascii", "replace").decode("ascii") if ascii_only else text


# ------------------------------------------------------------------ one notation

_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_LAMBDA_INDEX = re.compile(r"\blambda_(\d+)\b")
_LAMBDA_NAMED = re.compile(r"\blambda_(phys(?:ical)?|num(?:erical)?)\b")
_HYPHENATED_VERDICTS = tuple(v for v in VERDICT_WORDS if "-" in v and v != "no-gradient")
_VERDICT = re.compile(r"\b(" + "|".join(map(re.escape, _HYPHENATED_VERDICTS)) + r")\b")


def notation(text: str) -> str:
    """Prose in the report's one notation: exponents as ``λ₁`` (``lambda_1`` in the
    analyses' text), ``λ_physical``/``λ_numerical``, and verdicts in words
    (``intrinsic explosion``, not ``intrinsic-explosion``)."""
    if not isinstance(text, str) or "lambda_" not in text and "-" not in text:
        return text
    text = _LAMBDA_INDEX.sub(lambda m: "λ" + m.group(1).translate(_SUBSCRIPT), text)
    text = _LAMBDA_NAMED.sub(lambda m: "λ_physical" if m.group(1).startswith("phys") else "λ_numerical", text)
    return _VERDICT.sub(lambda m: verdict_label(m.group(1)), text)


def unit_words(unit: str | None) -> str:
    """A recommendation's unit as a reader says it: ``"time"`` is ``"time units"``."""
    unit = (unit or "").strip()
    return {"time": "time units", "step": "steps"}.get(unit, unit)


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (up to a full stop followed by a capital)."""
    m = re.search(r"(?<=[.!?])\s+(?=[A-Z])", text)
    return text[: m.start()] if m else text


def evidence_words(evidence: dict, reason: str = "") -> str:
    """An ablation's comparison numbers as sentences (``rate_moved = yes`` as "the rate
    moved, towards the prediction")."""
    ev = dict(evidence or {})
    if not ev:
        return ""
    out = []
    exact = isinstance(ev.get("values"), dict) or "exact derivative" in (reason or "")
    nf_b, nf_a = ev.pop("nonfinite_fraction_before", None), ev.pop("nonfinite_fraction_after", None)
    if words.finite(nf_b) and words.finite(nf_a) and (float(nf_b) > 0 or float(nf_a) > 0):
        out.append(f"non-finite entries {float(nf_b):.0%} before, {float(nf_a):.0%} after")
    rb, ra = ev.pop("rate_before", None), ev.pop("rate_after", None)
    moved, towards, gap = ev.pop("rate_moved", None), ev.pop("towards_target", None), ev.pop("rate_gap", None)
    if moved is not None:
        by = f" by {words.number(gap, 2, signed=True)}" if words.finite(gap) else ""
        if moved:
            where = (
                ("towards the exact derivative's" if exact else "towards the prediction")
                if towards
                else "away from the prediction"
            )
            out.append(f"the rate moved{by}, {where}")
        else:
            out.append(f"the rate did not move beyond its uncertainty (change{by or ' not measured'})")
    elif words.finite(rb) and words.finite(ra):
        out.append(f"rate {words.numbers((rb, ra))[0]} before, {words.numbers((rb, ra))[1]} after")
    nb, na = ev.pop("median_norm_longest_before", None), ev.pop("median_norm_longest_after", None)
    if words.finite(nb) and words.finite(na):
        out.append(f"median gradient norm at the longest horizon {words.number(nb)} before, {words.number(na)} after")
    values = ev.pop("values", None)
    if isinstance(values, dict):
        differ = values.get("members_differing")
        paired = values.get("paired_members")
        ratio = values.get("median_log_ratio", math.nan)  # nan: not finite, as a missing value
        cos = values.get("median_cosine")
        detail = []
        if words.finite(ratio):
            detail.append(f"median norm ratio {words.number(math.exp(float(ratio)))}")
        if words.finite(cos):
            detail.append(f"median cosine {words.number(cos, 2, signed=True)}")
        at = f"at T = {words.number(values.get('horizon'))}, " if words.finite(values.get("horizon")) else ""
        verb = "differ from" if values.get("values_differ") else "agree with"
        count = (
            f"{differ} of {paired} members' gradients" if differ is not None and paired is not None else "the gradients"
        )
        out.append(f"{at}{count} {verb} the exact derivative" + (f" ({', '.join(detail)})" if detail else ""))
    for k, v in ev.items():  # anything else, named in words
        shown = words.number(v) if words.finite(v) else fmt_value(v)
        out.append(f"{str(k).replace('_', ' ')} {shown}")
    text = "; ".join(out)
    return text[:1].upper() + text[1:] + "." if text else ""
