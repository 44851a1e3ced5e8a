"""Where a diagnosis's ensemble members start: the extension point for ``members=``.

The verdict judges the user's own computation, so by default its members are the user's
``y0`` and small perturbations of it (:class:`NearStart`), and the physics it is compared
with is measured along the same members over the same horizons (finite-time exponents of
the reference dynamics, ``_spectra.finite_time``). Sampling the attractor after a transient
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
   which the rate's interval must then allow for (``_gradients.fit``).
3. ``starts(simulator, y0, args, *, seed, horizons)`` returns the members' start states
   stacked on axis 0, in the simulator's dtype, member 0 first (``horizons``: the
   measured horizons, increasing); it is called only when ``ergodic`` is ``False`` (the
   attractor's members come from the reference trajectory).
4. ``describe()`` is a short phrase for reports and ``summary()``.
5. A source is immutable and checks its own arguments on construction, naming the
   argument and the fix.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._checks import check_count, check_flag
from chaosgrad._errors import bad_argument


class AbstractMembers(abc.ABC):
    """Where the members of a diagnosis start (see the module docstring's rules)."""

    if TYPE_CHECKING:
        # Read-only (rule 5): a field of most sources, a property of GivenStates.
        @property
        def count(self) -> int: ...

    else:
        count: int
    ergodic: bool
    independent: bool

    def starts(self, simulator, y0, args, *, seed: int, horizons):  # pragma: no cover - rule 3
        raise NotImplementedError

    @abc.abstractmethod
    def describe(self) -> str: ...


def _check_count(count, name="count"):
    return check_count(name, count, minimum=2, example=8)  # the rate's interval needs an ensemble


def _check_like_y0(states, y0) -> None:
    """Each member of ``states`` (axis 0 dropped) has the structure and shapes of ``y0``."""
    one = jax.tree_util.tree_map(lambda x: np.shape(x)[1:], states)
    want = jax.tree_util.tree_map(np.shape, y0)
    # The ignore: jaxlib ships PyTreeDef without stubs, so mypy cannot see its ``!=``.
    if jax.tree_util.tree_structure(states) != jax.tree_util.tree_structure(y0) or one != want:  # type: ignore[operator, unused-ignore]
        raise bad_argument(
            "members",
            f"GivenStates holds states shaped {one} (after the member axis); y0 is shaped {want}",
            "stack states shaped like y0 on a new axis 0",
        )


def _check_flags(members) -> None:
    check_flag("ergodic", members.ergodic)
    check_flag("independent", members.independent)


@dataclass(frozen=True)
class NearStart(AbstractMembers):
    """The user's ``y0`` and ``count - 1`` small perturbations of it along its own
    trajectory (the default).

    Member 0 is ``y0`` itself. Member ``m`` starts on the user's own trajectory ``s_m``
    steps after ``y0`` (``s_m`` drawn uniformly, seeded, from 0 to ``shift`` times the
    shortest horizon) and adds ``scale * s_i * z`` to each tangent component ``u_i``, with
    ``z`` standard normal and ``s_i = max(|u_i|, rms(u))``: relative to each component,
    and to the state's size where a component is zero (a velocity at rest). Leaves outside
    the tangent space (counters, integer states) are not perturbed.

    Why both: the shift puts the members at different phases of what the trajectory does
    periodically (a period-2 cycle's alternating stretch, a libration's oscillating
    projection on the loss), which one start alone would sample at one phase only;
    ``shift = 0.5`` keeps every member inside the first half of the shortest horizon, so
    each one still runs the user's computation. The perturbation separates the members
    where the dynamics do (chaos); ``scale = 1e-3`` keeps them within 0.1% of the user's
    state, far above float32's and float64's round-off (in float16 it is one unit in the
    last place).
    """

    count: int = 8
    scale: float = 1e-3
    shift: float = 0.5
    ergodic: bool = False
    independent: bool = False

    def __post_init__(self):
        _check_count(self.count)
        _check_flags(self)
        for name, value, fix in (
            ("scale", self.scale, "pass e.g. 1e-3 (relative perturbation)"),
            ("shift", self.shift, "pass e.g. 0.5 (of the shortest horizon)"),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value < 1
                or (name == "scale" and value == 0)
            ):
                raise bad_argument(name, f"{value!r} is not in {'(0, 1)' if name == 'scale' else '[0, 1)'}", fix)

    def starts(self, simulator, y0, args, *, seed: int, horizons):
        rng = np.random.default_rng(seed)
        most = int(math.floor(self.shift * float(np.asarray(horizons)[0]) / simulator.dt))
        shifts = np.sort(rng.integers(0, most + 1, size=self.count))
        shifts[0] = 0
        states = along_trajectory(simulator, y0, args, jnp.asarray(np.diff(shifts, prepend=0), jnp.int32))
        members = []
        for m in range(self.count):
            y = jax.tree_util.tree_map(lambda x: x[m], states)
            flat, u, rest = simulator.tangent_space(y)
            u = np.asarray(u, np.float64)
            rms = math.sqrt(float(np.mean(u**2))) if u.size else 0.0
            z = rng.standard_normal(u.size) if m else np.zeros(u.size)
            u = u + self.scale * np.maximum(np.abs(u), rms if rms > 0 else 1.0) * z
            members.append(simulator.prepare(flat.combine(jnp.asarray(u, flat.dtype), rest)))
        return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *members)

    def describe(self) -> str:
        return (
            f"y0 and {self.count - 1} states on its own trajectory within {self.shift:g} of the shortest horizon, "
            f"perturbed by {self.scale:g} of each component (the user's own start)"
        )


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
        _check_flags(self)

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
        _check_flags(self)
        leaves = jax.tree_util.tree_leaves(self.states)
        sizes = {np.shape(x)[0] if np.ndim(x) else None for x in leaves}
        if not leaves or None in sizes or len(sizes) != 1:
            raise bad_argument(
                "states",
                "its leaves do not share a leading (member) axis",
                "stack the start states on axis 0, e.g. jax.tree.map(lambda *x: jnp.stack(x), *states)",
            )
        _check_count(sizes.pop(), "states (its leading axis)")

    @property
    def count(self) -> int:
        return int(np.shape(jax.tree_util.tree_leaves(self.states)[0])[0])

    def starts(self, simulator, y0, args, *, seed: int, horizons):
        return jax.vmap(simulator.restart)(simulator.prepare(self.states))

    def describe(self) -> str:
        return f"{self.count} start states given by the caller"


