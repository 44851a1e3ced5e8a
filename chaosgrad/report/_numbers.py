"""Number formatting shared by every report format (no matplotlib here): significant
digits for single values, fixed decimals for values compared side by side, and a missing
or non-finite value always shown (an em dash, ``NaN``, ``+inf``), never dropped."""

from __future__ import annotations

import json
import math

import numpy as np

from chaosgrad._diagnosis import words as words

# Largest and smallest normal numbers of the floating-point types a simulator may use.
DTYPE_LIMITS = {
    "float16": (65504.0, 6.103515625e-05),
    "bfloat16": (3.3895313892515355e38, 1.1754943508222875e-38),
    "float32": (3.4028234663852886e38, 1.1754943508222875e-38),
    "float64": (1.7976931348623157e308, 2.2250738585072014e-308),
}


def dtype_limits(dtype: str) -> tuple[float, float] | None:
    return DTYPE_LIMITS.get(str(dtype))


def as_float(x) -> float | None:
    """A float, or ``None`` for ``None`` and things that are not numbers."""
    if x is None:
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def is_finite(x) -> bool:
    v = as_float(x)
    return v is not None and math.isfinite(v)


def fmt(x, digits: int = 3, *, signed: bool = False) -> str:
    """Format a number with ``digits`` significant digits; say what a missing value is.

    ``None`` becomes an em dash, NaN ``NaN`` and infinities ``+inf``/``-inf``, so a
    non-finite value is shown, never silently dropped.
    """
    if x is None:
        return "—"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):+d}" if signed else f"{int(x)}"
    v = as_float(x)
    if v is None:
        return str(x)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+inf" if v > 0 else "-inf"
    return words.number(v, digits, signed=signed)  # the one formatter of finite numbers


def fmt_rate(x, err=None, digits: int = 3) -> str:
    """``+0.906 ± 0.004`` (the error is omitted when missing)."""
    s = fmt(x, digits, signed=True)
    if err is not None and is_finite(err):
        s += f" ± {fmt(err, 2)}"
    return s


def fmt_interval(interval, digits: int = 3) -> str:
    try:
        lo, hi = interval
    except (TypeError, ValueError):
        return "—"
    return f"[{fmt(lo, digits, signed=True)}, {fmt(hi, digits, signed=True)}]"


def fmt_value(v) -> str:
    """Format a table cell or configuration value of any JSON-able type."""
    if isinstance(v, (float, np.floating, int, np.integer, bool, np.bool_)) or v is None:
        return fmt(v, 4)
    if isinstance(v, np.ndarray):
        return fmt_sequence(v.tolist())
    if isinstance(v, (list, tuple)):
        return fmt_sequence(v)
    return str(v)


def fmt_sequence(seq, limit: int = 8) -> str:
    items = list(np.asarray(seq, dtype=object).reshape(-1)) if not isinstance(seq, (list, tuple)) else list(seq)
    if len(items) > limit:
        head = ", ".join(fmt_value(v) for v in items[: limit // 2])
        tail = ", ".join(fmt_value(v) for v in items[-2:])
        return f"[{head}, …, {tail}] ({len(items)} values)"
    return "[" + ", ".join(fmt_value(v) for v in items) + "]"


def plain(value, limit: int = 12):
    """A JSON-able, short version of a configuration value (long arrays summarised)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): plain(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if len(value) > limit:
            return fmt_sequence(value, limit)
        return [plain(v, limit) for v in value]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        # 12 significant digits: 10.2, not the 10.200000000000001 of float arithmetic
        return float(f"{v:.12g}") if math.isfinite(v) else fmt(v)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def fmt_fixed(x, decimals: int, *, signed: bool = True) -> str:
    """Fixed decimals (``+0.906``, ``-14.572``), for values that are compared side by side."""
    v = as_float(x)
    if v is None or not math.isfinite(v):
        return fmt(x)
    s = f"{v:+.{decimals}f}" if signed else f"{v:.{decimals}f}"
    return s.replace("-0." + "0" * decimals, "+0." + "0" * decimals) if signed else s


def spectrum_text(exponents, errors=None, limit: int = 6) -> str:
    """A spectrum with common fixed decimals: ``(+0.906 ± 0.004, +0.000 ± 0.002, -14.572)``.

    The decimals follow the largest magnitude (5 significant digits of it, 2 to 6 decimals),
    so an exponent that is zero to working precision reads as ``+0.000``, not ``1.7e-17``.
    """
    lam = np.asarray(exponents, dtype=float).reshape(-1)
    err = None if errors is None else np.asarray(errors, dtype=float).reshape(-1)
    fin = lam[np.isfinite(lam)]
    big = float(np.max(np.abs(fin))) if fin.size and np.max(np.abs(fin)) > 0 else 1.0
    decimals = int(min(6, max(2, 4 - math.floor(math.log10(big)))))
    parts = []
    for i, v in enumerate(lam[:limit]):
        if not math.isfinite(v):
            parts.append("not finite")
            continue
        s = fmt_fixed(v, decimals)
        e = err[i] if err is not None and i < err.size else None
        if e is not None and math.isfinite(e):
            s += f" ± {fmt(e, 2)}"
        parts.append(s)
    more = f", … ({lam.size} exponents)" if lam.size > limit else ""
    return "(" + ", ".join(parts) + more + ")"


def pretty_json(value, indent: int = 2, width: int = 88) -> str:
    """JSON with short lists and dicts kept on one line (configuration blocks)."""

    def dump(v, level):
        one = json.dumps(v, ensure_ascii=False, default=str)
        if len(one) + level * indent <= width or not isinstance(v, (dict, list)) or not v:
            return one
        pad, inner = " " * (indent * (level + 1)), " " * (indent * level)
        if isinstance(v, dict):
            items = [f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {dump(x, level + 1)}" for k, x in v.items()]
            return "{\n" + ",\n".join(items) + "\n" + inner + "}"
        if all(not isinstance(x, (dict, list)) for x in v):  # scalars: fill lines
            lines, line = [], ""
            for x in v:
                piece = json.dumps(x, ensure_ascii=False, default=str)
                if line and len(pad) + len(line) + len(piece) + 2 > width:
                    lines.append(line + ",")
                    line = piece
                else:
                    line = f"{line}, {piece}" if line else piece
            lines.append(line)
            return "[\n" + "\n".join(pad + ln for ln in lines) + "\n" + inner + "]"
        items = [pad + dump(x, level + 1) for x in v]
        return "[\n" + ",\n".join(items) + "\n" + inner + "]"

    return dump(value, 0)
