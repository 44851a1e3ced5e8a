"""Numbers in words: the one formatter for numbers that appear inside sentences.

Tables may show a non-finite value as ``NaN`` (``chaosgrad.report._numbers.fmt``); a
sentence may not: advice such as "scale the loss by exp(-nan T)" says nothing. Every
function here returns words for a missing or non-finite value ("not measured",
"infinite"), never ``nan`` or ``inf``, and a rate is always written with its interval in
the same decimals ("+0.902 [+0.854, +0.950]", not "[+0.8537, +0.95]").
"""

from __future__ import annotations

import math

MISSING = "not measured"


def finite(x) -> bool:
    """Whether ``x`` is a finite real number (``None``, strings and bools are not)."""
    if x is None or isinstance(x, (bool, str)):
        return False
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _nonfinite(x) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return MISSING
    if math.isinf(v):
        return "infinite" if v > 0 else "minus infinity"
    return MISSING


def number(x, digits: int = 3, *, signed: bool = False) -> str:
    """``x`` with ``digits`` significant digits (scientific notation below 1e-3 and from
    ``10 ** (digits + 2)``); words for a missing or non-finite value."""
    if not finite(x):
        return _nonfinite(x)
    v = float(x)
    if v == 0:
        return "+0" if signed else "0"
    a = abs(v)
    if a >= 10 ** (digits + 2) or a < 1e-3:
        mant, exp = f"{v:.{max(digits - 1, 0)}e}".split("e")
        s = f"{mant}e{int(exp)}"
    else:
        decimals = max(digits - 1 - int(math.floor(math.log10(a))), 0)
        s = f"{v:.{decimals}f}"
    return ("+" + s) if signed and v > 0 else s


def _decimals(values, digits: int) -> int | None:
    """Decimals that give the largest finite magnitude among ``values`` ``digits``
    significant digits (``None`` when a common fixed notation does not fit)."""
    mags = [abs(float(v)) for v in values if finite(v) and float(v) != 0]
    if not mags:
        return max(digits - 1, 0)
    big = max(mags)
    if big >= 10 ** (digits + 2) or big < 1e-3:
        return None
    return max(digits - 1 - int(math.floor(math.log10(big))), 0)


def _fixed(v, decimals: int) -> str:
    s = f"{float(v):+.{decimals}f}"
    return "+" + s[1:] if float(s) == 0 else s  # no "-0.000"


def numbers(values, digits: int = 3, *, signed: bool = True) -> list[str]:
    """Several numbers compared side by side, in common decimals (those that give the
    largest ``digits`` significant digits), so that they line up."""
    values = list(values)
    dec = _decimals(values, digits)
    out = []
    for v in values:
        if not finite(v):
            out.append(_nonfinite(v))
        elif dec is None:
            out.append(number(v, digits, signed=signed))
        else:
            s = _fixed(v, dec)
            out.append(s if signed else s.lstrip("+"))
    return out


def interval(lo, hi, digits: int = 3) -> str:
    """``[+0.854, +0.950]`` in common decimals; words when an end is not finite."""
    if not (finite(lo) and finite(hi)):
        return "(interval " + MISSING + ")"
    a, b = numbers((lo, hi), digits)
    return f"[{a}, {b}]"


def rate(value, lo=None, hi=None, digits: int = 3) -> str:
    """A rate with its interval in common decimals: ``+0.902 [+0.854, +0.950]``; only
    the rate when the interval is missing; words when the rate is not finite."""
    if not finite(value):
        return _nonfinite(value)
    if lo is None or hi is None or not (finite(lo) and finite(hi)):
        return numbers((value,), digits)[0]
    v, a, b = numbers((value, lo, hi), digits)
    return f"{v} [{a}, {b}]"


def plus_minus(value, half_width, digits: int = 4) -> str:
    """``+0.9056 ± 0.010`` (the ± part only with a finite half-width); words when the
    value is not finite."""
    if not finite(value):
        return _nonfinite(value)
    s = number(value, digits, signed=True)
    return s + (f" ± {number(half_width, 2)}" if finite(half_width) else "")


def disjoint(a, b) -> bool:
    """Whether two intervals ``(lo, hi)`` with finite ends do not overlap (``False``
    when an end is missing: nothing is stated then)."""
    try:
        (alo, ahi), (blo, bhi) = a, b
    except (TypeError, ValueError):
        return False
    if not all(finite(x) for x in (alo, ahi, blo, bhi)):
        return False
    return float(ahi) < float(blo) or float(bhi) < float(alo)