def as_members(members, y0=None) -> AbstractMembers:
    """``members=`` as a source: an int is :class:`NearStart` with that count. Given
    ``y0``, the states of a :class:`GivenStates` must each be shaped like it."""
    if isinstance(members, GivenStates) and y0 is not None:
        _check_like_y0(members.states, y0)
    if isinstance(members, AbstractMembers):
        return members
    if isinstance(members, type) and issubclass(members, AbstractMembers):
        raise bad_argument("members", f"{members.__name__} is a class, not an instance", f"pass {members.__name__}(8)")
    if isinstance(members, (int, np.integer)) and not isinstance(members, bool):
        return NearStart(_check_count(members, "members"))
    raise bad_argument(
        "members",
        f"{members!r} is neither a count nor a member source",
        "pass e.g. 8, chaosgrad.NearStart(8), chaosgrad.OnAttractor(8) or chaosgrad.GivenStates(batch)",
    )


@eqx.filter_jit
def along_trajectory(simulator, y0, args, gaps):
    """The state after each cumulative gap (steps, traced): one member per gap."""

    def advance(y, n):
        def step(i, carry):
            t, y = carry
            return t + simulator.dt, simulator.step(t, y, args)

        y = jax.lax.fori_loop(0, n, step, (jnp.asarray(0.0, jnp.float64), y))[1]
        return y, y

    # Each member is a new start (rule 11): accumulators such as a running return restart.
    return jax.vmap(simulator.restart)(jax.lax.scan(advance, y0, gaps)[1])


def member_gaps(members: int, steps: int, seed: int = 0) -> np.ndarray:
    """The gaps (in steps) between the members of :func:`make_members` spaced by ``steps``:
    ``steps`` plus a seeded random fraction of it, the first 0 (the member at ``y0``)."""
    jitter = np.random.default_rng(seed).random(int(members))
    gaps = np.round(steps * (1.0 + jitter)).astype(np.int32)
    gaps[0] = 0
    return gaps


def make_members(simulator, y0, args, members: int, spacing: float, *, seed: int = 0, along=None):
    """``members`` initial states along the trajectory from ``y0``, at least ``spacing`` apart.

    Sampling the attractor (rather than perturbing ``y0``) gives independent members
    once ``spacing`` exceeds the decorrelation time, and an unbiased growth rate: the
    median over nearby perturbations of one state inherits that state's finite-time
    exponent. The gaps are ``spacing`` plus a random fraction of it (seeded): a fixed
    stride can be close to a whole number of periods of a limit cycle nobody knows, which
    would put every member at the same phase. The first member is ``y0`` itself. A
    trajectory that blows up gives non-finite members: they are measured (and reported as
    diverged), never refused.
    """
    if not isinstance(members, (int, np.integer)) or members < 1:
        raise bad_argument("members", f"{members!r} is not a positive int", "pass e.g. 8")
    gaps = member_gaps(members, max(1, int(round(spacing / simulator.dt))), seed)
    if along is not None:
        # The caller's way along the same trajectory (diagnose: the reference's compiled
        # loop); each member is a new start (rule 11).
        stacked = along(gaps)
        starts = [simulator.restart(jax.tree_util.tree_map(lambda x: x[i], stacked)) for i in range(int(members))]
        return jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *starts)
    return along_trajectory(simulator, y0, args, jnp.asarray(gaps))
