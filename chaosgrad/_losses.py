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

from ._errors import ChaosgradInputError, bad_argument
from ._pytree import FlatState


@dataclass(frozen=True)
class FinalStateLoss:
    """``L_T = fn(y(T))``; ``fn`` returns a scalar."""

    fn: Callable
    name: str = "final-state loss"
    time_averaged = False

    def at_state(self, y, template):
        return self.fn(y)


@dataclass(frozen=True)
class TimeAveragedLoss:
    """``L_T = (1/T) sum_{t < T} fn(y_t) dt``; ``fn`` returns a scalar."""

    fn: Callable
    name: str = "time-averaged loss"
    time_averaged = True

    def at_state(self, y, template):
        return self.fn(y)


@dataclass(frozen=True)
class LinearReadout:
    """``L_T = c . y(T)`` over the flattened floating leaves, ``c`` a seeded unit vector."""

    seed: int = 0
    name: str = "linear readout c.y(T), |c| = 1"
    time_averaged = False

    def at_state(self, y, template):
        flat, u, _ = FlatState.from_template(template)
        c = jax.random.normal(jax.random.PRNGKey(self.seed), (flat.dim,), jnp.float64)
        c = (c / jnp.linalg.norm(c)).astype(u.dtype)
        return jnp.dot(c, flat.split(y)[0])


@dataclass(frozen=True)
class ReturnLoss:
    """``L_T = R_T = sum_{k < n} gamma^k r_k``: the (discounted) return of a rollout.

    The :mod:`chaosgrad.envs` adapters accumulate it in the state (``y.ret``, a passive
    leaf outside the tangent space), so the gradient of the return with respect to the
    policy parameters is the analytic policy gradient through every step (Metz et al.
    2021; Suh et al. 2022). ``discount`` is the adapter's.
    """

    name: str = "return (sum of rewards)"
    time_averaged = False

    def at_state(self, y, template):
        del template
        if not hasattr(y, "ret"):
            raise bad_argument(
                "loss", "ReturnLoss reads the return accumulated in the state (y.ret), which this state lacks",
                "build the simulator with chaosgrad.envs.gymnax or chaosgrad.envs.brax, or pass another loss",
            )
        return y.ret


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
