"""Simulators: the one extension point of chaosgrad.

Every case chaosgrad analyses (an ODE solved numerically, a discrete map, an RL
environment closed with a policy, a deep network read layer by layer) is an evolution
operator ``Phi(t0 -> t0 + n dt; y, args)`` built from one numerical step. The Lyapunov
engine advances tangent columns with ``tangent_step`` (by default ``jax.jvp`` through
``step``); the gradient engine differentiates ``evolve`` in reverse mode, exactly as a
user's training loop would.
"""

from __future__ import annotations

import abc
import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from chaosgrad._errors import bad_argument
from chaosgrad._pytree import FlatState, as_arrays, cast_floats
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._simulators.arguments import _check_dt, _check_dtype, _check_tangent_arg
from chaosgrad._simulators.stepping import checkpointed_steps, clock

# Result codes of one step (rule 9). 0 is success; the messages say what failed and how to
# fix it. Codes are int32 scalars so that they can be carried through a compiled loop.
SUCCESS = 0
NONFINITE = 4
STEP_FAILURES = {
    1: "the solver reached its max_steps before the end of the step (raise max_steps, or loosen rtol/atol)",
    2: "the solver's step size fell below its minimum (the system is stiff here: use an implicit solver)",
    3: "the solver's nonlinear or linear solve failed (raise its iteration budget or shorten dt)",
    NONFINITE: "the solver reported non-finite values inside the step",
    5: "the solver reported a failure",
}


def failure_message(code: int) -> str:
    return STEP_FAILURES.get(int(code), f"the step failed with code {int(code)}")


def mark_failed(y, code):
    """``y`` where ``code`` is success, else every floating leaf set to NaN: a failed step
    ends the trajectory visibly (the engines record where), never by a silent stall."""
    failed = jnp.asarray(code) != SUCCESS
    return jax.tree_util.tree_map(
        lambda x: (
            jnp.where(failed, jnp.asarray(jnp.nan, x.dtype), x)
            if jnp.issubdtype(jnp.result_type(x), jnp.inexact)
            else x
        ),
        y,
    )


