"""Capabilities a simulator may carry, as small markers the engines test for.

The engines never test for a concrete simulator class. A cause that needs to change one
thing about the user's numerics asks for the capability instead, so any simulator (the
bundled ones or a user's own) that carries the marker can be ablated the same way.

Every simulator has a float64 twin (``AbstractSimulator.with_dtype``, contract rule 7).
The markers:

- :class:`SwappableAdjoint`: how reverse mode differentiates ``evolve`` can be replaced
  (the adjoint ablation).
- :class:`Refinable`: the step can be refined, and a more accurate discretisation of the
  same physics exists (the default reference of lambda_physical and the discretisation
  ablation).
- :class:`Episodic`: the computation ends (a time limit, a termination); every measurement
  stays within the episode (``_simulators.episodes``).
- :class:`BuiltPrecision`: part of the step computes in the precision it was built in, so
  the float64 twin is not float64 throughout; what needs float64 says what it could not
  measure.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

import equinox as eqx
import numpy as np


class SwappableAdjoint(eqx.Module):
    """Capability: how reverse mode differentiates ``evolve`` can be replaced.

    Rules for implementors:

    1. ``adjoint`` is the current strategy (for diffrax simulators a
       ``diffrax.AbstractAdjoint``).
    2. ``with_adjoint(adjoint)`` returns the same simulator with only the adjoint
       changed: the same step, dt and dtype, so the forward map is unchanged.
    3. ``reverse_through_steps`` is ``True`` when reverse mode through ``evolve`` is
       reverse mode through ``step`` (discretise-then-optimise: the exact derivative of
       the computed map), ``False`` when the adjoint has numerics of its own (for
       example a backsolve that re-integrates the ODE backwards in time).
    4. ``exact_adjoint()`` returns the strategy whose gradient is the exact derivative of
       the same forward computation (for diffrax: ``RecursiveCheckpointAdjoint``).
    5. ``evolve_until(t0, y, args, t1, max_steps, solver_steps=None)`` is ``evolve`` from
       ``t0`` to a traced end time ``t1`` (at most ``max_steps`` steps, static) through
       the current adjoint, so one compiled program serves every horizon. With
       ``solver_steps`` (static) an adaptive solve, forward and reverse, may take at most
       that many internal steps, and a reverse solve that does not get back to ``t0``
       within them gives a non-finite (NaN) gradient for that member instead of the
       partial (finite, wrong) one; raising at run time is accepted too (the engines
       then rerun the batch member by member to find the failing ones).
    6. ``forward_solver_steps(t0, y, args, t1, max_steps)`` (optional, default ``None``)
       is the number of internal solver steps the forward solve to ``t1`` takes (an int
       array), so that the engines can bound the reverse solve (rule 5) by a multiple of
       it; ``None`` when the solve has no internal steps of its own.
    """

    if TYPE_CHECKING:  # rule 1: a field or a property of the implementor

        @property
        def adjoint(self) -> Any: ...

    @abc.abstractmethod
    def with_adjoint(self, adjoint):
        """The same simulator with another adjoint."""

    @property
    @abc.abstractmethod
    def reverse_through_steps(self) -> bool:
        """Whether reverse mode through ``evolve`` is reverse mode through ``step``."""

    @abc.abstractmethod
    def exact_adjoint(self):
        """The discretise-then-optimise strategy for this simulator."""

    @abc.abstractmethod
    def evolve_until(self, t0, y, args, t1, max_steps: int, solver_steps: int | None = None):
        """``evolve`` to a traced end time through the current adjoint."""

    def forward_solver_steps(self, t0, y, args, t1, max_steps: int):
        """Rule 6: internal steps of the forward solve, or ``None``."""
        return None


class Refinable(eqx.Module):
    """Capability: the simulator discretises continuous-time physics with a step that can
    be refined.

    Rules for implementors:

    1. ``with_step(dt)`` returns the same simulator with step ``dt`` (through the
       validated constructor): the same physics, method, dtype and adjoint.
    2. ``accurate_twin()`` returns a more accurate discretisation of the same physics in
       float64 at the current step, with reverse mode through the steps (for diffrax
       simulators: ``Dopri8`` at a constant step with ``RecursiveCheckpointAdjoint``).
       Halving its step converges to the physical flow; chaosgrad halves it until the
       leading exponents stop moving (lambda_physical).
    3. Refining the step must not change the state pytree, so every run can start from
       the same states.

    A simulator without this marker (a map, an RL environment with a fixed physics step)
    is its own physics: its reference is its float64 twin, unless the caller passes one.
    """

    @abc.abstractmethod
    def with_step(self, dt: float):
        """The same simulator with step ``dt``."""

    @abc.abstractmethod
    def accurate_twin(self):
        """A more accurate discretisation of the same physics, float64, same step."""


def refinable(simulator) -> bool:
    return isinstance(simulator, Refinable)


def reverse_through_steps(simulator) -> bool:
    """Whether reverse mode through ``simulator.evolve`` is reverse mode through its steps."""
    return not isinstance(simulator, SwappableAdjoint) or simulator.reverse_through_steps


def adjoint_name(simulator) -> str:
    if isinstance(simulator, SwappableAdjoint):
        return type(simulator.adjoint).__name__
    return "reverse mode through the steps"


class Episodic(eqx.Module):
    """Capability: the user's computation is an episode that ends.

    Rules for implementors:

    1. ``episode_steps`` is the episode's time limit in steps from its start (an ``int``),
       or ``None`` when only a termination condition ends it.
    2. ``steps_taken(y)`` is the number of steps of the episode already taken in state
       ``y`` (an int array; the largest over a batch of states on a leading axis).
    3. After the end (the time limit, or a termination the step detects) the step is the
       identity on the state and adds nothing to any accumulated quantity, so a run past
       the end measures nothing; the engines refuse, before anything runs, a transient, a
       measuring time or horizons that go past ``episode_steps``.
    4. ``with_dtype`` and every other twin keep the episode.
    """

    @property
    @abc.abstractmethod
    def episode_steps(self) -> int | None:
        """The episode's time limit in steps, or ``None``."""

    @abc.abstractmethod
    def steps_taken(self, y):
        """Steps of the episode already taken in ``y``."""


def steps_left(simulator, y) -> int | None:
    """Steps left in the episode of ``y`` (the fewest over a batch), ``None`` when the
    simulator has no time limit."""
    if not isinstance(simulator, Episodic) or simulator.episode_steps is None:
        return None
    return max(0, int(simulator.episode_steps) - int(np.max(np.asarray(simulator.steps_taken(y)))))


class BuiltPrecision(eqx.Module):
    """Capability: part of the step runs in the precision it was built in (a third-party
    environment whose arrays were made in float32 and whose own scans cannot carry
    float64).

    Rules for implementors:

    1. ``float64_limit`` is ``None`` when ``with_dtype("float64")`` computes every part of
       the step in float64; otherwise one sentence saying which part stays in which dtype
       and how to get float64 (for example: build it in a float64 process).
    2. ``with_dtype("float64")`` still returns a working twin that steps the same state
       pytree, with that part in its own precision; the reference is then measured with it
       and says so, and the precision ablation is reported as not measured (it would
       compare a computation with itself).
    """

    @property
    @abc.abstractmethod
    def float64_limit(self) -> str | None:
        """Why the float64 twin is not float64 throughout, or ``None``."""


def float64_limit(simulator) -> str | None:
    return simulator.float64_limit if isinstance(simulator, BuiltPrecision) else None
