"""Checks of the caller's arguments, run before any computation.

Every check raises :class:`~chaosgrad.ChaosgradInputError` naming the argument and the
fix. Non-finite values that appear *during* a run are never checked here: they are
findings, recorded in the result.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._errors import bad_argument
from chaosgrad._pytree import float_leaves
from chaosgrad._step_checks import check_step_shapes, step_function_error  # noqa: F401 (re-exported)

# Step and interval counts run as int32 loop counters inside compiled programs.
MAX_COUNT = 2**31 - 1


def as_count(name: str, value: float, dt: float, *, allow_zero: bool, unit: str = "one step (dt = {dt:g})") -> int:
    """``value`` (a time) as a whole number of ``dt``; ``unit`` names ``dt`` in messages."""
    try:
        if isinstance(value, (str, bytes, bool, np.bool_)):
            raise TypeError
        v = float(value)
    except (TypeError, ValueError):
        raise bad_argument(name, f"{value!r} is not a number", "pass a time in the simulator's units") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise bad_argument(name, f"{value!r} is not a positive finite time", "pass a positive time")
    if v / dt > MAX_COUNT:
        raise bad_argument(
            name,
            f"{value!r} is {v / dt:.3g} times {unit.format(dt=dt)}, more than the {MAX_COUNT} a compiled loop counts",
            f"pass at most {MAX_COUNT * dt:.3g}",
        )
    n = int(round(v / dt))
    if n == 0 and not allow_zero:
        raise bad_argument(name, f"{value!r} is shorter than {unit.format(dt=dt)}", f"pass at least {dt:g}")
    return n


def check_seed(seed, name: str = "seed") -> int:
    """One rule for every seed: a non-negative int below 2**63 (NumPy's and JAX's common
    range), not a bool."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise bad_argument(name, f"{seed!r} is not a non-negative int below 2**63", "pass e.g. 0")
    return int(seed)


