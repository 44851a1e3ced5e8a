"""gymnax Pendulum-v1 (a third-party environment) closed with an MLP policy.

Three ways a user would plug it in, each diagnosed the same way (the return's gradient
with respect to the policy's parameters, :class:`~chaosgrad.ReturnLoss`):

1. as shipped: gymnax detaches its transitions (``jax.lax.stop_gradient``), so every
   derivative through the state is exactly zero (said up front); the return's gradient is
   only each step's direct dependence on its action;
2. with ``env.with_transition_gradients()`` and every floating leaf as the tangent space:
   the state's ``last_u`` (written for rendering, never read) is reported by name as a
   passive leaf whose exponent is ``-inf``;
3. with ``tangent=lambda s: (s.theta, s.theta_dot)``: the headline diagnosis.

Needs ``pip install chaosgrad[envs]``.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from chaosgrad._diagnosis.diagnose import diagnose
from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._gradients.losses import ReturnLoss
from chaosgrad._results.study import Section, Study, Table
from chaosgrad._runtime.precision import float64_scope
from chaosgrad.envs import gymnax as gymnax_adapter
from chaosgrad.studies import StudySpec
from chaosgrad.studies._common import exponent_list, import_optional, lam1, make_study, no_progress

HIDDEN = 16
POLICY_SEED = 0


def mlp_policy(params, obs):
    """``a = 2 tanh(W2 tanh(W1 obs + b1))``: Pendulum-v1's torque range is [-2, 2]."""
    h = jnp.tanh(params["W1"] @ obs + params["b1"])
    return 2.0 * jnp.tanh(params["W2"] @ h)


def policy_params(seed: int = POLICY_SEED):
    """LeCun-normal weights in float32 (gymnax's own dtype), seeded with NumPy."""
    rng = np.random.default_rng(seed)
    return {
        "W1": jnp.asarray(rng.normal(size=(HIDDEN, 3)) / np.sqrt(3), jnp.float32),
        "b1": jnp.asarray(0.5 * rng.normal(size=HIDDEN), jnp.float32),
        "W2": jnp.asarray(rng.normal(size=(1, HIDDEN)) / np.sqrt(HIDDEN), jnp.float32),
    }


def _settings(fast: bool) -> dict:
    # Within Pendulum-v1's episode (200 steps) from its reset state: the user's computation.
    if fast:
        return {"horizons": (25, 50, 100, 200), "members": 4, "transient": 0.0}
    return {"horizons": (12.5, 25, 50, 100, 200), "members": 8, "transient": 0.0}


def _variants(env, env_params) -> dict:
    """The three ways of plugging the environment in, by label, in the order they are diagnosed."""
    return {
        "as shipped (transitions detached)": gymnax_adapter(
            env, env_params, mlp_policy, transition_gradients="as-shipped"
        ),
        "transition gradients, every leaf": gymnax_adapter(env, env_params, mlp_policy),
        "transition gradients, tangent = (theta, theta_dot)": gymnax_adapter(
            env, env_params, mlp_policy, tangent=lambda s: (s.theta, s.theta_dot)
        ),
    }


def measure(cfg: dict, progress) -> dict[str, Diagnosis]:
    """The diagnosis of each variant, by label: as shipped, every leaf, then the headline."""
    gymnax = import_optional("gymnax", "gymnax")
    env, env_params = gymnax.make("Pendulum-v1")
    params = policy_params()
    kw = dict(
        loss=ReturnLoss(), wrt="args", horizons=cfg["horizons"], members=cfg["members"], transient=cfg["transient"]
    )
    variants = _variants(env, env_params)
    results = {}
    for i, (label, sim) in enumerate(variants.items()):
        progress(label, i, len(variants))
        results[label] = diagnose(sim, sim.initial_state(0), params, name=f"gymnax Pendulum-v1, {label}", **kw)
    progress("done", len(variants), len(variants))
    return results


