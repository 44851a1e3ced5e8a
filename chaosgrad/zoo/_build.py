"""What the bundled physical systems share: the rule for real parameters, ``args`` as
named 0-d arrays, default states on the attractor, and the assembly of a flow's
:class:`~chaosgrad.zoo._system.System`.

Dissipative chaotic systems start from a point on their attractor: the default ``y0`` is
the end of a float64 transient (:func:`settle`), whatever numerics the user chose, so that
two solvers are compared from the same state. ``literature`` is set only at the published
parameters (:func:`at_defaults`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._checks import check_finite_input, check_real, check_state_values
from chaosgrad._errors import bad_argument
from chaosgrad._simulators.base import AbstractSimulator
from chaosgrad._simulators.ode import ODESimulator
from chaosgrad._simulators.rk import RK4
from chaosgrad.zoo._system import System

SPROTT_2003 = "Sprott, Chaos and Time-Series Analysis, Oxford University Press (2003), App. A"

# ---------------------------------------------------------------------------- parameters and states


def real_parameter(name: str, value, *, positive: bool = False, nonnegative: bool = False) -> float:
    """``value`` as a finite float, or a :class:`ChaosgradInputError` naming ``name``
    (the package's one rule for reals, ``_checks.check_real``)."""
    return check_real(name, value, positive=positive, nonnegative=nonnegative)


def make_args(values: dict, dtype) -> dict:
    """Parameters as a dict of 0-d arrays in ``dtype`` (differentiable leaves)."""
    return {k: jnp.asarray(v, jnp.dtype(dtype)) for k, v in values.items()}


def at_defaults(values: dict, defaults: dict) -> bool:
    return all(math.isclose(values[k], defaults[k], rel_tol=1e-12) for k in defaults)


@eqx.filter_jit
def _run_steps(simulator, y, args, n_steps: int):
    def body(carry, _):
        t, y = carry
        return (t + simulator.dt, simulator.step(t, y, args)), None

    (_, y), _ = jax.lax.scan(body, (jnp.asarray(0.0, jnp.float64), y), None, length=n_steps)
    return y


def settle(simulator, y0, args, time: float) -> np.ndarray:
    """``y0`` advanced by ``time`` with ``simulator``: a transient onto the attractor.

    Compiled once per simulator structure, so building the same system again is cheap.
    If the transient diverges (parameters without a bounded attractor), ``y0`` itself is
    returned, so that the analyses run and record the blow-up as a finding.
    """
    y = np.asarray(_run_steps(simulator, simulator.prepare(jnp.asarray(y0)), args, int(round(time / simulator.dt))))
    return y if np.all(np.isfinite(y)) else np.asarray(y0, np.float64)


def initial_state(y0, shape: tuple, default: Callable[[], Any], dtype):
    """The user's ``y0`` or ``default()``, as an array of ``shape`` in ``dtype``.

    ``y0`` follows the package's rule for states (``_checks.check_state``: real numbers in
    arrays, not complex, not a Python list of scalars, finite once cast to ``dtype``), then
    must be one array of ``shape``. Returns ``(state, is_default)``; ``default`` is called
    only when ``y0`` is None.
    """
    if y0 is None:
        return jnp.asarray(np.asarray(default(), np.float64), jnp.dtype(dtype)), True
    check_state_values("y0", y0)
    leaves = jax.tree_util.tree_leaves(y0)
    if len(leaves) != 1 or leaves[0] is not y0 or np.shape(y0) != tuple(shape):
        found = f"shape {np.shape(y0)}" if len(leaves) == 1 and leaves[0] is y0 else f"a pytree of {len(leaves)} leaves"
        raise bad_argument(
            "y0", f"is {found}, expected one array of shape {tuple(shape)}", f"pass jnp.asarray of {shape[0]} numbers"
        )
    with np.errstate(over="ignore"):  # a value the dtype cannot hold is refused by name next
        state = jnp.asarray(np.asarray(y0, np.float64), jnp.dtype(dtype))
    check_finite_input("y0", state)
    return state, False


def on_attractor(vector_field, start, values: dict, time: float) -> Callable[[], np.ndarray]:
    """Default-state thunk: ``start`` integrated for ``time`` (float64, RK4, step 0.01)."""

    def default():
        sim = ODESimulator(vector_field, solver=RK4(), dt=0.01)
        return settle(sim, np.asarray(start, np.float64), make_args(values, "float64"), time)

    return default


# ---------------------------------------------------------------------------- assembly


def flow_system(name, title, vector_field, values, y0, dtype, numerics, **fields) -> System:
    """Assemble a :class:`System` for a flow solved with :class:`ODESimulator`."""
    return System(
        name=name,
        title=title,
        y0=y0,
        args=make_args(values, dtype),
        simulator=ODESimulator(vector_field, dtype=dtype, **numerics),
        **fields,
    )


def own_integrator_or_diffrax(
    vector_field, own: Callable[[], AbstractSimulator], *, integrator: str, fix: str, numerics: dict, dtype
) -> AbstractSimulator:
    """The system's own constant-step integrator when ``numerics["solver"]`` is None,
    else ``vector_field`` under that diffrax solver with the other ``numerics``.

    A step-size controller or an adjoint belongs to a diffrax solve: with the system's own
    integrator (named ``integrator`` in the message) it is refused, with ``fix``.
    """
    if numerics["solver"] is None:
        controller, adjoint = numerics["stepsize_controller"], numerics["adjoint"]
        if controller is not None or adjoint is not None:
            raise bad_argument(
                "stepsize_controller" if controller is not None else "adjoint",
                f"applies only to a diffrax solver; {integrator} takes constant steps",
                fix,
            )
        return own()
    return ODESimulator(vector_field, dtype=dtype, **numerics)
