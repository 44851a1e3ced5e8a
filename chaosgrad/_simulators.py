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
import math
from typing import Any, Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from ._capabilities import SwappableAdjoint
from ._errors import bad_argument
from ._pytree import FlatState, cast_floats
from ._rk import has_unrolled_step, unrolled_rk_step, variational_rk_step

_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
# Smallest stacked array [u; Q^T] for which ODESimulator.tangent_step integrates the
# variational system (see its docstring for the measurements behind the number).
_VARIATIONAL_MIN_SIZE = 8


def _check_dtype(dtype) -> str:
    name = jnp.dtype(dtype).name
    if name not in _FLOAT_DTYPES:
        raise bad_argument("dtype", f"{name!r} is not a floating dtype", f"use one of {_FLOAT_DTYPES}")
    return name


def _check_dt(dt) -> float:
    try:
        value = float(dt)
    except (TypeError, ValueError):
        raise bad_argument("dt", f"{dt!r} is not a number", "pass a positive float") from None
    if not value > 0 or value != value or value == float("inf"):
        raise bad_argument("dt", f"{dt!r} is not a positive finite time", "pass a positive float")
    return value


class AbstractSimulator(eqx.Module):
    """One numerical step of a dynamical system, and its composition over many steps.

    Contract for implementors (rules, all required):

    1. ``step(t, y, args) -> y_next`` advances the state by one numerical step, from time
       ``t`` to ``t + dt``. It is a pure JAX function, differentiable in ``y`` and in the
       floating leaves of ``args`` in both forward (``jax.jvp``) and reverse mode.
    2. ``dt`` is the time one step advances (1 for maps and rollouts counted in steps).
    3. ``y`` may be any pytree. Its floating leaves are the tangent space; other leaves
       (counters, keys) are carried and may change, but not their structure or shapes.
    4. Nothing branches in Python on traced values and nothing raises on non-finite
       values: a blow-up propagates NaN/inf, which chaosgrad records as a finding.
    5. ``evolve(t0, y, args, n_steps)`` is the map a user differentiates in reverse mode.
       The default is a checkpointed ``lax.scan`` of ``step``. Override it only to route
       gradients through a particular adjoint; it must compute the same map as
       ``n_steps`` applications of ``step`` (up to that adjoint's own numerics).
       ``evolve_forward`` is the same map for forward mode (default: ``evolve``).
    6. ``dtype`` is the floating dtype of the state; ``prepare(y)`` casts to it.
    7. ``with_dtype(dtype)`` returns the same simulator in another dtype (used by the
       float64 ablation); ``describe()`` returns a short JSON-able description.
    8. ``tangent_step(t, y, Q, args) -> (y_next, Q_next)`` is one step together with its
       tangent map: ``y_next = step(t, y, args)`` and ``Q_next = D_y step(t, y, args) Q``
       for tangent columns ``Q`` of shape ``(n, k)``, indexed like the flattened floating
       leaves of ``y`` (``jax.flatten_util.ravel_pytree`` order). The default pushes the
       columns through ``step`` with ``jax.jvp``. Override it only with a faster
       formulation of the same map (equal up to round-off), as ``ODESimulator`` does.

    ``MapSimulator`` is the shortest reference implementation.
    """

    dt: eqx.AbstractVar[float]
    dtype: eqx.AbstractVar[str]

    @abc.abstractmethod
    def step(self, t, y, args):
        """One numerical step from ``t`` to ``t + dt``."""

    @abc.abstractmethod
    def with_dtype(self, dtype) -> "AbstractSimulator":
        """The same simulator with states in ``dtype``."""

    def describe(self) -> dict:
        return {"kind": type(self).__name__, "dt": self.dt, "dtype": self.dtype}

    def prepare(self, y):
        """Cast the floating leaves of ``y`` to this simulator's dtype."""
        return cast_floats(y, self.dtype)

    def tangent_step(self, t, y, Q, args):
        """One step of ``y`` and of the tangent columns ``Q`` (rule 8): ``jax.jvp`` of
        ``step`` along each column, ``vmap``-ed so that the step itself runs once."""
        flat, u, rest = FlatState.from_template(y)

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
        return checkpointed_steps(self.step, t0, y, args, n_steps, self.dt)

    def evolve_forward(self, t0, y, args, n_steps: int):
        """The same map as :meth:`evolve`, differentiable with ``jax.jvp``."""
        return self.evolve(t0, y, args, n_steps)


