"""Losses for gradient-growth measurements: strategy objects, not flags.

``FinalStateLoss(fn)`` is ``L_T = fn(y(T))``; ``TimeAveragedLoss(fn)`` is
``L_T = (1/T) sum_{t < T} fn(y_t) dt`` (the left-point rule over the simulator's steps,
as in shadowing studies: Wang 2014). ``LinearReadout`` is the default: a fixed random unit
functional ``c . y(T)``, whose gradient with respect to ``y0`` is ``J(T)^T c`` and so
grows exactly like the tangent propagator, with no factor from the size of ``y(T)``.
``ReturnLoss`` is the return of an RL rollout, ``R_T = sum_{k < n} gamma^k r_k``,
accumulated step by step in the state of the :mod:`chaosgrad.envs` adapters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from ._checks import check_callable, check_flag, check_seed, check_text
from ._errors import ChaosgradInputError, bad_argument
from ._pytree import FlatState


@dataclass(frozen=True)
class FinalStateLoss:
    """``L_T = fn(y(T))``; ``fn`` returns a scalar."""

    fn: Callable
    name: str = "final-state loss"

    def __post_init__(self):
        check_callable("fn", self.fn, allow_none=False, signature="fn(y) -> scalar")
        check_text("name", self.name, allow_none=False)
    time_averaged = False

    def at_state(self, y, template):
        return self.fn(y)


@dataclass(frozen=True)
class TimeAveragedLoss:
    """``L_T = (1/T) sum_{t < T} fn(y_t) dt``; ``fn`` returns a scalar."""

    fn: Callable
    name: str = "time-averaged loss"

    def __post_init__(self):
        check_callable("fn", self.fn, allow_none=False, signature="fn(y) -> scalar")
        check_text("name", self.name, allow_none=False)
    time_averaged = True

    def at_state(self, y, template):
        return self.fn(y)


@dataclass(frozen=True)
class LinearReadout:
    """``L_T = c . y(T)`` over the flattened floating leaves, ``c`` a seeded unit vector."""

    seed: int = 0
    name: str = "linear readout c.y(T), |c| = 1"

    def __post_init__(self):
        check_seed(self.seed)
        check_text("name", self.name, allow_none=False)
    time_averaged = False

    def at_state(self, y, template):
        flat, u, _ = FlatState.from_template(template)
        c = jax.random.normal(jax.random.PRNGKey(self.seed), (flat.dim,), jnp.float64)
        c = (c / jnp.linalg.norm(c)).astype(u.dtype)
        return jnp.dot(c, flat.split(y)[0])


@dataclass(frozen=True)
class ReturnLoss:
    """The return of a rollout, ``R_T = sum_{k < n} gamma^k r_k``, per step by default.

    The :mod:`chaosgrad.envs` adapters accumulate ``R_T`` and ``W_T = sum_{k < n}
    gamma^k`` in the state (``y.ret``, ``y.total``: passive leaves outside the tangent
    space). With ``per_step=True`` (default) the loss is ``R_T / W_T``, the
    discount-weighted mean reward: a sum of ``n`` rewards has a gradient that grows like
    ``n`` even when every reward's sensitivity is bounded, and that linear growth is not
    an exponential rate; the mean's gradient is ``dR_T / W_T``, so its growth rate is that
    of the sensitivity itself (as for :class:`TimeAveragedLoss`). ``per_step=False`` is
    the plain return. Its gradient with respect to the policy parameters is the analytic
    policy gradient through every step (Metz et al. 2021; Suh et al. 2022).
    """

    per_step: bool = True
    name: str = "return"

    def __post_init__(self):
        check_flag("per_step", self.per_step)
        check_text("name", self.name, allow_none=False)
    time_averaged = False

    def at_state(self, y, template):
        del template
        if not (hasattr(y, "ret") and hasattr(y, "total")):
            raise bad_argument(
                "loss", "ReturnLoss reads the return accumulated in the state (y.ret, y.total), which this state lacks",
                "build the simulator with chaosgrad.envs.gymnax or chaosgrad.envs.brax, or pass another loss",
            )
        return y.ret / jnp.maximum(y.total, 1e-30) if self.per_step else y.ret


def as_loss(loss):
    """Accept a loss object, a plain function of the final state, or ``None``."""
    if loss is None:
        return LinearReadout()
    if isinstance(loss, (FinalStateLoss, TimeAveragedLoss, LinearReadout, ReturnLoss)):
        return loss
    if callable(loss):
        label = getattr(loss, "__name__", "<lambda>")
        return FinalStateLoss(loss, name="final-state loss" if label == "<lambda>" else f"final-state loss {label}")
    raise bad_argument(
        "loss",
        f"{loss!r} is not a loss",
        "pass a function of the final state returning a scalar, FinalStateLoss(fn), "
        "TimeAveragedLoss(fn) or None for a linear readout",
    )


def check_scalar_loss(loss, y_template) -> None:
    try:
        out = eqx.filter_eval_shape(lambda y: loss.at_state(y, y_template), y_template)
    except ChaosgradInputError:
        raise
    except Exception as exc:
        raise bad_argument(
            "loss", f"cannot be evaluated on the state ({type(exc).__name__}: {exc})",
            "pass a function that takes the state pytree and returns a scalar",
        ) from exc
    if not hasattr(out, "shape") or out.shape != () or not jnp.issubdtype(out.dtype, jnp.floating):
        raise bad_argument(
            "loss", f"returns {getattr(out, 'shape', type(out))} {getattr(out, 'dtype', '')}, not a float scalar",
            "reduce the loss to a single float, e.g. with jnp.sum or jnp.mean",
        )
