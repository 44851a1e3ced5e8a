"""``ODESimulator``: an ODE solved with diffrax, as a chaosgrad simulator.

It carries both capabilities of :mod:`chaosgrad._simulators.capabilities`: its adjoint can be
swapped (``SwappableAdjoint``) and its step refined (``Refinable``). A solve that fails
(``max_steps`` reached, a minimum step, a failed implicit solve) is a result code of the
step (contract rule 9): the state becomes NaN from that step on and the reason is
recorded, never a silent stall.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._checks import check_adjoint
from chaosgrad._errors import bad_argument
from chaosgrad._pytree import all_finite
from chaosgrad._simulators.arguments import _check_dt, _check_dtype, _check_tangent_arg
from chaosgrad._simulators.base import NONFINITE, SUCCESS, AbstractSimulator, mark_failed, replace_fields
from chaosgrad._simulators.bounded_backsolve import BoundedBacksolveAdjoint
from chaosgrad._simulators.capabilities import Refinable, SwappableAdjoint
from chaosgrad._simulators.rk import has_unrolled_step, unrolled_rk_step, variational_rk_step

# Smallest stacked array [u; Q^T] for which ODESimulator.tangent_step integrates the
# variational system (see its docstring for the measurements behind the number).
_VARIATIONAL_MIN_SIZE = 8


def step_code(result) -> jax.Array:
    """diffrax's ``RESULTS`` as a chaosgrad step code (``STEP_FAILURES``)."""
    R = diffrax.RESULTS
    code = jnp.asarray(5, jnp.int32)
    for item, c in (
        (R.successful, SUCCESS),
        (R.max_steps_reached, 1),
        (R.dt_min_reached, 2),
        (R.nonlinear_max_steps_reached, 3),
        (R.nonlinear_divergence, 3),
        (R.singular, 3),
        (R.nonfinite, NONFINITE),
        (R.event_occurred, SUCCESS),
    ):
        code = jnp.where(result == item, jnp.asarray(c, jnp.int32), code)
    return code