def checkpointed_steps(step, t0, y, args, n_steps: int, dt: float):
    """``n_steps`` applications of ``step(t, y, args)`` with sqrt(n) checkpointing."""
    block = max(1, math.isqrt(max(n_steps, 1)))
    n_blocks, remainder = divmod(n_steps, block)

    def run(t, y, length):
        def body(carry, _):
            t, y = carry
            return (t + dt, step(t, y, args)), None

        return jax.lax.scan(body, (t, y), None, length=length)[0]

    run_block = jax.checkpoint(lambda t, y: run(t, y, block))

    def outer(carry, _):
        return run_block(*carry), None

    carry = (jnp.asarray(t0, jnp.float64), y)
    carry, _ = jax.lax.scan(outer, carry, None, length=n_blocks)
    if remainder:
        carry = run(*carry, remainder)
    return carry[1]


class MapSimulator(AbstractSimulator):
    """A discrete map ``y_{n+1} = step(y_n, args)``.

    Example: the logistic map ``MapSimulator(lambda x, r: r * x * (1 - x))``.
    """

    map_step: Callable
    dt: float = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    def __init__(self, map_step: Callable, *, dt: float = 1.0, dtype="float64"):
        self.map_step = map_step
        self.dt = _check_dt(dt)
        self.dtype = _check_dtype(dtype)

    def __check_init__(self):
        if not callable(self.map_step):
            raise bad_argument(
                "map_step", f"{self.map_step!r} is not callable", "pass a function step(y, args) -> y"
            )

    def step(self, t, y, args):
        del t
        return self.map_step(y, args)

    def with_dtype(self, dtype):
        return _replace(self, dtype=dtype)


class RolloutSimulator(AbstractSimulator):
    """The closed loop of an environment and a policy: an RL rollout as a dynamical system.

    The state is the environment state ``s``; ``args`` holds the policy parameters
    ``theta``. One step is

        a = policy(theta, observe(s)),   s_next = env_step(s, a)   (repeated ``substeps``
        times with the same action when ``substeps > 1``, i.e. action repeat).

    The closed-loop Lyapunov exponents are those of ``s -> env_step(s, policy(theta,
    observe(s)))``; gradients of a return with respect to ``theta`` go through every
    step, as in analytic policy gradients (Metz et al. 2021; Suh et al. 2022).
    """

    env_step: Callable
    policy: Callable
    observe: Callable | None
    substeps: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    def __init__(
        self,
        env_step: Callable,
        policy: Callable,
        *,
        observe: Callable | None = None,
        substeps: int = 1,
        dt: float = 1.0,
        dtype="float64",
    ):
        self.env_step = env_step
        self.policy = policy
        self.observe = observe
        self.substeps = substeps
        self.dt = _check_dt(dt)
        self.dtype = _check_dtype(dtype)

    def __check_init__(self):
        for name in ("env_step", "policy"):
            if not callable(getattr(self, name)):
                raise bad_argument(name, "is not callable", f"pass a function for {name}")
        if self.observe is not None and not callable(self.observe):
            raise bad_argument("observe", "is not callable", "pass observe(state) -> obs or None")
        if not isinstance(self.substeps, int) or self.substeps < 1:
            raise bad_argument("substeps", f"{self.substeps!r} is not a positive int", "pass e.g. 1")

    def action(self, y, args):
        obs = y if self.observe is None else self.observe(y)
        return self.policy(args, obs)

    def step(self, t, y, args):
        del t
        a = self.action(y, args)
        for _ in range(self.substeps):
            y = self.env_step(y, a)
        return y

    def with_dtype(self, dtype):
        return _replace(self, dtype=dtype)

    def describe(self) -> dict:
        return {**super().describe(), "substeps": self.substeps}