def _section(results: dict[str, Diagnosis]) -> Section:
    rows = tuple(
        (
            label,
            d.verdict,
            d.physics,
            exponent_list(d),
            f"{d.gradient_rate:+.4f}" if np.isfinite(d.gradient_rate) else "n/a",
            "; ".join(n for n in d.notes if "never reads" in n or "derivative with respect to the state" in n) or "-",
        )
        for label, d in results.items()
    )
    table = Table(
        title="The same environment plugged in three ways",
        caption=(
            "Each row is a full diagnosis of the return's gradient with respect to the policy parameters. Exponents "
            "are per environment step (dt = 0.05 s of pendulum time)."
        ),
        columns=("variant", "verdict", "physics", "exponents", "gradient rate", "what the probe said"),
        rows=rows,
    )
    return Section(
        title="Plugging in a third-party environment",
        text=(
            "gymnax's step_env is used (no auto-reset); the rollout stops at the end of the episode (200 steps), "
            "and every measurement starts at the reset state and ends within the episode. "
            "As shipped, Pendulum-v1 wraps its transition in jax.lax.stop_gradient; env.with_transition_gradients() "
            "removes that. Its state also carries last_u, the last torque, which the step writes for rendering and "
            "never reads."
        ),
        tables=(table,),
    )


def _findings(results: dict[str, Diagnosis]) -> list[str]:
    shipped, every, main = results.values()
    lp, up = lam1(main)
    g = shipped.gradient
    median = np.median(g.norms[:, g.reported], axis=0)
    T = g.reported_horizons
    findings = [
        f"As shipped: the probe says one step's derivative with respect to the state is exactly zero (gymnax's "
        "stop_gradient), before anything else is measured. The return's gradient is then only each step's direct "
        f"dependence on its own action (a myopic gradient): its median grows {median[-1] / median[0]:.2f}-fold while "
        f"the horizon grows {T[-1] / T[0]:.0f}-fold, i.e. linearly, not exponentially. Verdict {shipped.verdict}"
        + (
            ": over one window a linear growth cannot be told from a slow exponential one"
            if shipped.verdict == "inconclusive"
            else ""
        )
        + ".",
        f"Every leaf as the tangent space: exponents {exponent_list(every)}; the probe names last_u as a leaf the step never "
        "reads.",
        f"tangent = (theta, theta_dot): verdict {main.verdict} ({main.physics}), lambda_1 = {lp:+.4f} ± {up:.4f} "
        f"per step; gradient rate {main.gradient_rate:+.4f} [{main.gradient_interval[0]:+.4f}, "
        f"{main.gradient_interval[1]:+.4f}].",
    ]
    return findings + [f"To decide: {x}" for x in main.to_decide]


def narrate(cfg: dict, results: dict[str, Diagnosis], *, fast: bool) -> Study:
    """The study's section, summary and findings from the diagnoses :func:`measure` returned."""
    shipped, _, main = results.values()
    lp, up = lam1(main)
    summary = (
        f"gymnax Pendulum-v1 with a seeded {HIDDEN}-unit MLP policy: as shipped the transition is detached and the "
        f"return's gradient is myopic ({shipped.verdict}); with transition gradients and the tangent space (theta, theta_dot) the closed loop is "
        f"{main.physics} (lambda_1 = {lp:+.4f} ± {up:.4f} per step) and the verdict is {main.verdict}."
    )
    return make_study(
        "gymnax_pendulum",
        "gymnax Pendulum-v1: a third-party environment, three ways",
        summary,
        main,
        [_section(results)],
        _findings(results),
        fast=fast,
        config={
            **{k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
            "policy_seed": POLICY_SEED,
            "hidden": HIDDEN,
        },
        extra={label: d for label, d in results.items() if d is not main},
    )


@float64_scope
def run(*, fast: bool = False, progress=None) -> Study:
    cfg = _settings(fast)
    return narrate(cfg, measure(cfg, progress or no_progress), fast=fast)


SPEC = StudySpec(
    name="gymnax_pendulum",
    title="gymnax Pendulum-v1",
    description="A third-party environment: detached as shipped (no-gradient), a passive leaf, then the diagnosis.",
    run=run,
)
