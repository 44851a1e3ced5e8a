"""The keyword block shared by the horizon measurements (:func:`~chaosgrad.gradient_growth`,
:func:`~chaosgrad.curvature`, :func:`~chaosgrad.gradient_noise`): one options object,
checked before anything runs, and the members it prepares.

The public functions keep their keyword signatures; each builds a :class:`HorizonOptions`
from them, so the checks and the ensemble are the same for all three.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from chaosgrad._checks import (
    check_callable,
    check_count,
    check_flag,
    check_probability,
    check_seed,
    check_state,
    check_time,
)
from chaosgrad._gradients.horizons import HorizonPlan, check_horizons, plan_horizons
from chaosgrad._gradients.losses import as_loss, check_scalar_loss
from chaosgrad._gradients.members import make_members, member_gaps
from chaosgrad._gradients.wrt import resolve_wrt
from chaosgrad._pytree import floats_as_arrays
from chaosgrad._simulators.base import check_simulator
from chaosgrad._simulators.episodes import check_horizons_in_episode, check_members_in_episode
from chaosgrad._simulators.probe import check_closed_tangent
from chaosgrad._spectra.lyapunov import check_finite_input, check_step_shapes


@dataclass(frozen=True)
class HorizonOptions:
    """What a horizon measurement is asked for, besides the set-up and the loss.

    Attributes (as documented on :func:`~chaosgrad.gradient_growth`): ``horizons``,
    ``wrt``, ``members`` (``examples`` for gradient noise), ``spacing``, ``transient``,
    ``ensemble``, ``confidence``, ``seed`` and ``progress``. ``confidence`` and
    ``progress`` are checked here; the rest by :meth:`prepare`, against the simulator.
    """

    horizons: Any
    wrt: Any = "y0"
    members: int = 8
    spacing: float | None = None
    transient: float = 0.0
    ensemble: bool = False
    confidence: float = 0.95
    seed: int = 0
    progress: Callable | None = None

    def __post_init__(self):
        object.__setattr__(self, "confidence", check_probability("confidence", self.confidence))
        check_callable("progress", self.progress, signature="progress(label, done, total)")

    def report(self, label: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(label, done, total)

    def prepare(self, simulator, y0, args, loss, *, plan: bool = True):
        """``(simulator, y0s, args, sel, loss, plan)``: :func:`prepare_measurement` on these options."""
        return prepare_measurement(
            simulator,
            y0,
            args,
            loss=loss,
            horizons=self.horizons,
            wrt=self.wrt,
            members=self.members,
            spacing=self.spacing,
            transient=self.transient,
            ensemble=self.ensemble,
            seed=self.seed,
            plan=plan,
        )


def prepare_measurement(
    simulator, y0, args, *, loss, horizons, wrt, members, spacing, transient, ensemble, seed, plan=True
):
    """The checks and the ensemble shared by every horizon measurement (gradient growth,
    curvature, gradient noise): ``(simulator, y0s, args, sel, loss, plan)``, members on
    axis 0 of ``y0s``. Every argument is checked before anything runs. ``plan=False``
    returns the caller's horizons as step counts (one or more) instead of a block plan."""
    simulator, y0, args, seed = checked_inputs(simulator, y0, args, seed)
    ensemble = check_flag("ensemble", ensemble)
    sel = resolve_wrt(wrt, args)
    loss = as_loss(loss)
    plan = plan_horizons(horizons, simulator.dt) if plan else check_horizons(horizons, simulator.dt, least=1)
    one = jax.tree_util.tree_map(lambda x: x[0], y0) if ensemble else y0
    check_step_shapes(simulator, one, args)
    check_closed_tangent(simulator, one, args)
    check_scalar_loss(loss, one)
    if not ensemble:
        members = check_count("members", members, example=8)
    check_time("spacing", spacing, allow_none=True, allow_zero=False, example="the longest horizon")
    check_time("transient", transient, example="0.0")
    # Within the episode of y0 (``_simulators.episodes``): horizons, transient and members.
    h_steps = int(plan.blocks[-1] * plan.b) if isinstance(plan, HorizonPlan) else int(plan[-1])
    tr_steps = max(1, int(round(transient / simulator.dt))) if transient > 0 else 0
    check_horizons_in_episode(simulator, y0, h_steps, 0 if ensemble else tr_steps)
    if ensemble:
        return simulator, jax.vmap(simulator.restart)(y0), args, sel, loss, plan
    space = max(1, int(round((h_steps * simulator.dt if spacing is None else spacing) / simulator.dt)))
    check_members_in_episode(
        simulator,
        y0,
        gaps=member_gaps(members, space, seed),
        horizon_steps=h_steps,
        transient_steps=tr_steps,
        at_most=lambda n: member_gaps(n, space, seed),
    )
    if transient > 0:
        y0 = simulator.evolve(0.0, y0, args, max(1, int(round(transient / simulator.dt))))
    t_max = float(plan.times(simulator.dt)[-1]) if isinstance(plan, HorizonPlan) else float(plan[-1] * simulator.dt)
    y0s = make_members(simulator, y0, args, members, t_max if spacing is None else spacing, seed=seed)
    return simulator, y0s, args, sel, loss, plan


def checked_inputs(simulator, y0, args, seed):
    """The checks every entry point runs first: the simulator, the seed, ``y0`` (values,
    cast to the simulator's dtype, finite) and ``args`` (finite; Python floats as arrays).
    Returns ``(simulator, y0, args, seed)``."""
    simulator = check_simulator(simulator)
    seed = check_seed(seed)
    y0 = check_state("y0", y0, prepare=simulator.prepare)
    check_finite_input("args", args)
    return simulator, y0, strong_parameters(floats_as_arrays(args), simulator.dtype), seed


def strong_parameters(args, dtype):
    """A weakly typed float array made outside float64 (``jnp.array(0.3)`` in a default
    float32 process) as a strong array of the simulator's dtype. In chaosgrad's float64
    scope JAX takes a weak float32 for float64 (``jnp.result_type``) while its value is
    float32, and the two disagree inside a transformed program (diffrax's
    ``BacksolveAdjoint`` asserts on it). Combined with the state, a weak scalar takes the
    state's dtype, so the simulator's dtype is the value every step computed with."""

    def strong(x):
        if (
            isinstance(x, jax.Array)
            and getattr(x, "weak_type", False)
            and jnp.issubdtype(x.dtype, jnp.floating)
            and x.dtype != jnp.float64
        ):
            return jnp.asarray(x, dtype=dtype)
        return x

    return jax.tree_util.tree_map(strong, args)
