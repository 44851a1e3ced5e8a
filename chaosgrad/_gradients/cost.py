"""What a gradient sweep will cost, counted before it runs.

The all-horizon sweep (``_gradients.sweep``) of ``M`` members over the longest horizon of
``N`` steps runs each member's ``N`` steps forward, recomputes them once block by block
on the way back, and pulls the cotangents of all ``L`` horizon lanes (the plan's
horizons padded, ``_gradients.sweep_blocks.horizon_lanes``) back through every step at
once: ``2 M N`` steps and ``M L N`` vector-Jacobian products, each about as costly as
a step or twice (reverse mode's rule of thumb: Griewank & Walther, Evaluating
Derivatives, 2nd ed., section 4.6). For a large state the products dominate, ``L`` of
them per step per member; a lower bound on their work is ``M L N n`` for an
``n``-dimensional state. :func:`sweep_cost` is that arithmetic, a pure function.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from chaosgrad._checks import leading_size
from chaosgrad._pytree import float_leaves

logger = logging.getLogger("chaosgrad")


@dataclass(frozen=True)
class SweepCost:
    """The counts of :func:`sweep_cost` (every count covers all members)."""

    dimension: int
    members: int
    lanes: int
    steps: int  # of the longest horizon, one member
    forward_steps: int  # steps run forward and recomputed, all members
    vjps: int  # vector-Jacobian products, all members and lanes

    @property
    def vjp_flops(self) -> float:
        """A lower bound on the products' work: ``n`` numbers each."""
        return float(self.vjps) * self.dimension

    def describe(self) -> str:
        return (
            f"{self.members} members x {self.lanes} horizon lanes over {self.steps} steps of a "
            f"{self.dimension}-dimensional state: {self.forward_steps:.3g} steps forward and recomputed, "
            f"{self.vjps:.3g} vector-Jacobian products (>= {self.vjp_flops:.2g} flops)"
        )


def sweep_cost(dimension: int, members: int, lanes: int, steps: int) -> SweepCost:
    """The counts of the module docstring for ``members`` members of a
    ``dimension``-dimensional state, ``lanes`` horizon lanes and a longest horizon of
    ``steps`` steps."""
    n, M, L, N = int(dimension), int(members), int(lanes), int(steps)
    return SweepCost(dimension=n, members=M, lanes=L, steps=N, forward_steps=2 * M * N, vjps=M * L * N)


def members_sweep_cost(y0s, lanes: int, steps: int) -> SweepCost:
    """:func:`sweep_cost` of the members ``y0s`` (a pytree, members on axis 0 of every
    leaf; the dimension counts their floating numbers)."""
    members = leading_size(y0s, "y0s")
    dimension = sum(int(np.size(x)) for x in float_leaves(y0s)) // max(1, members)
    return sweep_cost(dimension, members, lanes, steps)


def log_sweep_cost(cost: SweepCost, *, caller: str) -> None:
    """Log ``cost`` (logger ``chaosgrad``, level INFO), as the spectra's costs are."""
    logger.info("%s: %s", caller, cost.describe())