class ODESimulator(AbstractSimulator, SwappableAdjoint, Refinable):
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
            an adaptive controller, multiplied by the number of steps). A step that
            reaches it fails (contract rule 9).
        tangent: optional function from the state to the leaves that carry dynamics
            (contract rule 10).
    """

    vector_field: Callable
    solver: diffrax.AbstractSolver
    # A value, not a static field: the step only enters the arithmetic, so every step size
    # of one solver (the reference's halvings, a step ablation) shares one compiled program.
    dt: float
    stepsize_controller: diffrax.AbstractStepSizeController
    adjoint: diffrax.AbstractAdjoint
    dtype: str = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)
    tangent: Callable | None = eqx.field(static=True)
    step_function_name: ClassVar[str] = "vector_field"

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
        tangent: Callable | None = None,
    ):
        self.vector_field = vector_field
        self.solver = diffrax.Tsit5() if solver is None else solver
        # np.float64 is a Python float (host arithmetic, formatting) and an array to
        # equinox (traced under filter_jit).
        self.dt = np.float64(_check_dt(dt))
        self.stepsize_controller = diffrax.ConstantStepSize() if stepsize_controller is None else stepsize_controller
        self.adjoint = diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint
        self.dtype = _check_dtype(dtype)
        self.max_steps = max_steps
        self.tangent = tangent

    def __check_init__(self):
        if not callable(self.vector_field):
            raise bad_argument("vector_field", "is not callable", "pass a function f(t, y, args) -> dy/dt")
        if not isinstance(self.solver, diffrax.AbstractSolver):
            raise bad_argument("solver", f"{self.solver!r} is not a diffrax solver", "pass e.g. diffrax.Tsit5()")
        if not isinstance(self.stepsize_controller, diffrax.AbstractStepSizeController):
            raise bad_argument(
                "stepsize_controller",
                f"{self.stepsize_controller!r} is not a diffrax step-size controller",
                "pass diffrax.ConstantStepSize() or diffrax.PIDController(rtol=..., atol=...)",
            )
        check_adjoint("adjoint", self.adjoint, allow_none=False)
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int) or self.max_steps < 1:
            raise bad_argument("max_steps", f"{self.max_steps!r} is not a positive int", "pass e.g. 4096")
        _check_tangent_arg(self.tangent)

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
        return jnp.asarray(t, self._clock)

    @property
    def _clock(self) -> str:
        return "float32" if jnp.dtype(self.dtype).itemsize < 4 else self.dtype

    def _h(self):
        """The step in the clock's dtype (``dt`` may be a traced float64)."""
        return jnp.asarray(self.dt, self._clock)

    def step(self, t, y, args):
        return mark_failed(*self.advance(t, y, args))

    def advance(self, t, y, args):
        """One step and its result code (rule 9): constant steps cannot fail; an adaptive
        solve over ``[t, t + dt]`` fails when diffrax does (``max_steps``, ``dtmin``...)."""
        t0 = self._time(t)
        t1 = t0 + self._h()
        ok = jnp.asarray(SUCCESS, jnp.int32)
        if self.constant_step and has_unrolled_step(self.solver):
            y1 = unrolled_rk_step(self.solver, self.vector_field, t0, t1 - t0, y, args)
            return self.prepare(y1), ok
        # Solvers with linear solves inside (implicit methods) raise on non-finite input
        # (lineax's checks) instead of propagating it: they are given a finite stand-in,
        # and the result is marked failed again (rule 4: a blow-up propagates, never raises).
        finite = all_finite(y)
        y_in = jax.tree_util.tree_map(lambda x: jnp.where(finite, x, jnp.zeros_like(x)), y)
        if self.constant_step:
            state = self.solver.init(self.terms, t0, t1, y_in, args)
            y1, _, _, _, result = _jvp_capable(self.solver).step(self.terms, t0, t1, y_in, args, state, False)
            return self.prepare(mark_failed(y1, jnp.where(finite, SUCCESS, NONFINITE))), step_code(result)
        sol = diffrax.diffeqsolve(
            self.terms,
            self.solver,
            t0,
            t1,
            self._h(),
            y_in,
            args,
            stepsize_controller=self.stepsize_controller,
            adjoint=diffrax.ForwardMode(),
            saveat=diffrax.SaveAt(t1=True),
            max_steps=self.max_steps,
            throw=False,
        )
        y1 = jax.tree_util.tree_map(lambda x: x[-1], sol.ys)
        return self.prepare(mark_failed(y1, jnp.where(finite, SUCCESS, NONFINITE))), step_code(sol.result)

    def tangent_step(self, t, y, Q, args):
        """One step and its tangent map (rule 8).

        With a constant step and an explicit Runge–Kutta tableau, the state and the
        tangent columns are integrated together as the variational system
        ``u' = f(u), Q' = Df(u) Q`` with the same tableau
        (:func:`chaosgrad._simulators.rk.variational_rk_step`): the same map as ``jax.jvp``
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
        flat, u, rest = self.tangent_space(y)
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
        flat, u, rest = self.tangent_space(y)
        t0 = self._time(t)

        def flat_field(t, u):
            return flat.split(self.vector_field(t, flat.combine(u, rest), args))[0]

        u1, Q1 = variational_rk_step(self.solver, flat_field, t0, (t0 + self._h()) - t0, u, Q)
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
            raise bad_argument(
                "adjoint", f"{adjoint!r} is not a diffrax adjoint", "pass e.g. diffrax.RecursiveCheckpointAdjoint()"
            )
        return replace_fields(self, adjoint=adjoint)

    def exact_adjoint(self):
        return diffrax.RecursiveCheckpointAdjoint()

    def evolve_until(self, t0, y, args, t1, max_steps: int, solver_steps: int | None = None):
        """Capability rule 5 of :class:`SwappableAdjoint`: one ``diffeqsolve`` to a traced
        ``t1`` with the user's adjoint; with ``solver_steps``, a ``BacksolveAdjoint``'s
        reverse solve is bounded by it and gives NaN, member by member, when it does not
        reach ``t0`` (:class:`~chaosgrad._simulators.bounded_backsolve.BoundedBacksolveAdjoint`)."""
        adjoint = self.adjoint
        if solver_steps is not None and isinstance(adjoint, diffrax.BacksolveAdjoint):
            own = adjoint.kwargs.get("max_steps")
            budget = solver_steps if own is None else min(own, solver_steps)
            adjoint = BoundedBacksolveAdjoint(**{**adjoint.kwargs, "max_steps": budget})
        return self._diffeqsolve(t0, y, args, max_steps, adjoint, t1=t1, solver_steps=solver_steps)

    def forward_solver_steps(self, t0, y, args, t1, max_steps: int):
        """Capability rule 6: the adaptive forward solve's accepted and rejected steps."""
        if self.constant_step:
            return None
        sol = self._solve(t0, y, args, max_steps, diffrax.ForwardMode(), t1=t1)
        return sol.stats["num_steps"]

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

    def _diffeqsolve(self, t0, y, args, n_steps, adjoint, t1=None, solver_steps=None):
        """The state at ``t1`` of :meth:`_solve`, failed (NaN) when the solve failed."""
        sol = self._solve(t0, y, args, n_steps, adjoint, t1=t1, solver_steps=solver_steps)
        return self.prepare(mark_failed(jax.tree_util.tree_map(lambda x: x[-1], sol.ys), step_code(sol.result)))

    def _solve(self, t0, y, args, n_steps, adjoint, t1=None, solver_steps=None):
        """One ``diffeqsolve`` from ``t0`` to ``t1`` (default ``t0 + n_steps dt``);
        ``n_steps`` (static) sizes ``max_steps`` (or ``solver_steps`` when given), so one
        compilation serves any traced ``t1`` up to it."""
        t0 = self._time(t0)
        t1 = t0 + jnp.asarray(n_steps * self.dt, self._clock) if t1 is None else self._time(t1)
        y = self.prepare(y)
        if self.constant_step:
            controller, dt0, max_steps = self.stepsize_controller, self._h(), n_steps + 16
        else:
            controller, dt0, max_steps = self.stepsize_controller, self._h(), self.max_steps * n_steps
            if solver_steps is not None:
                max_steps = min(max_steps, int(solver_steps))
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
        return sol

    def with_dtype(self, dtype):
        return replace_fields(self, dtype=dtype)

    def with_step(self, dt):
        """Capability rule 1 of :class:`Refinable`."""
        return replace_fields(self, dt=dt)

    def accurate_twin(self):
        """Capability rule 2 of :class:`Refinable`: Dopri8 at a constant step, float64,
        discretise-then-optimise."""
        return replace_fields(
            self,
            solver=diffrax.Dopri8(),
            stepsize_controller=diffrax.ConstantStepSize(),
            adjoint=diffrax.RecursiveCheckpointAdjoint(),
            dtype="float64",
        )

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