class ODESimulator(AbstractSimulator, SwappableAdjoint):
    """An ODE ``dy/dt = vector_field(t, y, args)`` solved with diffrax.

    Arguments:
        vector_field: ``f(t, y, args) -> dy/dt``, any pytree ``y``.
        solver: a diffrax solver (default ``diffrax.Tsit5()``).
        dt: the step. With a constant step (the default) one chaosgrad step is one solver
            step, taken directly with ``solver.step`` so that ``jax.jvp`` works and no
            per-interval ``diffeqsolve`` overhead is paid. With an adaptive
            ``stepsize_controller`` one chaosgrad step is one solve over ``[t, t + dt]``
            and ``dt`` is also the initial step guess.
        stepsize_controller: diffrax controller (default ``ConstantStepSize()``).
        adjoint: how reverse mode differentiates ``evolve`` (default
            ``RecursiveCheckpointAdjoint()``, discretise-then-optimise). Forward-mode
            analyses never use it: diffrax's default adjoint refuses ``jax.jvp``, so
            adaptive steps use ``diffrax.ForwardMode`` and constant steps bypass
            ``diffeqsolve`` altogether.
        dtype: state dtype (default float64).
        max_steps: cap on solver steps per adaptive ``step`` (and per ``evolve`` call with
            an adaptive controller, multiplied by the number of steps).
    """

    vector_field: Callable
    solver: diffrax.AbstractSolver
    dt: float = eqx.field(static=True)
    stepsize_controller: diffrax.AbstractStepSizeController
    adjoint: diffrax.AbstractAdjoint
    dtype: str = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)

    def __init__(
        self,
        vector_field: Callable,
        *,
        solver: diffrax.AbstractSolver | None = None,
        dt: float = 0.01,
        stepsize_controller: diffrax.AbstractStepSizeController | None = None,
        adjoint: diffrax.AbstractAdjoint | None = None,
        dtype="float64",
        max_steps: int = 4096,
    ):
        self.vector_field = vector_field
        self.solver = diffrax.Tsit5() if solver is None else solver
        self.dt = _check_dt(dt)
        self.stepsize_controller = (
            diffrax.ConstantStepSize() if stepsize_controller is None else stepsize_controller
        )
        self.adjoint = diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint
        self.dtype = _check_dtype(dtype)
        self.max_steps = max_steps

    def __check_init__(self):
        if not callable(self.vector_field):
            raise bad_argument(
                "vector_field", "is not callable", "pass a function f(t, y, args) -> dy/dt"
            )
        if not isinstance(self.solver, diffrax.AbstractSolver):
            raise bad_argument("solver", f"{self.solver!r} is not a diffrax solver", "pass e.g. diffrax.Tsit5()")
        if not isinstance(self.stepsize_controller, diffrax.AbstractStepSizeController):
            raise bad_argument(
                "stepsize_controller",
                f"{self.stepsize_controller!r} is not a diffrax step-size controller",
                "pass diffrax.ConstantStepSize() or diffrax.PIDController(rtol=..., atol=...)",
            )
        if not isinstance(self.adjoint, diffrax.AbstractAdjoint):
            raise bad_argument("adjoint", f"{self.adjoint!r} is not a diffrax adjoint", "pass e.g. diffrax.RecursiveCheckpointAdjoint()")
        if not isinstance(self.max_steps, int) or self.max_steps < 1:
            raise bad_argument("max_steps", f"{self.max_steps!r} is not a positive int", "pass e.g. 4096")

    @property
    def constant_step(self) -> bool:
        return isinstance(self.stepsize_controller, diffrax.ConstantStepSize)

    @property
    def terms(self):
        return diffrax.ODETerm(self.vector_field)

    def _time(self, t):
        # The clock runs in the state dtype so that the solver's stage arithmetic
        # (h * k_i) is done in the user's precision, except for 16-bit states: a float16
        # clock cannot resolve t + dt past t = 2048 dt, so 16-bit states get a float32
        # clock, their stage sums are promoted to float32 and the state is rounded back
        # to 16 bits after every step, as in mixed-precision training.
        clock = "float32" if jnp.dtype(self.dtype).itemsize < 4 else self.dtype
        return jnp.asarray(t, clock)

    def step(self, t, y, args):
        t0 = self._time(t)
        t1 = t0 + self.dt
        if self.constant_step and has_unrolled_step(self.solver):
            y1 = unrolled_rk_step(self.solver, self.vector_field, t0, t1 - t0, y, args)
            return self.prepare(y1)
        if self.constant_step:
            state = self.solver.init(self.terms, t0, t1, y, args)
            y1, _, _, _, _ = _jvp_capable(self.solver).step(
                self.terms, t0, t1, y, args, state, False
            )
            return self.prepare(y1)
        sol = diffrax.diffeqsolve(
            self.terms,
            self.solver,
            t0,
            t1,
            self.dt,
            y,
            args,
            stepsize_controller=self.stepsize_controller,
            adjoint=diffrax.ForwardMode(),
            saveat=diffrax.SaveAt(t1=True),
            max_steps=self.max_steps,
            throw=False,
        )
        return self.prepare(jax.tree_util.tree_map(lambda x: x[-1], sol.ys))

    def tangent_step(self, t, y, Q, args):
        """One step and its tangent map (rule 8).

        With a constant step and an explicit Runge–Kutta tableau, the state and the
        tangent columns are integrated together as the variational system
        ``u' = f(u), Q' = Df(u) Q`` with the same tableau
        (:func:`chaosgrad._rk.variational_rk_step`): the same map as ``jax.jvp``
        through :meth:`step`, up to round-off. It is used when the stacked array
        ``[u; Q^T]`` has at least ``_VARIATIONAL_MIN_SIZE`` (8) entries; below that, and
        for other solvers and controllers, the default ``jax.jvp`` is used.

        Why the threshold (RK4 on XLA's CPU backend; ``benchmarks/bench_lyapunov.py``,
        results in ``benchmarks/RESULTS.md``): the stacked form fuses into fewer, larger
        kernels, and from 8 entries up it was never slower: Lorenz-96 with N = 4 to 40,
        single runs and ensembles, 2.2 to 5.4 times faster; Lorenz-63 with all three
        exponents 1.0 to 1.1 times. Below 8 entries the slicing and concatenation cost
        as much as the arithmetic they save: van der Pol (single and ensemble) and a
        256-member Lorenz-63 ensemble with k = 1 ran 1.1 to 1.6 times slower stacked.
        """
        flat, u, rest = FlatState.from_template(y)
        if (
            self._variational_tangents
            and not jax.tree_util.tree_leaves(rest)
            and u.size * (Q.shape[1] + 1) >= _VARIATIONAL_MIN_SIZE
        ):
            return self._variational_tangent_step(t, y, Q, args)
        return super().tangent_step(t, y, Q, args)

    def _variational_tangent_step(self, t, y, Q, args):
        """:meth:`tangent_step` by the variational system, whatever the size (needs a
        constant step, an explicit tableau and a state whose leaves are all floating)."""
        flat, u, rest = FlatState.from_template(y)
        t0 = self._time(t)

        def flat_field(t, u):
            return flat.split(self.vector_field(t, flat.combine(u, rest), args))[0]

        u1, Q1 = variational_rk_step(self.solver, flat_field, t0, (t0 + self.dt) - t0, u, Q)
        return self.prepare(flat.combine(u1, rest)), Q1.astype(Q.dtype)

    @property
    def _variational_tangents(self) -> bool:
        """Whether :meth:`tangent_step` may integrate the variational system."""
        return self.constant_step and has_unrolled_step(self.solver)

    @property
    def discretise_then_optimise(self) -> bool:
        """Constant steps with the default adjoint: reverse mode through the step itself."""
        return self.constant_step and type(self.adjoint) is diffrax.RecursiveCheckpointAdjoint

    @property
    def reverse_through_steps(self) -> bool:
        """Capability rule 3 of :class:`SwappableAdjoint`."""
        return self.discretise_then_optimise

    def with_adjoint(self, adjoint):
        if not isinstance(adjoint, diffrax.AbstractAdjoint):
            raise bad_argument("adjoint", f"{adjoint!r} is not a diffrax adjoint", "pass e.g. diffrax.RecursiveCheckpointAdjoint()")
        return _replace(self, adjoint=adjoint)

    def exact_adjoint(self):
        return diffrax.RecursiveCheckpointAdjoint()

    def evolve_until(self, t0, y, args, t1, max_steps: int):
        """Capability rule 5 of :class:`SwappableAdjoint`: one ``diffeqsolve`` to a traced
        ``t1`` with the user's adjoint."""
        return self._diffeqsolve(t0, y, args, max_steps, self.adjoint, t1=t1)

    def evolve(self, t0, y, args, n_steps: int):
        """Solve over ``n_steps * dt`` as the user's code would.

        With a constant step and ``RecursiveCheckpointAdjoint`` (discretise-then-optimise)
        this is the checkpointed scan of :meth:`step`: the same numbers as diffrax, and
        forward mode works too. Any other adjoint or controller goes through one
        ``diffeqsolve`` with the user's adjoint, so its numerics are what is measured.
        """
        if self.discretise_then_optimise:
            return super().evolve(t0, y, args, n_steps)
        return self._diffeqsolve(t0, y, args, n_steps, self.adjoint)

    def evolve_forward(self, t0, y, args, n_steps: int):
        if self.discretise_then_optimise:
            return super().evolve(t0, y, args, n_steps)
        return self._diffeqsolve(t0, y, args, n_steps, diffrax.ForwardMode())

    def _diffeqsolve(self, t0, y, args, n_steps, adjoint, t1=None):
        """One ``diffeqsolve`` from ``t0`` to ``t1`` (default ``t0 + n_steps dt``);
        ``n_steps`` (static) sizes ``max_steps``, so one compilation serves any traced
        ``t1`` up to it."""
        t0 = self._time(t0)
        t1 = t0 + n_steps * self.dt if t1 is None else self._time(t1)
        if self.constant_step:
            controller, dt0, max_steps = self.stepsize_controller, self.dt, n_steps + 16
        else:
            controller, dt0, max_steps = self.stepsize_controller, self.dt, self.max_steps * n_steps
        sol = diffrax.diffeqsolve(
            self.terms,
            self.solver,
            t0,
            t1,
            dt0,
            y,
            args,
            stepsize_controller=controller,
            adjoint=adjoint,
            saveat=diffrax.SaveAt(t1=True),
            max_steps=max_steps,
            throw=False,
        )
        return self.prepare(jax.tree_util.tree_map(lambda x: x[-1], sol.ys))

    def with_dtype(self, dtype):
        return _replace(self, dtype=dtype)

    def describe(self) -> dict:
        return {
            **super().describe(),
            "solver": type(self.solver).__name__,
            "stepsize_controller": type(self.stepsize_controller).__name__,
            "adjoint": type(self.adjoint).__name__,
        }


def _jvp_capable(solver):
    """diffrax's default checkpointed stage loop refuses ``jax.jvp``; use a plain loop."""
    if isinstance(solver, diffrax.AbstractRungeKutta) and solver.scan_kind is None:
        return eqx.tree_at(lambda s: s.scan_kind, solver, "lax", is_leaf=lambda x: x is None)
    return solver


def _replace(simulator, **changes):
    """A copy of ``simulator`` with some fields changed (equinox modules are frozen)."""
    if "dtype" in changes:
        changes["dtype"] = _check_dtype(changes["dtype"])
    obj = object.__new__(type(simulator))
    for f in dataclasses.fields(simulator):
        object.__setattr__(obj, f.name, changes.get(f.name, getattr(simulator, f.name)))
    return obj


def check_simulator(simulator: Any) -> AbstractSimulator:
    if not isinstance(simulator, AbstractSimulator):
        raise bad_argument(
            "simulator",
            f"{type(simulator).__name__} is not a chaosgrad simulator",
            "wrap your code in ODESimulator, MapSimulator or RolloutSimulator, "
            "or subclass AbstractSimulator",
        )
    return simulator
