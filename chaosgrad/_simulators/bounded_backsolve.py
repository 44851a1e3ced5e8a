"""A ``BacksolveAdjoint`` whose reverse solve fails member by member, never the batch.

diffrax's ``BacksolveAdjoint`` reconstructs the forward trajectory by solving the
augmented system ``(y, a_y, a_theta)`` backwards from ``T`` to 0. When that reverse
solve does not get back to 0 (it exhausts ``max_steps``: the reverse time of a
contracting direction grows like ``e^{|lambda_n| T}`` and the controller shrinks its
steps without end; or it goes non-finite), diffrax either raises (``throw=True``) or
returns the partial, finite and wrong, gradient (``throw=False``). Under ``vmap`` the
raise is for the whole batch: one member's failure hides every other member's gradient.

:class:`BoundedBacksolveAdjoint` runs each reverse solve with ``throw=False`` and sets
the reverse solve's output to NaN where its result is not successful, so a failed
member's gradient is NaN and every other member's is its own, in one batched run. The
forward solve, the step sizes and the numbers of a successful reverse solve are exactly
diffrax's (the same ``diffeqsolve`` with the same arguments).

It uses ``AbstractAdjoint._diffeqsolve``, the hook through which diffrax's adjoints call
``diffeqsolve`` (diffrax 0.7); ``tests/test_gradients.py`` checks the behaviour.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax.numpy as jnp

from chaosgrad._simulators.base import NONFINITE, SUCCESS, mark_failed


def _nan_where_failed(sol):
    # Any unsuccessful result is a failure here (mark_failed only tells success apart).
    code = jnp.where(sol.result == diffrax.RESULTS.successful, SUCCESS, NONFINITE)
    return eqx.tree_at(lambda s: s.ys, sol, mark_failed(sol.ys, code))


class BoundedBacksolveAdjoint(diffrax.BacksolveAdjoint):
    """``BacksolveAdjoint`` whose reverse solves return NaN instead of raising when they
    fail (``max_steps`` in its keyword arguments bounds them)."""

    @property
    def _diffeqsolve(self):
        from diffrax import diffeqsolve

        def reverse_solve(*args, **kwargs):
            kwargs["throw"] = False
            return _nan_where_failed(diffeqsolve(*args, **kwargs))

        return reverse_solve