def check_count(name: str, value, *, minimum: int = 1, example: int = 8) -> int:
    """One rule for every count: an int (not a bool) of at least ``minimum`` that a
    compiled loop can count."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not minimum <= value <= MAX_COUNT:
        raise bad_argument(name, f"{value!r} is not an int between {minimum} and {MAX_COUNT}", f"pass e.g. {example}")
    return int(value)


def check_time(name: str, value, *, allow_none: bool = False, allow_zero: bool = True, example: str = "10.0"):
    """One rule for every time: a finite real number, positive (or zero where
    ``allow_zero``), not a bool; ``None`` where ``allow_none``."""
    if value is None and allow_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not (0 <= value < math.inf and (allow_zero or value > 0))
    ):
        what = "a non-negative" if allow_zero else "a positive"
        raise bad_argument(
            name, f"{value!r} is not {what} finite time", f"pass e.g. {example}" + (" or None" if allow_none else "")
        )
    return value


def check_real(
    name: str,
    value,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    allow_none: bool = False,
    example: str = "1.0",
):
    """One rule for every real parameter (a physical constant, a tolerance, a scale): a
    finite real number, not a bool or a string; positive or non-negative where asked."""
    if value is None and allow_none:
        return None
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))
    if ok and np.ndim(value) == 0:
        v = float(value)
        if math.isfinite(v) and (not positive or v > 0) and (not nonnegative or v >= 0):
            return v
    what = "a positive" if positive else "a non-negative" if nonnegative else "a"
    raise bad_argument(
        name, f"{value!r} is not {what} finite real number", f"pass e.g. {example}" + (" or None" if allow_none else "")
    )


def check_probability(name: str, value, *, example: str = "0.95") -> float:
    """One rule for every confidence level or fraction: a real number strictly in (0, 1)."""
    if (
        not isinstance(value, (bool, np.bool_))
        and isinstance(value, (int, float, np.integer, np.floating))
        and 0 < value < 1
    ):
        return float(value)
    raise bad_argument(name, f"{value!r} is not a number in (0, 1)", f"pass e.g. {example}")


def check_flag(name: str, value) -> bool:
    """One rule for every switch: ``True`` or ``False`` (NumPy's bools too), never a
    string or a number that Python would read as true."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise bad_argument(name, f"{value!r} (a {type(value).__name__}) is not True or False", "pass True or False")


def check_text(name: str, value, *, allow_none: bool = True, example: str = "'my system'"):
    """One rule for every name or label: a string (``None`` where ``allow_none``)."""
    if (value is None and allow_none) or isinstance(value, str):
        return value
    raise bad_argument(
        name,
        f"{value!r} (a {type(value).__name__}) is not a string",
        f"pass a string, e.g. {example}" + (" or None" if allow_none else ""),
    )


def check_callable(name: str, value, *, allow_none: bool = True, signature: str = "f(...)"):
    """One rule for every callback: callable, or ``None`` where ``allow_none``."""
    if (value is None and allow_none) or callable(value):
        return value
    raise bad_argument(
        name,
        f"{value!r} (a {type(value).__name__}) is not callable",
        f"pass a function {signature}" + (" or None" if allow_none else ""),
    )


def check_strategy(name: str, value, kinds: tuple, *, words: tuple = (), example: str = ""):
    """One rule for every strategy argument: an instance of one of ``kinds`` or one of
    the strings ``words`` (``None`` is a word where listed)."""
    if any(value is w or (isinstance(w, str) and isinstance(value, str) and value == w) for w in words):
        return value
    if kinds and isinstance(value, kinds):
        return value
    allowed = [repr(w) for w in words] + [k.__name__ for k in kinds]
    raise bad_argument(name, f"{value!r} is not one of {', '.join(allowed)}", f"pass e.g. {example or allowed[0]}")


def check_mapping(name: str, value, *, allow_none: bool = True, example: str = "{}"):
    """One rule for every mapping argument: a dict (``None`` where ``allow_none``)."""
    if (value is None and allow_none) or isinstance(value, dict):
        return value
    text = repr(value)
    raise bad_argument(
        name,
        f"{text if len(text) <= 40 else text[:37] + '...'} (a {type(value).__name__}) is not a dict",
        f"pass a dict, e.g. {example}" + (" or None" if allow_none else ""),
    )


FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


def check_dtype(name: str, value, *, allowed: tuple = FLOAT_DTYPES, allow_none: bool = False):
    """One rule for every dtype: anything ``jnp.dtype`` reads (a name, a NumPy or JAX
    type) naming one of ``allowed``; ``None`` where ``allow_none``. Returns the name."""
    if value is None and allow_none:
        return None
    try:
        dtype = None if value is None or isinstance(value, (bool, int, float)) else jnp.dtype(value)
    except Exception:  # jnp.dtype raises TypeError or ValueError, by input
        dtype = None
    if dtype is None:
        raise bad_argument(
            name, f"{value!r} is not a dtype", f"pass one of {allowed}" + (" or None" if allow_none else "")
        )
    if dtype.name not in allowed:
        raise bad_argument(name, f"{dtype.name!r} is not one of {allowed}", f"pass one of {allowed}")
    return dtype.name


def check_adjoint(name: str, value, *, allow_none: bool = True):
    """One rule for every adjoint: a diffrax adjoint instance (``None`` where
    ``allow_none``: the simulator's default, ``RecursiveCheckpointAdjoint``)."""
    import diffrax  # only simulators built on diffrax take an adjoint

    if (value is None and allow_none) or isinstance(value, diffrax.AbstractAdjoint):
        return value
    if isinstance(value, type) and issubclass(value, diffrax.AbstractAdjoint):
        raise bad_argument(name, f"{value.__name__} is a class, not an adjoint", f"pass {value.__name__}()")
    raise bad_argument(
        name,
        f"{value!r} is not a diffrax adjoint",
        "pass e.g. diffrax.RecursiveCheckpointAdjoint() or diffrax.BacksolveAdjoint()"
        + (", or None for the default" if allow_none else ""),
    )


def check_discount(name: str, value) -> float:
    """One rule for every discount ``gamma`` of a return: a real number in (0, 1]."""
    gamma = check_real(name, value, positive=True, example="0.99")
    if gamma > 1:
        raise bad_argument(name, f"{value!r} is not in (0, 1]", "pass e.g. 1.0 or 0.99")
    return gamma


def check_wrt(name: str, value, *, allow_none: bool = False):
    """The form of every ``wrt`` before the ``args`` it selects from are known: ``'y0'``,
    ``'args'`` or a path into args (a string, an int, or a tuple of them); ``None`` where
    ``allow_none``. That the path exists in ``args`` is checked where ``args`` are given."""
    if value is None and allow_none:
        return None
    path = value if isinstance(value, tuple) else (value,)
    if path and all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in path):
        return value
    raise bad_argument(
        name,
        f"{value!r} is not 'y0', 'args' or a path into args",
        "pass e.g. 'y0', 'rho', a dotted path such as 'p.rho', or a tuple of keys"
        + (", or None" if allow_none else ""),
    )


