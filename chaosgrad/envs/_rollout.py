"""An environment and a policy as one simulator, with keys, rewards and discrete actions.

The adapters (:func:`chaosgrad.envs.gymnax`, :func:`chaosgrad.envs.brax`) reduce a
third-party environment to four functions and build this simulator from them:

- ``transition(key, env_state, action) -> (env_state, reward)``: one step, no auto-reset;
- ``observe(env_state) -> obs``;
- ``reset(key) -> env_state``;
- ``policy(params, obs) -> action`` (the user's; ``params`` are the simulator's ``args``).

The state is a :class:`RolloutState`: the environment's state, the return accumulated so
far, the current discount weight and the PRNG key. Only the environment's dynamic leaves
are the tangent space (``tangent_env``, default: every floating leaf of the environment
state); the return and the weight are passive records, read by :class:`~chaosgrad.ReturnLoss`.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import check_seed
from .._errors import bad_argument
from .._simulators import AbstractSimulator, _check_dt, _check_dtype, replace_fields

DISCRETE = ("refuse", "expected")


class RolloutState(eqx.Module):
    """``env``: the environment's own state; ``ret``: ``sum_{j < k} gamma^j r_j``;
    ``weight``: ``gamma^k``; ``total``: ``sum_{j < k} gamma^j``; ``key``: the PRNG key of
    the next step."""

    env: Any
    ret: jax.Array
    weight: jax.Array
    total: jax.Array
    key: jax.Array


def _float(x) -> bool:
    return jnp.issubdtype(jnp.result_type(x), jnp.inexact)


class EnvironmentSimulator(AbstractSimulator):
    """The closed loop ``a_k = policy(theta, observe(s_k))``, ``(s_{k+1}, r_k) =
    transition(key_k, s_k, a_k)``, with the return ``R = sum_k gamma^k r_k`` in the state.

    Discrete actions (``n_actions`` set) are refused unless ``discrete="expected"``: the
    policy then returns ``n_actions`` logits, and the step is the *expected* transition
    under the policy's action distribution, ``s' = sum_a softmax(logits)_a transition(s,
    a)`` (and the same mixture of rewards): a stated relaxation, exact in expectation for
    one step, differentiable in the policy's parameters. It is not a sample path.

    ``x64`` is the JAX float64 setting under which the environment's own code runs (by
    default the caller's setting when the adapter was built), so an environment built in
    float32 steps in float32 inside chaosgrad's float64 scope.
    """

    transition: Callable
    observe: Callable
    reset_fn: Callable
    policy: Callable
    n_actions: int | None = eqx.field(static=True)
    discrete: str = eqx.field(static=True)
    discount: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    dtype: str = eqx.field(static=True)
    x64: bool = eqx.field(static=True)
    tangent_env: Callable | None = eqx.field(static=True)
    name: str = eqx.field(static=True)
    notes: tuple = eqx.field(static=True)
    tangent_root: ClassVar[str] = ".env"

    def __init__(
        self, transition: Callable, observe: Callable, reset_fn: Callable, policy: Callable, *,
        n_actions: int | None = None, discrete: str = "refuse", discount: float = 1.0, dt: float = 1.0,
        dtype="float32", x64: bool = False, tangent_env: Callable | None = None, name: str = "environment",
        notes: tuple = (),
    ):
        self.transition, self.observe, self.reset_fn, self.policy = transition, observe, reset_fn, policy
        self.n_actions, self.discrete = n_actions, discrete
        self.discount = discount
        self.dt = _check_dt(dt)
        self.dtype = _check_dtype(dtype)
        self.x64, self.tangent_env, self.name, self.notes = bool(x64), tangent_env, name, tuple(notes)

    def __check_init__(self):
        for field in ("transition", "observe", "reset_fn", "policy"):
            if not callable(getattr(self, field)):
                raise bad_argument(field, "is not callable", f"pass a function for {field}")
        if self.discrete not in DISCRETE:
            raise bad_argument("discrete", f"{self.discrete!r} is not one of {DISCRETE}", "pass 'expected' or 'refuse'")
        if self.n_actions is not None and self.discrete == "refuse":
            raise bad_argument(
                "discrete",
                f"{self.name} has {self.n_actions} discrete actions, which have no derivative",
                "pass discrete='expected' to analyse the expected transition under the policy's softmax "
                "(the policy then returns one logit per action), or use a continuous-action environment",
            )
        if not isinstance(self.discount, (int, float)) or not 0 < self.discount <= 1:
            raise bad_argument("discount", f"{self.discount!r} is not in (0, 1]", "pass e.g. 1.0 or 0.99")
        if self.tangent_env is not None and not callable(self.tangent_env):
            raise bad_argument("tangent", f"{self.tangent_env!r} is not callable", "pass e.g. lambda s: (s.q, s.qd)")

    # ---- contract rule 10: the tangent space is the environment's dynamic leaves
    @property
    def tangent_selector(self):
        inner = self.tangent_env
        return (lambda s: s.env) if inner is None else (lambda s: inner(s.env))

    def initial_state(self, seed: int = 0) -> RolloutState:
        """The environment's reset state for ``PRNGKey(seed)``, with a zero return."""
        key, sub = jax.random.split(jax.random.PRNGKey(check_seed(seed)))
        with jax.enable_x64(self.x64):
            env = self.reset_fn(sub)
        zero = jnp.zeros((), self.dtype)
        return self.prepare(RolloutState(env=env, ret=zero, weight=jnp.ones((), self.dtype), total=zero, key=key))

    def prepare(self, y):
        """Python numbers become arrays under the environment's own float64 setting
        (a gymnax ``time=0`` is then the int32 its step produces), floats are cast."""
        with jax.enable_x64(self.x64):
            return super().prepare(y)

    def restart(self, y: RolloutState) -> RolloutState:
        """Contract rule 11: a member's return starts at zero with weight 1."""
        zero = jnp.zeros_like(y.ret)
        return RolloutState(env=y.env, ret=zero, weight=jnp.ones_like(y.weight), total=zero, key=y.key)

    def action(self, y: RolloutState, params):
        return self.policy(params, self.observe(y.env))

    def _transition(self, key, env, action):
        with jax.enable_x64(self.x64):
            env1, reward = self.transition(key, env, action)
        return self.prepare(env1), jnp.asarray(reward, self.dtype).reshape(())

    def step(self, t, y: RolloutState, params):
        del t
        key, sub = jax.random.split(y.key)
        out = self.action(y, params)
        if self.n_actions is None:
            env1, reward = self._transition(sub, y.env, out)
        else:
            p = jax.nn.softmax(jnp.asarray(out).reshape(self.n_actions))
            envs, rewards = jax.vmap(lambda a: self._transition(sub, y.env, a))(jnp.arange(self.n_actions))
            mix = lambda x: jnp.tensordot(p.astype(x.dtype), x, axes=1) if _float(x) else x[0]
            env1, reward = jax.tree_util.tree_map(mix, envs), jnp.dot(p.astype(rewards.dtype), rewards)
        ret = (y.ret + y.weight * reward).astype(self.dtype)
        total = (y.total + y.weight).astype(self.dtype)
        return RolloutState(env=env1, ret=ret, weight=(y.weight * self.discount).astype(self.dtype), total=total, key=key)

    def with_dtype(self, dtype):
        return replace_fields(self, dtype=dtype, x64=self.x64 or jnp.dtype(dtype).itemsize == 8)

    def describe(self) -> dict:
        return {
            **super().describe(), "environment": self.name, "discount": self.discount,
            "actions": "continuous" if self.n_actions is None else f"{self.n_actions} discrete ({self.discrete} transition)",
            "notes": list(self.notes),
        }
