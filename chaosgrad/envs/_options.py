"""What the gymnax and Brax adapters share: the rules for the policy, the discount, the
dtype and the episode, and the probe of the state an environment resets to in the
caller's precision."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from chaosgrad._checks import check_discount, check_dtype
from chaosgrad._errors import bad_argument

EPISODE = ("stop", "continue")


def check_episode(episode) -> None:
    if episode not in EPISODE:
        raise bad_argument(
            "episode",
            f"{episode!r} is not one of {EPISODE}",
            "pass 'stop' (the rollout ends with the episode) or 'continue' (one trajectory past its end)",
        )


def check_policy(policy) -> Callable:
    """``policy(params, obs) -> action``, returned once it is known to be callable."""
    if policy is None or not callable(policy):
        raise bad_argument("policy", f"{policy!r} is not callable", "pass policy(params, obs) -> action")
    return policy


def check_rollout_options(discount, dtype, episode) -> None:
    """The discount, the state dtype (``None``: the environment's own) and the episode."""
    check_discount("discount", discount)
    check_dtype("dtype", dtype, allow_none=True)
    check_episode(episode)


def probe_reset(reset: Callable) -> tuple[bool, object, list]:
    """``(x64, state, floats)``: whether the caller runs JAX in float64, the state
    ``reset(PRNGKey(0))`` gives in that precision (the one the environment is built in),
    and that state's floating leaves."""
    x64 = bool(jax.config.jax_enable_x64)  # type: ignore[attr-defined]  # jax.config's options are set at run time
    with jax.enable_x64(x64):
        state = reset(jax.random.PRNGKey(0))
    floats = [x for x in jax.tree_util.tree_leaves(state) if jnp.issubdtype(jnp.result_type(x), jnp.inexact)]
    return x64, state, floats
