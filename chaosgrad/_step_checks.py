"""Checks that trace the user's step once (``jax.eval_shape``): the step must map a state
to a state of the same structure, shapes and dtypes, and a step that cannot be traced on
the caller's ``y0`` and ``args`` is blamed by name with the fix. Nothing is compiled.
"""

from __future__ import annotations

import collections

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._errors import bad_argument
from chaosgrad._simulators.base import AbstractSimulator


def check_step_shapes(simulator: AbstractSimulator, y, args) -> None:
    """The step must map the state to a state of the same structure, shapes and dtypes.

    The check traces ``simulator.step`` abstractly (``jax.eval_shape``). Its outcome
    depends only on the simulator and on the structure, shapes and dtypes of ``y`` and
    ``args``, so a passed check is remembered under that signature and repeated calls
    with the same kind of input do not trace the step again.
    """
    key = _check_key(simulator, y, args)
    if key is not None and key in _CHECKED:
        _CHECKED.move_to_end(key)
        return
    try:
        # equinox's filter: non-array leaves of args (an equinox module's activation
        # functions, flags) are closed over, array leaves abstracted.
        out = eqx.filter_eval_shape(lambda y, a: simulator.step(0.0, y, a), y, args)
    except Exception as exc:  # the user's step cannot run on this y/args: say who is at fault
        raise step_function_error(simulator, exc, y, args) from exc
    expect = jax.tree_util.tree_map(lambda x: (jnp.shape(x), jnp.result_type(x)), y)
    got = jax.tree_util.tree_map(lambda x: (x.shape, x.dtype), out)
    same_tree = jax.tree_util.tree_structure(out) == jax.tree_util.tree_structure(y)  # type: ignore[operator, unused-ignore]
    if not same_tree or expect != got:
        raise bad_argument(
            "y0",
            f"one step maps the state {expect} to {got}; structure, shapes and dtypes must match",
            "make step return a state shaped like its input, and cast y0 to the simulator's dtype",
        )
    if key is not None:
        _CHECKED[key] = None
        while len(_CHECKED) > _CHECKED_MAX:
            _CHECKED.popitem(last=False)


# JAX's errors for Python control flow or NumPy on traced values: the step function's
# fault whatever y0 and args are.
_TRACER_ERRORS = {
    "TracerBoolConversionError": (
        "branches in Python (`if`, `while`, `and`/`or`) on a traced value",
        "use jnp.where(cond, a, b) or jax.lax.cond / jax.lax.while_loop instead of Python control flow",
    ),
    "ConcretizationTypeError": (
        "needs a concrete value of a traced array (Python control flow, a shape or an index computed from the state)",
        "use jnp.where / jax.lax.cond, and keep shapes independent of the state's values",
    ),
    "TracerIntegerConversionError": (
        "converts a traced value to a Python int",
        "index with jnp arrays (jnp.take, jax.lax.dynamic_slice) instead of int(...)",
    ),
    "TracerArrayConversionError": (
        "calls NumPy (or converts to a NumPy array) on a traced value",
        "use jax.numpy (jnp) instead of numpy (np) inside the step",
    ),
}


def _shapes(tree) -> str:
    leaves = [x for x in jax.tree_util.tree_leaves(tree) if hasattr(x, "shape") or isinstance(x, (int, float))]
    return str([tuple(np.shape(x)) for x in leaves][:8]) + (" ..." if len(leaves) > 8 else "")


def step_function_error(simulator, exc: Exception, y, args):
    """The error for a step that raised while being traced on ``(y, args)``: JAX's
    tracer errors blame the user's step function and give the fix; anything else names
    the step function too and says what it was given."""
    name = simulator.step_function_name
    kind = type(exc).__name__
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else kind
    if kind in _TRACER_ERRORS:
        problem, fix = _TRACER_ERRORS[kind]
        return bad_argument(name, f"the step function {problem} ({kind}: {first_line})", fix)
    return bad_argument(
        name,
        f"the step function raised {kind}: {first_line}, on y0 with leaf shapes {_shapes(y)} and args with leaf "
        f"shapes {_shapes(args)}",
        "if y0 and args are what the step function expects, the step function itself is at fault (run it once on "
        "them outside chaosgrad to see); otherwise pass y0 and args of the shapes it expects",
    )


# Signatures of (simulator, y, args) whose step passed check_step_shapes, most recent last.
_CHECKED: collections.OrderedDict = collections.OrderedDict()
_CHECKED_MAX = 256


def _leaf_signature(x, abstract: bool):
    """What the check depends on in one leaf. Arrays: shape, dtype and weak type. Python
    numbers: their type where ``jax.eval_shape`` abstracts them (``abstract``, the leaves
    of ``y`` and ``args``), their value where the step closes over them (the simulator's
    fields). Anything else (functions, flags): the object itself."""
    if isinstance(x, (bool, int, float, complex)):
        return type(x) if abstract else (type(x), x)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return (tuple(x.shape), jnp.dtype(x.dtype).name, bool(getattr(x, "weak_type", False)))
    return x


def _check_key(simulator, y, args):
    """A hashable signature of the inputs of check_step_shapes, or ``None`` if some leaf
    is unhashable (then nothing is remembered). The simulator's array fields enter by
    shape and dtype only: the engine traces them, so their values cannot decide the
    shapes a step it can run produces."""
    parts = [jax.config.jax_enable_x64]  # type: ignore[attr-defined]  # set at run time
    for tree, abstract in ((simulator, False), (y, True), (args, True)):
        leaves, treedef = jax.tree_util.tree_flatten(tree)
        parts.append((treedef, tuple(_leaf_signature(x, abstract) for x in leaves)))
    key = tuple(parts)
    try:
        hash(key)
    except TypeError:
        return None
    return key