class AbstractSimulator(eqx.Module):
    """One numerical step of a dynamical system, and its composition over many steps.

    Contract for implementors (rules, all required; ``tests/test_conformance.py`` checks
    every rule for every simulator class listed there: add yours with one line):

    1. ``step(t, y, args) -> y_next`` advances the state by one numerical step, from time
       ``t`` to ``t + dt``. It is a pure JAX function, differentiable in ``y`` and in the
       floating leaves of ``args`` in forward mode (``jax.jvp``); reverse mode goes
       through ``evolve`` (rule 5), which for most simulators is a scan of ``step`` (an
       adaptive diffrax solve is differentiated in reverse only through its adjoint).
    2. ``dt`` is the time one step advances (1 for maps and rollouts counted in steps).
    3. ``y`` may be any pytree. Its floating leaves are the tangent space, or those that
       ``tangent(y)`` selects (rule 10); other leaves (counters, keys, passive records)
       are carried and may change, but not their structure, shapes or dtypes.
    4. Nothing branches in Python on traced values and nothing raises on non-finite
       values: a blow-up propagates NaN/inf, which chaosgrad records as a finding.
    5. ``evolve(t0, y, args, n_steps)`` is the map a user differentiates in reverse mode.
       The default is a checkpointed ``lax.scan`` of ``step``. Override it only to route
       gradients through a particular adjoint; it must compute the same map as
       ``n_steps`` applications of ``step`` (up to that adjoint's own numerics).
       ``evolve_forward`` is the same map for forward mode (default: ``evolve``).
    6. ``dtype`` is the floating dtype of the state; ``prepare(y)`` casts to it (and turns
       Python numbers into arrays).
    7. ``with_dtype(dtype)`` returns the same simulator in another dtype (its float64 twin
       is what the precision ablation runs); ``describe()`` returns a short JSON-able
       description. Variants are built through the validated constructor
       (:func:`replace_fields`), never by bypassing ``__init__``.
    8. ``tangent_step(t, y, Q, args) -> (y_next, Q_next)`` is one step together with its
       tangent map: ``y_next = step(t, y, args)`` and ``Q_next = D_y step(t, y, args) Q``
       for tangent columns ``Q`` of shape ``(n, k)``, indexed like the flattened tangent
       leaves of ``y`` (:meth:`tangent_space`). The default pushes the columns through
       ``step`` with ``jax.jvp``. Override it only with a faster formulation of the same
       map (equal up to round-off), as ``ODESimulator`` does.
    9. A step that can fail (an adaptive solve that runs out of steps, an iterative solve
       that does not converge) overrides ``advance(t, y, args) -> (y_next, code)`` with
       an int32 ``code`` (``SUCCESS`` = 0, else a key of ``STEP_FAILURES``), and its
       ``step`` returns ``mark_failed(*advance(...))``: NaN from the failed step on, so
       the engines record where the trajectory ended and :func:`first_failure` says why.
       The default ``advance`` is ``(step(...), SUCCESS)``.
    10. ``tangent`` (optional, default ``None``: every floating leaf) is a function from
        the state to the leaves that carry dynamics, e.g. ``lambda s: (s.q, s.qd)``;
        passive or derived leaves (a record of the last action, kinematics recomputed
        from the coordinates, a running return) are then carried, not measured.

    11. ``restart(y)`` (optional, default: ``y``) is ``y`` as the start of a new
        measurement: records that accumulate along a trajectory (a running return) are
        reset, the dynamics' leaves are unchanged. Members sampled along a trajectory are
        restarted before their gradients are measured.

    ``MapSimulator`` is the shortest reference implementation.
    """

    dt: eqx.AbstractVar[float]
    dtype: eqx.AbstractVar[str]
    # The name of the user's function that ``step`` calls, for error messages.
    step_function_name: ClassVar[str] = "step"
    # Where the user's ``tangent=`` function starts in the state (adapters wrap the
    # environment's state in their own), so that leaf names are given as the user writes them.
    tangent_root: ClassVar[str] = ""

    @abc.abstractmethod
    def step(self, t, y, args):
        """One numerical step from ``t`` to ``t + dt``."""

    @abc.abstractmethod
    def with_dtype(self, dtype) -> AbstractSimulator:
        """The same simulator with states in ``dtype``."""

    def advance(self, t, y, args):
        """One step and its result code (rule 9); the default step cannot fail."""
        return self.step(t, y, args), jnp.asarray(SUCCESS, jnp.int32)

    def describe(self) -> dict:
        return {"kind": type(self).__name__, "dt": float(self.dt), "dtype": self.dtype}

    def restart(self, y):
        """Rule 11: ``y`` as the start of a new measurement (default: unchanged)."""
        return y

    def prepare(self, y):
        """Cast the floating leaves of ``y`` to this simulator's dtype; Python numbers
        become arrays (a step may return ``reward=1.0``)."""
        return cast_floats(as_arrays(y), self.dtype)

    @property
    def tangent_selector(self) -> Callable | None:
        """Rule 10: the user's ``tangent`` function, or ``None`` for every floating leaf."""
        return getattr(self, "tangent", None)

    def tangent_space(self, y) -> tuple[FlatState, jax.Array, Any]:
        """``(flat, u, rest)``: the tangent leaves of ``y`` flattened to ``u`` and the rest."""
        return FlatState.from_template(y, self.tangent_selector)

    def tangent_step(self, t, y, Q, args):
        """One step of ``y`` and of the tangent columns ``Q`` (rule 8): ``jax.jvp`` of
        ``step`` along each column, ``vmap``-ed so that the step itself runs once."""
        flat, u, rest = self.tangent_space(y)

        def f(u):
            return flat.split(self.step(t, flat.combine(u, rest), args))

        def push(v):
            return jax.jvp(f, (u,), (v,), has_aux=True)

        u1, Q1, rest1 = jax.vmap(push, in_axes=1, out_axes=(None, 1, None))(Q)
        return flat.combine(u1, rest1), Q1

    def evolve(self, t0, y, args, n_steps: int):
        """``Phi(t0 -> t0 + n_steps dt; y, args)`` as a two-level checkpointed scan of ``step``.

        The steps are grouped into about sqrt(n) blocks of about sqrt(n) steps; reverse
        mode stores only the block-start states and recomputes one block at a time
        (Griewank & Walther 2000, two-level checkpointing), so memory grows like sqrt(n)
        instead of n, for one extra forward pass. Forward mode (``jax.jvp``) works too.
        """
        return checkpointed_steps(self.step, t0, self.prepare(y), args, n_steps, self.dt)

    def evolve_forward(self, t0, y, args, n_steps: int):
        """The same map as :meth:`evolve`, differentiable with ``jax.jvp``."""
        return self.evolve(t0, y, args, n_steps)


