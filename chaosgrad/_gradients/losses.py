"""Losses: the third extension point of chaosgrad (after simulators and causes).

Every loss is ``L_T = final(y(T)) + weight(T) * sum_{t_i < T} integrand(t_i, y_i) dt``: a
part read at the final state, and a weighted sum over the simulator's steps (the
left-point rule, as in shadowing studies: Wang 2014). The gradient sweep seeds each
horizon's backward pass with ``dL/dy(T) = grad final`` and injects ``weight(T) *
grad integrand * dt`` at every step before ``T``; :mod:`chaosgrad._gradients.unroll` computes the
same ``L_T`` forwards. Nothing in the engines tests for a concrete loss class.

Built-in losses (final classes):

- ``FinalStateLoss(fn)``: ``L_T = fn(y(T))``.
- ``TimeAveragedLoss(fn)``: ``L_T = (1/T) sum_{t < T} fn(y_t) dt``, a long-time average.
- ``LinearReadout`` (the default): a fixed random unit functional ``c . y(T)``, whose
  gradient with respect to ``y0`` is ``J(T)^T c`` and so grows exactly like the tangent
  propagator, with no factor from the size of ``y(T)``.
- ``ReturnLoss``: the return of an RL rollout, ``R_T = sum_{k < n} gamma^k r_k``,
  accumulated step by step in the state of the :mod:`chaosgrad.envs` adapters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from chaosgrad._checks import check_callable, check_flag, check_seed, check_text
from chaosgrad._errors import ChaosgradInputError, bad_argument
from chaosgrad._pytree import FlatState


class AbstractLoss(eqx.Module):
    """A scalar loss of a trajectory ``y_0, y_1, ..., y_n`` at horizon ``T = n dt``.

    Contract for implementors (rules, all required; ``tests/test_loss_conformance.py``
    checks every rule for every loss listed there: add yours with one line):

    1. ``name`` is a short phrase naming the quantity (``"final z(T)"``), shown in results
       and reports (a field or a class attribute).
    2. The loss is ``L_T = final(y_T) + weight(T) * sum_{i < n} integrand(t_i, y_i) dt``.
       ``final(y, template)`` is the part read at the final state (default 0).
       ``integrand(t, y, template)`` is the per-step part, read at the start of each step
       (``t_i = i dt``); it is used only when the class attribute ``accumulates`` is
       ``True`` (default ``False``: ``final`` alone). ``template`` is a state of the same structure as
       ``y`` (the start), for losses that need its layout, never its values' derivative.
    3. ``weight(T)`` is the factor of the sum at horizon ``T`` (default 1: a sum; ``1/T``:
       an average). It depends on ``T`` alone, not on the state: the sweep injects it
       into every horizon's backward pass as a constant. Weights that depend on ``T - t``
       (a window ending at ``T``) are outside this form; a weight that depends on ``t``
       alone (a discount ``gamma^t``) belongs in ``integrand``.
    4. ``value(integral, y, template, T)`` is ``L_T`` from ``integral = sum integrand dt``
       (float64) and the final state: the default ``final + weight(T) * integral``.
       Override it only to compute the same number another way (``integral / T``).
    5. ``final``, ``integrand`` and ``weight`` are pure JAX functions: no side effects,
       no host callbacks, no Python branching on traced values, so that they run inside
       ``jit``, ``vmap`` and ``lax.scan`` and are differentiated in reverse and forward
       mode (curvature takes forward-over-reverse). A non-finite state gives a
       non-finite loss, never an exception.
    6. ``final`` and ``integrand`` return a floating scalar (shape ``()``) in any floating
       dtype, usually the state's; the engines accumulate the sum and form ``L_T`` in
       float64. A loss never changes the state's dtype or structure.
    7. ``long_time_average`` (a class attribute, default ``False``) is ``True`` only when
       ``L_T`` is the time average ``(1/T) sum_i J(y_i) dt`` of a function of the state
       alone: ``final`` is 0, ``weight(T) = 1/T`` and ``integrand(t, y, template) = J(y)``
       does not depend on ``t`` or ``template``. Its limit as ``T`` grows has a finite derivative that
       shadowing computes (Wang 2014; ``diagnose(shadowing=...)`` then applies), and a
       growing gradient's rate is fitted on ``T |dL_T/dtheta|`` (the ``1/T`` removed).
    8. Losses are equinox modules: array fields are traced (a reference path), other
       fields are static; two equal losses share compiled programs.

    :class:`FinalStateLoss` is the shortest reference implementation.
    """

    # ``name`` (rule 1) is not a field here: a subclass's own field with a default would
    # otherwise take the base's place, before fields without one. The type checker is
    # told it exists, read-only.
    if TYPE_CHECKING:

        @property
        def name(self) -> str: ...

    # Whether L_T has a per-step part (rule 2), and whether it is a long-time average of a
    # function of the state (rule 7): class attributes, declared by the class.
    accumulates: ClassVar[bool] = False
    long_time_average: ClassVar[bool] = False

    def final(self, y, template):
        del y, template
        return jnp.zeros((), jnp.float64)

    def integrand(self, t, y, template):
        del t, y, template
        return jnp.zeros((), jnp.float64)

    def weight(self, T):
        del T
        return 1.0

    def value(self, integral, y, template, T):
        final = self.final(y, template).astype(jnp.float64)
        return final + self.weight(T) * integral if self.accumulates else final


class FinalStateLoss(AbstractLoss):
    """``L_T = fn(y(T))``; ``fn`` returns a scalar."""

    fn: Callable
    name: str = "final-state loss"

    def __check_init__(self):
        check_callable("fn", self.fn, allow_none=False, signature="fn(y) -> scalar")
        check_text("name", self.name, allow_none=False)

    def final(self, y, template):
        return self.fn(y)


class TimeAveragedLoss(AbstractLoss):
    """``L_T = (1/T) sum_{t < T} fn(y_t) dt``; ``fn`` returns a scalar."""

    fn: Callable
    name: str = "time-averaged loss"

    def __check_init__(self):
        check_callable("fn", self.fn, allow_none=False, signature="fn(y) -> scalar")
        check_text("name", self.name, allow_none=False)

    accumulates: ClassVar[bool] = True
    long_time_average: ClassVar[bool] = True

    def integrand(self, t, y, template):
        return self.fn(y)

    def weight(self, T):
        return 1.0 / T

    def value(self, integral, y, template, T):
        return integral / T


class LinearReadout(AbstractLoss):
    """``L_T = c . y(T)`` over the flattened floating leaves, ``c`` a seeded unit vector."""

    seed: int = 0
    name: str = "linear readout c.y(T), |c| = 1"

    def __check_init__(self):
        check_seed(self.seed)
        check_text("name", self.name, allow_none=False)

    def final(self, y, template):
        flat, u, _ = FlatState.from_template(template)
        c = jax.random.normal(jax.random.PRNGKey(self.seed), (flat.dim,), jnp.float64)
        c = (c / jnp.linalg.norm(c)).astype(u.dtype)
        return jnp.dot(c, flat.split(y)[0])


class ReturnLoss(AbstractLoss):
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

    def __check_init__(self):
        check_flag("per_step", self.per_step)
        check_text("name", self.name, allow_none=False)

    def final(self, y, template):
        del template
        if not (hasattr(y, "ret") and hasattr(y, "total")):
            raise bad_argument(
                "loss",
                "ReturnLoss reads the return accumulated in the state (y.ret, y.total), which this state lacks",
                "build the simulator with chaosgrad.envs.gymnax or chaosgrad.envs.brax, or pass another loss",
            )
        return y.ret / jnp.maximum(y.total, 1e-30) if self.per_step else y.ret


def as_loss(loss) -> AbstractLoss:
    """Accept a loss object, a plain function of the final state, or ``None``."""
    if loss is None:
        return LinearReadout()
    if isinstance(loss, AbstractLoss):
        if not isinstance(getattr(loss, "name", None), str):
            raise bad_argument(
                "loss",
                f"{type(loss).__name__} has no name",
                "give the class a `name: str` field or class attribute (loss rule 1)",
            )
        return loss
    if isinstance(loss, type) and issubclass(loss, AbstractLoss):
        raise bad_argument(
            "loss", f"{loss.__name__} is a loss class, not a loss", f"pass an instance, e.g. {loss.__name__}(...)"
        )
    if callable(loss):
        label = getattr(loss, "__name__", "<lambda>")
        return FinalStateLoss(loss, name="final-state loss" if label == "<lambda>" else f"final-state loss {label}")
    raise bad_argument(
        "loss",
        f"{loss!r} is not a loss",
        "pass a function of the final state returning a scalar, an AbstractLoss such as FinalStateLoss(fn) or "
        "TimeAveragedLoss(fn) (or a subclass of your own), or None for a linear readout",
    )


def _shape_of(fn, y_template, part: str):
    try:
        return eqx.filter_eval_shape(fn, y_template)
    except ChaosgradInputError:
        raise
    except Exception as exc:
        raise bad_argument(
            "loss",
            f"its {part} cannot be evaluated on the state ({type(exc).__name__}: {exc})",
            "pass a function that takes the state pytree and returns a scalar",
        ) from exc


def check_scalar_loss(loss: AbstractLoss, y_template) -> None:
    """Rule 6, on shapes only: ``final`` (and ``integrand`` when the loss accumulates)
    return a floating scalar on states like ``y_template``."""
    parts = [("final", lambda y: loss.final(y, y_template))]
    if loss.accumulates:
        parts.append(("integrand", lambda y: loss.integrand(jnp.zeros((), jnp.float64), y, y_template)))
    for part, fn in parts:
        out = _shape_of(fn, y_template, part)
        if not hasattr(out, "shape") or out.shape != () or not jnp.issubdtype(out.dtype, jnp.floating):
            raise bad_argument(
                "loss",
                f"its {part} returns {getattr(out, 'shape', type(out))} {getattr(out, 'dtype', '')}, not a float scalar",
                "reduce the loss to a single float, e.g. with jnp.sum or jnp.mean",
            )
