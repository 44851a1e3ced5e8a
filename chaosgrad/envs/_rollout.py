"""An environment and a policy as one simulator, with keys, rewards and discrete actions.

The adapters (:func:`chaosgrad.envs.gymnax`, :func:`chaosgrad.envs.brax`) reduce a
third-party environment to four functions and build this simulator from them:

- ``transition(key, env_state, action) -> (env_state, reward, done)``: one step, no
  auto-reset; ``done`` says the episode terminated (it may be left out: ``(env_state,
  reward)`` never terminates);
- ``observe(env_state) -> obs``;
- ``reset(key) -> env_state``;
- ``policy(params, obs) -> action`` (the user's; ``params`` are the simulator's ``args``).

The state is a :class:`RolloutState`: the environment's state, the return accumulated so
far, the current discount weight and the PRNG key. Only the environment's dynamic leaves
are the tangent space (``tangent_env``, default: every floating leaf of the environment
state); the return and the weight are passive records, read by :class:`~chaosgrad.ReturnLoss`.

Episodes (:class:`~chaosgrad._simulators.capabilities.Episodic`): the state also counts the steps of
the episode taken and whether it has ended. Once it has (``done`` from the transition, or
``episode_length`` steps taken) the step is the identity and adds no reward, so a rollout
never steps past the end of the user's episode; the analyses refuse transients, measuring
times and horizons past ``episode_length`` before anything runs. ``episode_length=None``
with ``end_on_done=False`` follows one trajectory without end (the adapters'
``episode="continue"``: a named choice for questions about the physics itself).

Precision (:class:`~chaosgrad._simulators.capabilities.BuiltPrecision`): an environment runs in the
precision it was built in. One built in float32 whose step cannot run on float64 states
(Brax: its system's arrays are float32 and its scans must carry their own dtype) keeps
stepping in float32 inside the float64 twin, which says so in ``float64_limit``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from chaosgrad._checks import check_discount, check_seed
from chaosgrad._errors import bad_argument
from chaosgrad._pytree import as_arrays, cast_floats
from chaosgrad._simulators.arguments import _check_dt, _check_dtype
from chaosgrad._simulators.base import AbstractSimulator, replace_fields
from chaosgrad._simulators.capabilities import BuiltPrecision, Episodic

DISCRETE = ("refuse", "expected")


class RolloutState(eqx.Module):
    """``env``: the environment's own state; ``ret``: ``sum_{j < k} gamma^j r_j``;
    ``weight``: ``gamma^k``; ``total``: ``sum_{j < k} gamma^j``; ``key``: the PRNG key of
    the next step; ``steps``: the steps of the episode taken (``k``); ``done``: whether the
    episode has ended (after which the step is the identity)."""

    env: Any
    ret: jax.Array
    weight: jax.Array
    total: jax.Array
    key: jax.Array
    steps: Any = 0
    done: Any = False


def _float(x) -> bool:
    return jnp.issubdtype(jnp.result_type(x), jnp.inexact)


def _cast(tree, dtype):
    return jax.tree_util.tree_map(lambda x: x.astype(dtype) if _float(x) else x, tree)


def float64_probe(transition, env_state, action) -> str | None:
    """Whether ``transition`` steps a float64 state in float64 (traced only, nothing
    runs): ``None`` when it does, else what happened, in words."""
    with jax.enable_x64(True):
        env64 = _cast(jax.tree_util.tree_map(jnp.asarray, env_state), jnp.float64)
        try:
            out = jax.eval_shape(lambda e, a: transition(jax.random.PRNGKey(0), e, a)[0], env64, action)
        except Exception as exc:  # noqa: BLE001 - any failure means: not in float64
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            return f"{type(exc).__name__}: {' '.join(lines[:2])[:300]}"
    narrow = sorted({jnp.dtype(x.dtype).name for x in jax.tree_util.tree_leaves(out) if _float(x)} - {"float64"})
    return f"it returns {', '.join(narrow)} for float64 states" if narrow else None


class EnvironmentSimulator(AbstractSimulator, Episodic, BuiltPrecision):
    """The closed loop ``a_k = policy(theta, observe(s_k))``, ``(s_{k+1}, r_k) =
    transition(key_k, s_k, a_k)``, with the return ``R = sum_k gamma^k r_k`` in the state.

    Discrete actions (``n_actions`` set) are refused unless ``discrete="expected"``: the
    policy then returns ``n_actions`` logits, and the step is the *expected* transition
    under the policy's action distribution, ``s' = sum_a softmax(logits)_a transition(s,
    a)`` (and the same mixture of rewards): a stated relaxation, exact in expectation for
    one step, differentiable in the policy's parameters. It is not a sample path.

    ``x64`` is the JAX float64 setting under which the environment's own code runs (by
    default the caller's setting when the adapter was built), so an environment built in
    float32 steps in float32 inside chaosgrad's float64 scope. ``precision_limit`` (``None``
    when the environment can step float64 states) says why it cannot: a float64 twin
    then stores float64 states and steps the environment on them cast to ``env_dtype``.

    ``episode_length`` (steps, or ``None``) and ``end_on_done`` define the episode: the
    rollout stops (identity step, no reward) at ``episode_length`` steps, and at the
    transition's ``done`` when ``end_on_done``.
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
    episode_length: int | None = eqx.field(static=True)
    end_on_done: bool = eqx.field(static=True)
    env_dtype: str = eqx.field(static=True)
    precision_limit: str | None = eqx.field(static=True)
    tangent_root: ClassVar[str] = ".env"

    def __init__(
        self,
        transition: Callable,
        observe: Callable,
        reset_fn: Callable,
        policy: Callable,
        *,
        n_actions: int | None = None,
        discrete: str = "refuse",
        discount: float = 1.0,
        dt: float = 1.0,
        dtype="float32",
        x64: bool = False,
        tangent_env: Callable | None = None,
        name: str = "environment",
        notes: tuple = (),
        episode_length: int | None = None,
        end_on_done: bool = True,
        env_dtype=None,
        precision_limit: str | None = None,
    ):
        self.transition, self.observe, self.reset_fn, self.policy = transition, observe, reset_fn, policy
        self.n_actions, self.discrete = n_actions, discrete
        self.discount = discount
        self.dt = _check_dt(dt)
        self.dtype = _check_dtype(dtype)
        self.x64, self.tangent_env, self.name, self.notes = bool(x64), tangent_env, name, tuple(notes)
        self.episode_length, self.end_on_done = episode_length, end_on_done
        self.env_dtype = self.dtype if env_dtype is None else _check_dtype(env_dtype)
        self.precision_limit = precision_limit

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
        check_discount("discount", self.discount)
        if self.episode_length is not None and (
            isinstance(self.episode_length, bool) or not isinstance(self.episode_length, int) or self.episode_length < 1
        ):
            raise bad_argument(
                "episode_length",
                f"{self.episode_length!r} is not a positive int",
                "pass the episode's time limit in steps, e.g. 1000, or None",
            )
        if not isinstance(self.end_on_done, bool):
            raise bad_argument("end_on_done", f"{self.end_on_done!r} is not a bool", "pass True or False")
        if self.x64 and self.precision_limit is not None:
            raise bad_argument(
                "dtype",
                f"{self.name} cannot step {self.dtype} states: it was built in {self.env_dtype} "
                f"({self.precision_limit})",
                f"pass dtype='{self.env_dtype}' (the precision it was built in), or build the environment in a "
                "process with jax.config.update('jax_enable_x64', True) before creating it",
            )
        if self.tangent_env is not None and not callable(self.tangent_env):
            raise bad_argument("tangent", f"{self.tangent_env!r} is not callable", "pass e.g. lambda s: (s.q, s.qd)")

    # ---- contract rule 10: the tangent space is the environment's dynamic leaves
    @property
    def tangent_selector(self):
        inner = self.tangent_env
        return (lambda s: s.env) if inner is None else (lambda s: inner(s.env))

    # ---- Episodic
    @property
    def episode_steps(self) -> int | None:
        return self.episode_length

    def steps_taken(self, y):
        return y.steps

    # ---- BuiltPrecision
    @property
    def float64_limit(self) -> str | None:
        if self.precision_limit is None:
            return None
        return (
            f"{self.name} was built in {self.env_dtype} and steps in {self.env_dtype} in every float64 part of "
            f"the analysis ({self.precision_limit}); build it in a process with "
            "jax.config.update('jax_enable_x64', True) to measure it in float64"
        )

    def initial_state(self, seed: int = 0) -> RolloutState:
        """The environment's reset state for ``PRNGKey(seed)``, with a zero return."""
        key, sub = jax.random.split(jax.random.PRNGKey(check_seed(seed)))
        with jax.enable_x64(self.x64):
            env = self.reset_fn(sub)
        zero = jnp.zeros((), self.dtype)
        return self.prepare(
            RolloutState(env=env, ret=zero, weight=jnp.ones((), self.dtype), total=zero, key=key, steps=0, done=False)
        )

    def prepare(self, y):
        """Python numbers become arrays under the environment's own float64 setting
        (a gymnax ``time=0`` is then the int32 its step produces), floats are cast."""
        with jax.enable_x64(self.x64):
            y = as_arrays(y)
        # A float64 twin of an environment built in float32 stores float64 states.
        with jax.enable_x64(self.x64 or jnp.dtype(self.dtype).itemsize == 8):
            return cast_floats(y, self.dtype)

    def restart(self, y: RolloutState) -> RolloutState:
        """Contract rule 11: a member's return starts at zero with weight 1."""
        zero = jnp.zeros_like(y.ret)
        return RolloutState(
            env=y.env, ret=zero, weight=jnp.ones_like(y.weight), total=zero, key=y.key, steps=y.steps, done=y.done
        )

    def action(self, y: RolloutState, params):
        return self.policy(params, self.observe(y.env))

    def _transition(self, key, env, action):
        if not self.x64 and jnp.dtype(self.dtype).itemsize == 8:
            # The float64 twin of an environment that steps only in the dtype it was built in.
            env, action = _cast(env, self.env_dtype), _cast(action, self.env_dtype)
        with jax.enable_x64(self.x64):
            out = self.transition(key, env, action)
            env1, reward, done = out if len(out) == 3 else (*out, False)
            done = jnp.asarray(done).astype(bool).reshape(())
        return self.prepare(env1), jnp.asarray(reward, self.dtype).reshape(()), done

    def step(self, t, y: RolloutState, params):
        del t
        key, sub = jax.random.split(y.key)
        out = self.action(y, params)
        if self.n_actions is None:
            env1, reward, ended = self._transition(sub, y.env, out)
        else:
            p = jax.nn.softmax(jnp.asarray(out).reshape(self.n_actions))
            envs, rewards, ends = jax.vmap(lambda a: self._transition(sub, y.env, a))(jnp.arange(self.n_actions))
            mix = lambda x: jnp.tensordot(p.astype(x.dtype), x, axes=1) if _float(x) else x[0]
            env1, reward = jax.tree_util.tree_map(mix, envs), jnp.dot(p.astype(rewards.dtype), rewards)
            # The expected transition ends where ending is at least as likely as not.
            ended = jnp.dot(p, ends.astype(p.dtype)) >= 0.5
        # Rule 3 of Episodic: past the episode's end the step is the identity, with no reward.
        live = jnp.logical_not(jnp.asarray(y.done, bool))
        if self.episode_length is not None:
            live = live & (y.steps < self.episode_length)
        keep = lambda new, old: jnp.where(live, new, old)
        with jax.enable_x64(self.x64 or jnp.dtype(self.dtype).itemsize == 8):  # the records in self.dtype
            env1 = jax.tree_util.tree_map(keep, env1, y.env)
            ret = keep(y.ret + y.weight * reward, y.ret).astype(self.dtype)
            total = keep(y.total + y.weight, y.total).astype(self.dtype)
            weight = keep(y.weight * self.discount, y.weight).astype(self.dtype)
            steps = y.steps + live.astype(jnp.result_type(y.steps))
        done = jnp.asarray(y.done, bool) | (live & ended if self.end_on_done else False)
        if self.episode_length is not None:
            done = done | (steps >= self.episode_length)
        return RolloutState(env=env1, ret=ret, weight=weight, total=total, key=key, steps=steps, done=done)

    def with_dtype(self, dtype):
        wide = jnp.dtype(dtype).itemsize == 8 and self.precision_limit is None
        return replace_fields(self, dtype=dtype, x64=self.x64 or wide)

    def describe(self) -> dict:
        return {
            **super().describe(),
            "environment": self.name,
            "discount": self.discount,
            "actions": "continuous"
            if self.n_actions is None
            else f"{self.n_actions} discrete ({self.discrete} transition)",
            "episode_length": self.episode_length,
            "ends_on_termination": self.end_on_done,
            "notes": list(self.notes) + ([self.float64_limit] if self.float64_limit else []),
        }