@eqx.filter_jit
def _first_failure(simulator, y0, args, n_steps: int):
    def body(carry, _):
        t, y, first, code = carry
        y1, c = simulator.advance(t, y, args)
        failed_now = (c != SUCCESS) & (first < 0)
        first = jnp.where(failed_now, jnp.round(t / simulator.dt).astype(jnp.int32), first)
        code = jnp.where(failed_now, c, code)
        return (t + simulator.dt, mark_failed(y1, c), first, code), None

    start = (clock(0.0), y0, jnp.asarray(-1, jnp.int32), jnp.asarray(SUCCESS, jnp.int32))
    (_, _, first, code), _ = jax.lax.scan(body, start, None, length=n_steps)
    return first, code


@float64_scope
def first_failure(simulator, y0, args, n_steps: int) -> tuple[int, str] | None:
    """``(step index, reason)`` of the first step whose result code is not success within
    ``n_steps`` steps from ``y0``, or ``None`` (rule 9). One forward pass of ``advance``."""
    from chaosgrad._checks import check_count, check_state, check_step_shapes  # _checks imports this module

    simulator = check_simulator(simulator)
    y0 = check_state("y0", y0, prepare=simulator.prepare)
    check_step_shapes(simulator, y0, args)
    if check_count("n_steps", n_steps, minimum=0, example=100) == 0:
        return None
    first, code = (int(x) for x in _first_failure(simulator, y0, args, int(n_steps)))
    return None if first < 0 else (first, failure_message(code))


class MapSimulator(AbstractSimulator):
    """A discrete map ``y_{n+1} = step(y_n, args)``.

    Example: the logistic map ``MapSimulator(lambda x, r: r * x * (1 - x))``.
    """

    map_step: Callable
    dt: float = eqx.field(static=True)
    dtype: str = eqx.field(static=True)
    tangent: Callable | None = eqx.field(static=True)
    step_function_name: ClassVar[str] = "map_step"

    def __init__(self, map_step: Callable, *, dt: float = 1.0, dtype="float64", tangent: Callable | None = None):
        self.map_step = map_step
        self.dt = _check_dt(dt)
        self.dtype = _check_dtype(dtype)
        self.tangent = tangent

    def __check_init__(self):
        if not callable(self.map_step):
            raise bad_argument("map_step", f"{self.map_step!r} is not callable", "pass a function step(y, args) -> y")
        _check_tangent_arg(self.tangent)

    def step(self, t, y, args):
        del t
        return self.prepare(self.map_step(y, args))

    def with_dtype(self, dtype):
        return replace_fields(self, dtype=dtype)

    @staticmethod
    def from_step_size(step_factory: Callable, *, dt: float, dtype="float64", tangent: Callable | None = None):
        """A map whose step has a step size of its own that can be refined:
        ``step_factory(h)`` returns ``step(y, args) -> y`` of size ``h`` (a velocity-Verlet
        or backward-Euler step written by others). The result is a
        :class:`~chaosgrad._simulators.step_size_map.StepSizeMapSimulator`, which carries
        :class:`~chaosgrad.Refinable`: its reference and the discretisation ablation halve
        ``h``, so discretisation is a testable cause (``MapSimulator(step, dt=h)`` is its
        own physics).

        Example: ``MapSimulator.from_step_size(lambda h: partial(verlet, h=h), dt=0.05)``.
        """
        from chaosgrad._simulators.step_size_map import StepSizeMapSimulator

        return StepSizeMapSimulator(step_factory, dt=dt, dtype=dtype, tangent=tangent)


