"""Bundled discrete maps: the logistic map and the Hénon map.

One step is one iteration (``dt = 1``), so exponents are per iteration. ``divergence(y,
args)`` is ``ln|det Df(y)|``, whose average along an orbit equals the sum of the Lyapunov
exponents. ``args`` is a dict of named 0-d arrays in the map's dtype.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from chaosgrad._simulators.base import MapSimulator
from chaosgrad.zoo._build import (
    SPROTT_2003,
    at_defaults,
    initial_state,
    make_args,
    real_parameter,
    settle,
)
from chaosgrad.zoo._system import System, check_numerics

# ---------------------------------------------------------------------------- logistic


def logistic_step(y, args):
    return args["r"] * y * (1.0 - y)


def logistic_divergence(y, args):
    return jnp.log(jnp.abs(args["r"] * (1.0 - 2.0 * y[0])))


def logistic(*, r=4.0, y0=None, dtype="float64") -> System:
    """Logistic map ``x_{n+1} = r x_n (1 - x_n)`` (May, Nature 261, 459, 1976).

    State shape ``(1,)``; default ``r = 4`` from ``x_0 = 0.3``. At ``r = 4`` the map is
    conjugate to the tent map and the exponent is exactly ``ln 2 = 0.693147`` per
    iteration (Ulam & von Neumann 1947). ``divergence = ln|r (1 - 2x)|``.
    """
    dtype = check_numerics(dtype)
    values = {"r": real_parameter("r", r)}
    literature = None
    if at_defaults(values, {"r": 4.0}):
        literature = {"exponents": [float(np.log(2.0))], "source": "exact: conjugacy to the tent map at r = 4"}
    return System(
        name="logistic",
        title=f"Logistic map (r = {values['r']:g})",
        simulator=MapSimulator(logistic_step, dtype=dtype),
        y0=initial_state(y0, (1,), lambda: [0.3], dtype)[0],
        args=make_args(values, dtype),
        equations="x_{n+1} = r x_n (1 - x_n)",
        parameters=values,
        literature=literature,
        divergence=logistic_divergence,
        notes="Exponent ln 2 at r = 4; ln|det Df| = ln|r (1 - 2x)| averages to it along an orbit.",
    )


# ---------------------------------------------------------------------------- Hénon


def henon_step(y, args):
    x, v = y[0], y[1]
    return jnp.stack([1.0 - args["a"] * x**2 + v, args["b"] * x])


def henon_divergence(y, args):
    """``ln|det Df| = ln|b|``, the same at every point."""
    return jnp.log(jnp.abs(args["b"])) + 0.0 * y[0]


def henon(*, a=1.4, b=0.3, y0=None, dtype="float64") -> System:
    """Hénon map ``x' = 1 - a x^2 + y, y' = b x`` (Hénon, Commun. Math. Phys. 50, 69, 1976).

    Defaults ``a = 1.4, b = 0.3``. ``det Df = -b`` everywhere, so the exponents sum to
    ``ln b`` exactly. Literature spectrum ``0.41922, -1.62319`` (Sprott 2003, App. A).
    Default ``y0``: on the attractor, 1000 iterations from (0, 0).
    """
    dtype = check_numerics(dtype)
    values = {"a": real_parameter("a", a), "b": real_parameter("b", b)}
    y0, _ = initial_state(
        y0, (2,), lambda: settle(MapSimulator(henon_step), np.zeros(2), make_args(values, "float64"), 1000.0), dtype
    )
    literature = None
    if at_defaults(values, {"a": 1.4, "b": 0.3}):
        literature = {"exponents": [0.41922, -1.62319], "source": SPROTT_2003}
    return System(
        name="henon",
        title="Hénon map",
        simulator=MapSimulator(henon_step, dtype=dtype),
        y0=y0,
        args=make_args(values, dtype),
        equations="x_{n+1} = 1 - a x_n^2 + y_n; y_{n+1} = b x_n",
        parameters=values,
        literature=literature,
        divergence=henon_divergence,
        notes="Sum of exponents = ln|b| exactly (constant Jacobian determinant -b).",
    )