def check_exponents(name: str, value) -> np.ndarray:
    """One rule for every spectrum handed in: a non-empty one-dimensional sequence of
    real numbers, none NaN or +inf (``-inf``, a direction that collapsed exactly, is an
    exponent). Returns it as a float64 array."""
    try:
        if isinstance(value, (str, bytes)):
            raise TypeError
        arr = np.asarray(value)
        ok = (
            arr.ndim == 1
            and arr.size > 0
            and (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer))
        )
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise bad_argument(
            name, f"{value!r} is not a one-dimensional sequence of real numbers", "pass e.g. [0.9, 0.0, -14.6]"
        )
    arr = arr.astype(np.float64)
    if np.any(np.isnan(arr) | (arr == np.inf)):
        raise bad_argument(
            name,
            f"contains NaN or +inf ({arr.tolist()}): a spectrum measured on a run that became non-finite has no value",
            "pass finite exponents (a LyapunovResult whose status is 'nonfinite' reports kaplan_yorke = None)",
        )
    return arr


def check_state(name: str, y, *, prepare=None):
    """The rule for every state handed in (``y0``): its leaves are real numbers or arrays
    (:func:`check_state_values`), cast by ``prepare`` (a simulator's), then finite
    (:func:`check_finite_input`). Returns the prepared state."""
    check_state_values(name, y)
    if prepare is not None:
        y = prepare(y)
    check_finite_input(name, y)
    return y


def check_state_values(name: str, y) -> None:
    """Leaves chaosgrad cannot use, caught before anything runs: complex values (the
    tangent space is real), a state with no floating leaf, a Python list of numbers."""
    leaves = jax.tree_util.tree_leaves(y)
    for x in leaves:
        if not (hasattr(x, "dtype") or isinstance(x, (int, float, complex))) or isinstance(x, (str, bytes)):
            raise bad_argument(
                name,
                f"has a leaf {x!r} (a {type(x).__name__}) that is not a number or an array",
                f"pass arrays, e.g. jnp.asarray({name}, dtype=float)",
            )
    if (
        isinstance(y, (list, tuple))
        and leaves
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in leaves)
    ):
        raise bad_argument(
            name,
            f"is a Python {type(y).__name__} of {len(leaves)} numbers, which is a pytree of {len(leaves)} separate "
            "scalar leaves, not a vector",
            f"pass jnp.asarray({name}) for a vector",
        )
    for x in leaves:
        if jnp.issubdtype(jnp.result_type(x), jnp.complexfloating):
            raise bad_argument(
                name,
                "has complex values; the tangent space is real",
                "split real and imaginary parts into two real leaves (e.g. a dict {'re': ..., 'im': ...})",
            )
    if not float_leaves(y):
        raise bad_argument(
            name,
            "has no floating-point leaves (integer leaves are carried as counters, never cast)",
            f"pass floats, e.g. jnp.asarray({name}, dtype=float)",
        )


def check_finite_input(name: str, tree) -> None:
    """Raise if any floating leaf of a (concrete) input pytree is non-finite."""
    for leaf in float_leaves(tree):
        arr = np.asarray(leaf)
        if not np.all(np.isfinite(arr)):
            raise bad_argument(
                name,
                f"contains {int(np.sum(~np.isfinite(arr)))} non-finite value(s)",
                "pass finite values; a state that becomes non-finite during the run is "
                "reported in the result's status instead",
            )


def leading_size(tree, name: str) -> int:
    sizes = {np.shape(x)[0] if np.ndim(x) else None for x in jax.tree_util.tree_leaves(tree)}
    if len(sizes) != 1 or None in sizes:
        raise bad_argument(
            name,
            f"an ensemble needs a common leading axis on every leaf, found sizes {sizes}",
            "stack the members along axis 0 of every leaf",
        )
    size = sizes.pop()
    assert size is not None  # refused above
    return size