class RolloutSimulator(AbstractSimulator):
    """The closed loop of an environment and a policy: an RL rollout as a dynamical system.

    The state is the environment state ``s``; ``args`` holds the policy parameters
    ``theta``. One step is

        a = policy(theta, observe(s)),   s_next = env_step(s, a)   (repeated ``substeps``
        times with the same action when ``substeps > 1``, i.e. action repeat).

    The closed-loop Lyapunov exponents are those of ``s -> env_step(s, policy(theta,
    observe(s)))``; gradients of a return with respect to ``theta`` go through every
    step, as in analytic policy gradients (Metz et al. 2021; Suh et al. 2022). For
    environments with keys, rewards and auto-reset (gymnax, Brax) use the adapters in
    :mod:`chaosgrad.envs`, which build on this class.
    """

    env_step: Callable
    policy: Callable
    observe: Callable | None
    substeps: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    dtype: str = eqx.field(static=True)
    tangent: Callable | None = eqx.field(static=True)
    step_function_name: ClassVar[str] = "env_step"

    def __init__(
        self,
        env_step: Callable,
        policy: Callable,
        *,
        observe: Callable | None = None,
        substeps: int = 1,
        dt: float = 1.0,
        dtype="float64",
        tangent: Callable | None = None,
    ):
        self.env_step = env_step
        self.policy = policy
        self.observe = observe
        self.substeps = substeps
        self.dt = _check_dt(dt)
        self.dtype = _check_dtype(dtype)
        self.tangent = tangent

    def __check_init__(self):
        for name in ("env_step", "policy"):
            if not callable(getattr(self, name)):
                raise bad_argument(name, "is not callable", f"pass a function for {name}")
        if self.observe is not None and not callable(self.observe):
            raise bad_argument("observe", "is not callable", "pass observe(state) -> obs or None")
        if isinstance(self.substeps, bool) or not isinstance(self.substeps, int) or self.substeps < 1:
            raise bad_argument("substeps", f"{self.substeps!r} is not a positive int", "pass e.g. 1")
        _check_tangent_arg(self.tangent)

    def action(self, y, args):
        obs = y if self.observe is None else self.observe(y)
        return self.policy(args, obs)

    def step(self, t, y, args):
        del t
        a = self.action(y, args)
        for _ in range(self.substeps):
            y = self.prepare(self.env_step(y, a))
        return y

    def with_dtype(self, dtype):
        return replace_fields(self, dtype=dtype)

    def describe(self) -> dict:
        return {**super().describe(), "substeps": self.substeps}


def replace_fields(simulator, **changes):
    """A copy of ``simulator`` with some fields changed, built through its constructor so
    that every argument check runs again (``replace_fields(sim, dt=-1.0)`` raises).

    The constructor's parameters are matched to fields by name; a field the constructor
    does not take is copied as it is.
    """
    cls = type(check_simulator(simulator))
    fields = {f.name: getattr(simulator, f.name) for f in dataclasses.fields(simulator)}
    unknown = set(changes) - set(fields)
    if unknown:
        raise bad_argument(
            "changes", f"{sorted(unknown)} are not fields of {cls.__name__}", f"change one of {sorted(fields)}"
        )
    fields.update(changes)
    params = inspect.signature(cls.__init__).parameters
    accepts_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    positional, keyword = [], {}
    for name, p in list(params.items())[1:]:
        if name not in fields:
            continue
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY,):
            positional.append(fields.pop(name))
        else:
            keyword[name] = fields.pop(name)
    if accepts_all:
        keyword.update(fields)
        fields = {}
    obj = cls(*positional, **keyword)
    # Fields the constructor derives or does not take: copied (they are not arguments the
    # caller could have got wrong).
    for name, value in fields.items():
        if name in changes:
            raise bad_argument(
                "changes", f"{cls.__name__}.__init__ does not take {name!r}", "change a constructor argument instead"
            )
        object.__setattr__(obj, name, value)
    return obj


def check_simulator(simulator: Any) -> AbstractSimulator:
    if not isinstance(simulator, AbstractSimulator):
        raise bad_argument(
            "simulator",
            f"{type(simulator).__name__} is not a chaosgrad simulator",
            "wrap your code in ODESimulator, MapSimulator or RolloutSimulator, "
            "use an adapter from chaosgrad.envs, or subclass AbstractSimulator",
        )
    return simulator
