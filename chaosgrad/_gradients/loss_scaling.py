"""Dynamic loss scaling for 16-bit gradients (Micikevicius, Narang, Alben et al. 2018,
"Mixed precision training", sec. 3.2; the scheme of NVIDIA Apex and PyTorch's
``GradScaler``): multiply the loss by ``S = 2^e`` before the backward pass so that small
cotangents do not underflow, divide the gradient by ``S`` afterwards (exact: a power of
two), lower ``S`` when the pass overflows, raise it again after a run of good steps.

The scale is bounded: the backward pass starts from ``S dL/dy(T)``, which must itself be
below the type's largest number. So loss scaling moves the underflow horizon of a
vanishing gradient, ``T_u = ln(tiny / |g_0|) / gamma`` for a rate ``gamma < 0``, by at
most ``ln(S_max) / |gamma|`` with ``S_max = max / |dL/dy(T)|``: in float16 about
``11.1 / |gamma|`` (``max = 65504 = e^11.1``), never further.

Two uses share the object:

- in a measurement (``chaosgrad.diagnose``'s ``loss-scaling`` ablation,
  :class:`~chaosgrad.LossScaling`), per horizon: the largest ``e`` that keeps the seed
  ``headroom_log2`` binary orders below the largest number, backed off by
  ``backoff_log2`` (doubling at each retry, up to ``retries``) where the pass is non-finite;
- in training, the standard update (:meth:`init`, :meth:`adjust`).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from chaosgrad._checks import check_count, check_real
from chaosgrad._errors import bad_argument


@dataclass(frozen=True)
class DynamicLossScale:
    """Rules: 1. scales are powers of two; 2. a non-finite gradient lowers the scale by
    ``2^backoff_log2`` and the step is skipped; 3. ``period`` finite steps in a row raise
    it by 2; 4. the scale stays within ``[2^min_log2, 2^max_log2]``."""

    headroom_log2: int = 1
    backoff_log2: int = 1
    retries: int = 8
    initial_log2: int = 15
    period: int = 2000
    min_log2: int = -24
    max_log2: int = 24

    def __post_init__(self):
        for name in ("headroom_log2", "backoff_log2", "retries", "period"):
            value = getattr(self, name)
            check_count(name, value, minimum=1 if name in ("period", "backoff_log2") else 0, example=4)
        for name in ("min_log2", "initial_log2", "max_log2"):
            check_real(name, getattr(self, name), example="15")
        if not self.min_log2 <= self.initial_log2 <= self.max_log2:
            raise bad_argument(
                "initial_log2",
                f"{self.initial_log2} is not within [min_log2, max_log2] = [{self.min_log2}, {self.max_log2}]",
                "pass e.g. 15",
            )

    def init(self) -> dict:
        """Training state: ``{"log2": e, "good": finite steps since the last change}``."""
        return {"log2": jnp.asarray(self.initial_log2, jnp.float32), "good": jnp.asarray(0, jnp.int32)}

    @staticmethod
    def scale(state, loss):
        """``S * loss`` in float32 at least (``2^16`` and above are infinite in float16)."""
        wide = jnp.promote_types(jnp.result_type(loss), jnp.float32)
        return jnp.asarray(loss, wide) * jnp.exp2(state["log2"]).astype(wide)

    @staticmethod
    def unscale(state, grads):
        """``grads / S`` in float32 at least (a float16 gradient divided in float16 could
        underflow again; a float64 one stays float64)."""

        def one(g):
            wide = jnp.promote_types(g.dtype, jnp.float32)
            return g.astype(wide) * jnp.exp2(-state["log2"]).astype(wide)

        return jax.tree_util.tree_map(one, grads)

    def adjust(self, state, grads_finite):
        """The next state after a step whose (unscaled) gradient was finite or not."""
        good = jnp.where(grads_finite, state["good"] + 1, 0)
        up = grads_finite & (good >= self.period)
        e = jnp.where(grads_finite, state["log2"] + jnp.where(up, 1.0, 0.0), state["log2"] - self.backoff_log2)
        return {"log2": jnp.clip(e, self.min_log2, self.max_log2), "good": jnp.where(up, 0, good)}


def all_finite(tree) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)
