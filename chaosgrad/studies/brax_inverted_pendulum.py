"""Brax ``inverted_pendulum`` (generalized pipeline; a third-party simulator) under a
linear policy ``a = tanh(K obs)``.

Two gains: one that balances the pole (cart and pole pushed towards upright) and the
same gain with the cart terms reversed, which lets the pole fall; the pole angle at the
horizon is the loss, differentiated with respect to the gains. The adapter's tangent
space is every floating leaf of the Brax ``State`` (the generalized pipeline reads more of
its State than ``(q, qd)``; the probe names what it never reads).
Brax's own reward is 1 at every step (an alive bonus), so the return's gradient is
exactly zero: that is diagnosed too. Needs ``pip install chaosgrad[envs]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from chaosgrad._diagnosis.diagnose import diagnose
from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._gradients.losses import FinalStateLoss, ReturnLoss
from chaosgrad._results.study import Section, Study, Table
from chaosgrad._runtime.precision import float64_scope
from chaosgrad.envs import brax as brax_adapter
from chaosgrad.studies import StudySpec
from chaosgrad.studies._common import exponent_list, import_optional, lam1, make_study, no_progress

# obs = (cart x, pole angle, cart velocity, pole angular velocity)
BALANCING = (0.1, 2.0, 0.2, 0.3)
FALLING = (-0.5, 5.0, -0.5, 1.0)


def linear_policy(params, obs):
    return jnp.tanh(params["K"] @ obs)


def _gains(k) -> dict:
    return {"K": jnp.asarray([k], jnp.float32)}


def pole_angle(y):
    return y.env.pipeline_state.q[1]


def _settings(fast: bool) -> dict:
    if fast:
        return {"horizon_steps": (5, 10, 20), "members": 3, "lyapunov_steps": 400}
    return {"horizon_steps": (10, 20, 40, 80), "members": 6, "lyapunov_steps": 2000}


def _cases() -> dict:
    """The three diagnoses, by label: each a gain and the loss differentiated."""
    return {
        "balancing gain, pole angle": (BALANCING, FinalStateLoss(pole_angle, name="pole angle q[1](T)")),
        "falling gain, pole angle": (FALLING, FinalStateLoss(pole_angle, name="pole angle q[1](T)")),
        "balancing gain, return": (BALANCING, ReturnLoss()),
    }


@dataclass(frozen=True)
class BraxPendulumMeasured:
    """What :func:`measure` returns: the diagnosis and the gain of each case, by label (the
    balancing gain's pole angle first, the headline), and the environment's step in seconds."""

    results: dict[str, Diagnosis]
    gains: dict[str, tuple]
    dt: float


def measure(cfg: dict, progress) -> BraxPendulumMeasured:
    """Diagnose each of :func:`_cases` on one trajectory of the generalized pipeline."""
    envs = import_optional("brax.envs", "Brax")
    env = envs.get_environment("inverted_pendulum", backend="generalized")
    # The falling pole is followed as physics, past Brax's termination at |angle| > 0.2.
    sim = brax_adapter(env, linear_policy, episode="continue")
    y0 = sim.initial_state(0)
    horizons = tuple(n * sim.dt for n in cfg["horizon_steps"])
    kw = dict(
        wrt="args",
        horizons=horizons,
        members=cfg["members"],
        transient=0.0,
        lyapunov_time=cfg["lyapunov_steps"] * sim.dt,
        k=4,
    )
    cases = _cases()
    results = {}
    for i, (label, (gain, loss)) in enumerate(cases.items()):
        progress(label, i, len(cases))
        results[label] = diagnose(sim, y0, _gains(gain), loss=loss, name=f"Brax inverted_pendulum, {label}", **kw)
    progress("done", len(cases), len(cases))
    return BraxPendulumMeasured(results, {label: gain for label, (gain, _) in cases.items()}, sim.dt)


def _section(m: BraxPendulumMeasured) -> Section:
    table = Table(
        title="Two gains and two losses",
        caption=f"Exponents per unit of simulated time (one environment step is {m.dt:.3g} s).",
        columns=("case", "gain K", "verdict", "physics", "exponents", "gradient rate"),
        rows=tuple(
            (
                label,
                str(m.gains[label]),
                d.verdict,
                d.physics,
                exponent_list(d),
                f"{d.gradient_rate:+.3f}" if np.isfinite(d.gradient_rate) else "n/a",
            )
            for label, d in m.results.items()
        ),
    )
    return Section(
        title="A third-party physics engine",
        text=(
            "Brax's generalized pipeline steps (q, qd) with its own integrator, and its next step also reads some of "
            "the fields it derived from them (inertia, motion subspaces, the inverse mass matrix) and the stored "
            "observation: the tangent space is every floating leaf of the State, and the leaves the step never "
            "reads collapse (exponent -inf). One trajectory is followed without auto-reset, past Brax's termination (|angle| > 0.2; episode='continue'), so that the falling pole is measured as physics. The environment runs in float32, as Brax built it; chaosgrad's float64 reference is the "
            "same step in float64 where Brax can run it."
        ),
        tables=(table,),
    )


def narrate(cfg: dict, m: BraxPendulumMeasured, *, fast: bool) -> Study:
    """The study's section, summary and findings from the diagnoses :func:`measure` returned."""
    main, falling, ret = m.results.values()
    lp, up = lam1(main)
    findings = [
        f"Balancing gain: verdict {main.verdict} ({main.physics}), lambda_1 = {lp:+.3f} ± {up:.3f} per second.",
        f"Falling gain: verdict {falling.verdict} ({falling.physics}); exponents {exponent_list(falling)}.",
        f"Return (reward 1 at every step): verdict {ret.verdict}: the gradient of a constant return is exactly zero.",
    ]
    findings += [f"Falling gain: {n}" for n in falling.notes if "diverged" in n or "non-finite" in n][:2]
    summary = (
        f"Brax inverted_pendulum under a balancing linear policy is {main.physics} (lambda_1 = {lp:+.3f} ± {up:.3f} "
        f"per second): verdict {main.verdict}. With the cart terms reversed the pole falls: verdict {falling.verdict}. "
        f"Brax's alive-bonus return has no gradient at all ({ret.verdict})."
    )
    return make_study(
        "brax_inverted_pendulum",
        "Brax inverted pendulum: a third-party physics engine",
        summary,
        main,
        [_section(m)],
        findings,
        fast=fast,
        config={
            "horizon_steps": list(cfg["horizon_steps"]),
            "members": cfg["members"],
            "lyapunov_steps": cfg["lyapunov_steps"],
            "balancing": list(BALANCING),
            "falling": list(FALLING),
        },
        extra={label: d for label, d in m.results.items() if d is not main},
    )


@float64_scope
def run(*, fast: bool = False, progress=None) -> Study:
    cfg = _settings(fast)
    return narrate(cfg, measure(cfg, progress or no_progress), fast=fast)


SPEC = StudySpec(
    name="brax_inverted_pendulum",
    title="Brax inverted pendulum",
    description="A third-party physics engine: a balancing and a falling policy, and a return with no gradient.",
    run=run,
)
