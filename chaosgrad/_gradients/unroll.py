"""The horizon-``T`` loss as a function of one flat vector: what second-order and
per-example measurements differentiate.

``flat_objective(simulator, loss, sel, args, y_template, b, K)`` returns
``(x0_of, objective)``: ``x0_of(y0)`` is the flat vector ``x`` of the selection (the
tangent leaves of ``y0`` for ``wrt="y0"``, the floating leaves of the selected part of
``args`` otherwise) and ``objective(x, y0, nb)`` is ``L_T`` at ``T = nb * b * dt``, for a
*traced* block count ``nb <= K``: one compiled program serves every horizon. The loop
runs ``K`` blocks and skips those past ``nb`` with ``lax.cond`` (not batched, so it stays
a branch: a short horizon costs its own blocks, not the longest's); each block is
checkpointed, so reverse mode, and forward-over-reverse, store ``K + 1`` states and one
block's residuals whatever the horizon (the same scheme as the gradient sweep).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from chaosgrad._gradients.sweep import _block_fn, split_theta
from chaosgrad._gradients.wrt import Wrt


def flat_objective(simulator, loss, sel: Wrt, args, y_template, b: int, K: int):
    """``(x0_of, objective)`` as in the module docstring."""
    theta, rebuild = split_theta(sel, args)
    block = _block_fn(simulator, loss, rebuild, b)
    block_time = b * simulator.dt
    if sel.kind == "y0":
        flat = simulator.tangent_space(y_template)[0]
        x0_of = lambda y0: flat.split(y0)[0]
        start = lambda x, y0: (flat.combine(x, flat.split(y0)[1]), theta)
    else:
        theta_flat, unravel = ravel_pytree(theta)
        x0_of = lambda y0: theta_flat
        start = lambda x, y0: (y0, unravel(x))

    def objective(x, y0, nb):
        y, th = start(x, y0)

        @jax.checkpoint
        def body(carry, k):
            def run(c):
                y1, acc1 = block(k * block_time, c[0], th)
                return y1, c[1] + acc1

            return jax.lax.cond(k < nb, run, lambda c: c, carry), None

        (y, acc), _ = jax.lax.scan(body, (y, jnp.zeros((), jnp.float64)), jnp.arange(K))
        return loss.value(acc, y, y_template, nb * block_time)

    return x0_of, objective
