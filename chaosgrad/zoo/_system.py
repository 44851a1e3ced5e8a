"""The bundled-system record: a simulator with its default state, parameters and sources."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
