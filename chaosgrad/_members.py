"""Where a diagnosis's ensemble members start: the extension point for ``members=``.

The verdict judges the user's own computation, so by default its members are the user's
``y0`` and small perturbations of it (:class:`NearStart`), and the physics it is compared
with is measured along the same members over the same horizons (finite-time exponents of
the reference dynamics, ``_finite_time``). Sampling the attractor after a transient
(:class:`OnAttractor`) answers a different, ergodic question (what a typical state on the
attractor does) and is compared with the asymptotic spectrum; it is a named choice, never
a silent default. A batch the user gives (an environment's reset distribution, data
points) is :class:`GivenStates`.

Contract of a member source (rules for implementers):

1. ``count`` is the number of members (at least 2: the rate's interval needs an ensemble).
2. ``ergodic`` says which physics the members are compared with: ``True`` for states
   sampled on the attractor (the asymptotic spectrum), ``False`` for the user's own
   problem (finite-time exponents along the members). ``independent`` says whether the
   members are independent by construction (far apart on the attractor, or drawn by
   the caller) or may share part of their trajectories (perturbations of one start),
   which the rate's interval must then allow for (``_fit``).
3. ``starts(simulator, y0, args, *, seed)`` returns the members' start states stacked
   on axis 0, in the simulator's dtype, member 0 first; it is called only when
   ``ergodic`` is ``False`` (the attractor's members come from the reference trajectory).
4. ``describe()`` is a short phrase for reports and ``summary()``.
5. A source is immutable and checks its own arguments on construction, naming the
   argument and the fix.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ._errors import bad_argument


class AbstractMembers(abc.ABC):
    """Where the members of a diagnosis start (see the module docstring's rules)."""

    count: int
    ergodic: bool
    independent: bool

    def starts(self, simulator, y0, args, *, seed: int):  # pragma: no cover - rule 3
        raise NotImplementedError

    @abc.abstractmethod
    def describe(self) -> str: ...


def _check_count(count, name="count"):
    if not isinstance(count, (int, np.integer)) or isinstance(count, bool) or count < 2:
        raise bad_argument(name, f"{count!r} is not an int >= 2", "pass e.g. 8 (the rate's interval needs an ensemble)")
    return int(count)


@dataclass(frozen=True)
class NearStart(AbstractMembers):
    """The user's ``y0`` and ``count - 1`` small perturbations of it (the default).

    Member 0 is ``y0`` itself. The others add ``scale * s_i * z`` to each tangent
    component ``u_i`` of ``y0``, with ``z`` standard normal (seeded) and ``s_i =
    max(|u_i|, rms(u))``: relative to each component, and to the state's size where a
    component is zero (a velocity that starts at rest). Leaves outside the tangent space
    (counters, integer states) are copied. ``scale = 1e-3`` keeps every member within
    0.1% of the user's state and far above float32's and float64's round-off (in float16
    it is one unit in the last place), so members differ where the dynamics separate
    them and coincide where it contracts them.
    """

    count: int = 8
    scale: float = 1e-3
    ergodic: bool = False
    independent: bool = False

    def __post_init__(self):
        _check_count(self.count)
        if not isinstance(self.scale, (int, float)) or not 0 < self.scale < 1 or isinstance(self.scale, bool):
            raise bad_argument("scale", f"{self.scale!r} is not in (0, 1)", "pass e.g. 1e-3 (relative perturbation)")

    def starts(self, simulator, y0, args, *, seed: int):
        flat, u, rest = simulator.tangent_space(y0)
        u = np.asarray(u, np.float64)
        rms = math.sqrt(float(np.mean(u**2))) if u.size else 0.0
        size = np.maximum(np.abs(u), rms if rms > 0 else 1.0)
        z = np.random.default_rng(seed).standard_normal((self.count, u.size))
        z[0] = 0.0
        us = u[None, :] + self.scale * size[None, :] * z
        members = [simulator.prepare(flat.combine(jnp.asarray(m, flat.dtype), rest)) for m in us]
        return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *members)

    def describe(self) -> str:
        return f"y0 and {self.count - 1} perturbations of it by {self.scale:g} of each component (the user's own start)"


@dataclass(frozen=True)
class OnAttractor(AbstractMembers):
    """``count`` states along the reference trajectory after the transient, one to two
    longest horizons apart: a sample of the attractor, for ergodic questions (what a
    typical state does), compared with the asymptotic spectrum."""

    count: int = 8
    ergodic: bool = True
    independent: bool = True

    def __post_init__(self):
        _check_count(self.count)

    def describe(self) -> str:
        return f"{self.count} states on the attractor, one to two longest horizons apart after the transient"


@dataclass(frozen=True, eq=False)
class GivenStates(AbstractMembers):
    """The caller's own start states, stacked on axis 0 of every leaf (a batch of initial
    conditions, an environment's resets, data points)."""

    states: object
    ergodic: bool = False
    independent: bool = True

    def __post_init__(self):
        leaves = jax.tree_util.tree_leaves(self.states)
        sizes = {np.shape(x)[0] if np.ndim(x) else None for x in leaves}
        if not leaves or None in sizes or len(sizes) != 1:
            raise bad_argument("states", "its leaves do not share a leading (member) axis",
                               "stack the start states on axis 0, e.g. jax.tree.map(lambda *x: jnp.stack(x), *states)")
        _check_count(sizes.pop(), "states (its leading axis)")

    @property
    def count(self) -> int:
        return int(np.shape(jax.tree_util.tree_leaves(self.states)[0])[0])

    def starts(self, simulator, y0, args, *, seed: int):
        return jax.vmap(simulator.restart)(simulator.prepare(self.states))

    def describe(self) -> str:
        return f"{self.count} start states given by the caller"


def as_members(members) -> AbstractMembers:
    """``members=`` as a source: an int is :class:`NearStart` with that count."""
    if isinstance(members, AbstractMembers):
        return members
    if isinstance(members, type) and issubclass(members, AbstractMembers):
        raise bad_argument("members", f"{members.__name__} is a class, not an instance", f"pass {members.__name__}(8)")
    if isinstance(members, (int, np.integer)) and not isinstance(members, bool):
        return NearStart(_check_count(members, "members"))
    raise bad_argument("members", f"{members!r} is neither a count nor a member source",
                       "pass e.g. 8, chaosgrad.NearStart(8), chaosgrad.OnAttractor(8) or chaosgrad.GivenStates(batch)")
