"""The bundled-system record: a simulator with its default state, parameters and sources."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import diffrax

from chaosgrad._checks import check_adjoint, check_dtype, check_strategy, check_time
from chaosgrad._simulators.base import AbstractSimulator


@dataclass(frozen=True)
class System:
    """A ready-to-analyse system.

    Attributes:
        name: registry id, e.g. ``"lorenz63"``.
        title: human title, e.g. ``"Lorenz-63"``.
        simulator: the simulator at the default numerical settings.
        y0: a default initial state (on or near the attractor where that matters).
        args: parameters, a dict of named floats/arrays so that ``wrt="rho"`` can address
            one of them.
        equations: the equations in plain text.
        parameters: JSON-able description of the default parameters.
        literature: ``{"exponents": [...], "source": "...", "note": "..."}`` or ``None``.
        divergence: ``div(y, args)`` = trace of the Jacobian of the vector field (flows)
            or ``ln|det Df|`` (maps), for the sum rule; ``None`` if not provided.
        reference: a simulator for lambda_physical when the default rule (float64,
            high-order, halved step) does not apply (e.g. an environment with substeps).
    """

    name: str
    title: str
    simulator: AbstractSimulator
    y0: Any
    args: Any
    equations: str
    parameters: dict
    literature: dict | None = None
    divergence: Callable | None = None
    reference: AbstractSimulator | None = None
    notes: str = field(default="")


# The rule of each numerical option a bundled system may take besides ``dtype``.
_NUMERICS = {
    "dt": lambda v: check_time("dt", v, allow_zero=False, example="0.01"),
    "solver": lambda v: check_strategy(
        "solver", v, (diffrax.AbstractSolver,), words=(None,), example="diffrax.Tsit5()"
    ),
    "stepsize_controller": lambda v: check_strategy(
        "stepsize_controller",
        v,
        (diffrax.AbstractStepSizeController,),
        words=(None,),
        example="diffrax.PIDController(rtol=1e-8, atol=1e-8)",
    ),
    "adjoint": lambda v: check_adjoint("adjoint", v),
}


def check_numerics(dtype, **options) -> str:
    """The bundled systems' one check of their numerical options, run first in every
    factory: ``dtype`` (one of the floating dtypes) and each of ``options`` present
    (``dt``, ``solver``, ``stepsize_controller``, ``adjoint``) by its kind's rule. A
    factory may integrate a transient for its default state; a wrong option is refused
    before that runs. Returns the dtype's name."""
    for name, value in options.items():
        _NUMERICS[name](value)
    return check_dtype("dtype", dtype)
