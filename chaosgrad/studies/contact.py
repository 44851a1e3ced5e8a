"""Contact and clipping: when the exact gradient is the wrong gradient.

Two piecewise-smooth programs, each measured with both estimators of the gradient of its
Gaussian-smoothed loss (:func:`chaosgrad.smoothed_gradients`; Suh, Simchowitz, Zhang &
Tedrake, ICML 2022):

1. a ball thrown at a wall (a reflection with restitution ``e``), the loss its final
   velocity, which jumps when the ball bounces: the smoothed gradient is known in closed
   form, AD's first-order estimate misses the jump's term, the zeroth-order one does not
   (:mod:`chaosgrad.studies._contact_ball`);
2. gymnax Pendulum-v1 (its velocity is clipped to ``[-8, 8]`` and its torque to
   ``[-2, 2]``) closed with a seeded random MLP policy and started spinning (``theta =
   0.1`` from upright, ``theta_dot = 5``), so that the velocity clip engages at each
   passage through the bottom: the return's gradient with respect to the policy's
   parameters against the trajectory's length (the question a maintainer asks first of an
   exploding analytic policy gradient), both estimators' norms and variances, and
   whether the first order is biased. A clip is continuous (Lipschitz), so AD's
   derivative is the integrand of the smoothed gradient and the first order is unbiased;
   what the clip does is zero the velocity's derivative on the clipped steps;
3. a capsule rocking and sliding on the ground in Brax (generalized pipeline, penalty
   contact with friction) under a seeded random linear policy: the same two estimators
   against the trajectory's length and the non-smooth cause's conclusion
   (:mod:`chaosgrad.studies._contact_brax`; skipped under ``--fast``, and a note naming
   the install command where Brax is missing).

The headline diagnosis is the pendulum's (transition gradients, tangent space
``(theta, theta_dot)``), as in the ``gymnax_pendulum`` study. Needs
``pip install chaosgrad[envs]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from chaosgrad._diagnosis.diagnose import diagnose
from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._diagnosis.words import number
from chaosgrad._gradients.losses import ReturnLoss
from chaosgrad._nonsmooth.cause import evidence_words
from chaosgrad._nonsmooth.estimators import interpolation_alpha, smoothed_advice, smoothed_gradients
from chaosgrad._nonsmooth.types import SmoothedGradientResult
from chaosgrad._results.study import Figure, Section, Series, Study, Table
from chaosgrad._runtime.precision import float64_scope
from chaosgrad.envs import gymnax as gymnax_adapter
from chaosgrad.studies import StudySpec, _contact_brax
from chaosgrad.studies._common import import_optional, make_study, no_progress
from chaosgrad.studies._contact_ball import BALL_SIGMA, RESTITUTION, ball_section, ball_smoothed_gradient, measure_ball
from chaosgrad.studies.gymnax_pendulum import mlp_policy, policy_params

PENDULUM_SIGMA = 0.05
SPIN = (0.1, 5.0)  # theta (0 = upright) and theta_dot of the pendulum's start


def _settings(fast: bool) -> dict:
    if fast:
        return {
            "ball_horizons": (2, 3, 4, 5, 6, 8),
            "ball_samples": 512,
            "pendulum_horizons": (10, 25, 50, 100),
            "pendulum_samples": 64,
            "horizons": (25, 50, 100, 200),
            "members": 4,
            "transient": 200.0,
        }
    return {
        "ball_horizons": (2, 3, 4, 5, 6, 8, 10),
        "ball_samples": 4096,
        "pendulum_horizons": (10, 25, 50, 100, 200, 400),
        "pendulum_samples": 256,
        "horizons": (50, 100, 200, 400),
        "members": 8,
        "transient": 500.0,
    }


def debiased_norm(result, h: int, which: str) -> float:
    """``|E g|`` from a mean of ``N`` noisy per-pair estimates: ``|mean|^2`` overestimates
    ``|E g|^2`` by ``tr Sigma / N`` (as in ``_landscape.noise``); zero where unresolved."""
    mean = result.first_order[h] if which == "first" else result.zeroth_order[h]
    trace = result.first_order_trace[h] if which == "first" else result.zeroth_order_trace[h]
    n = max(int(result.finite_pairs[h]), 1)
    return math.sqrt(max(float(mean @ mean) - trace / n, 0.0))


@dataclass(frozen=True)
class ContactMeasured:
    """What :func:`measure` returns: the ball's and the pendulum's estimators, the pendulum's
    diagnosis (the study's headline) and the Brax part."""

    ball: SmoothedGradientResult
    pendulum: SmoothedGradientResult
    main: Diagnosis
    skid: _contact_brax.BraxContact


def _spinning_pendulum(gymnax):
    """gymnax Pendulum-v1 closed with the random MLP policy, started spinning (:data:`SPIN`):
    the simulator, its start and the policy's parameters."""
    env, env_params = gymnax.make("Pendulum-v1")
    # The study is about the clipped dynamics themselves, measured past Pendulum-v1's
    # 200-step time limit: the episode's end is a named choice to continue through.
    sim = gymnax_adapter(env, env_params, mlp_policy, tangent=lambda s: (s.theta, s.theta_dot), episode="continue")
    params = policy_params()
    y0 = sim.initial_state(0)
    dtype = y0.env.theta.dtype
    y0 = eqx.tree_at(
        lambda s: (s.env.theta, s.env.theta_dot), y0, (jnp.asarray(SPIN[0], dtype), jnp.asarray(SPIN[1], dtype))
    )
    return sim, y0, params


def measure(cfg: dict, fast: bool, progress) -> ContactMeasured:
    """Both estimators on the ball and the pendulum, the pendulum's diagnosis and the Brax part."""
    gymnax = import_optional("gymnax", "gymnax")

    progress("bouncing ball", 0, 4)
    ball = measure_ball(cfg)
    progress("gymnax Pendulum-v1, both estimators", 1, 4)
    sim, y0, params = _spinning_pendulum(gymnax)
    pend = smoothed_gradients(
        sim,
        y0,
        params,
        horizons=cfg["pendulum_horizons"],
        wrt="args",
        loss=ReturnLoss(),
        sigma=PENDULUM_SIGMA,
        samples=cfg["pendulum_samples"],
        seed=0,
    )
    progress("gymnax Pendulum-v1, diagnosis", 2, 4)
    main = diagnose(
        sim,
        y0,
        params,
        name="gymnax Pendulum-v1 (velocity and torque clipped), random policy, spinning",
        loss=ReturnLoss(),
        wrt="args",
        horizons=cfg["horizons"],
        members=cfg["members"],
        transient=cfg["transient"],
    )
    progress("Brax skid (ground contact), both estimators", 3, 4)
    skid = _contact_brax.measure(fast)
    progress("done", 4, 4)
    return ContactMeasured(ball, pend, main, skid)


def _pendulum_section(pend: SmoothedGradientResult, n1: np.ndarray, n0: np.ndarray) -> Section:
    """The pendulum's gradient norms (debiased, ``n1`` first order and ``n0`` zeroth order)
    and variances against the horizon, and both estimators per horizon."""
    T = pend.horizons
    norm_fig = Figure(
        title="Pendulum: the return's gradient norm against trajectory length (random policy)",
        xlabel="horizon (steps)",
        ylabel="|gradient| (debiased)",
        yscale="log",
        series=(
            Series("first order (AD through the clipped steps)", T, n1, style="line+marker"),
            Series("zeroth order (randomised smoothing)", T, n0, style="line+marker"),
        ),
        caption=(
            f"Norm of the smoothed return's gradient (sigma = {PENDULUM_SIGMA:g} on the policy's parameters, "
            f"{pend.samples} pairs), debiased for each estimate's noise (|mean|^2 - tr Sigma / N)."
        ),
    )
    var_fig = Figure(
        title="Pendulum: per-sample variance of each estimator against the horizon",
        xlabel="horizon (steps)",
        ylabel="tr Sigma per pair",
        yscale="log",
        series=(
            Series("first order", T, pend.first_order_trace, style="line+marker"),
            Series("zeroth order", T, pend.zeroth_order_trace, style="line+marker"),
        ),
        caption="Where the first order's curve crosses above the zeroth order's, the first order stops paying.",
    )
    alpha = interpolation_alpha(pend)
    pend_table = Table(
        title="Pendulum: both estimators per horizon",
        columns=(
            "horizon",
            "|g| first order",
            "|g| zeroth order",
            "tr Sigma first",
            "tr Sigma zeroth",
            "largest |difference| / s.e.",
            "first order biased",
            "alpha",
        ),
        rows=tuple(
            (int(t), number(a), number(b), number(c), number(d), number(z), "yes" if bias else "no", f"{al:.3f}")
            for t, a, b, c, d, z, bias, al in zip(
                T, n1, n0, pend.first_order_trace, pend.zeroth_order_trace, pend.worst_z, pend.biased, alpha
            )
        ),
        caption=(
            f"Bonferroni-simultaneous intervals over the {pend.first_order.shape[1]} parameters at 95% "
            f"(quantile {pend.quantile[-1]:.2f})."
        ),
    )
    return Section(
        title="gymnax Pendulum-v1 with clipping: both estimators against the horizon",
        text=evidence_words(pend),
        figures=(norm_fig, var_fig),
        tables=(pend_table,),
    )


def _ball_at_wall(ball: SmoothedGradientResult) -> tuple[np.ndarray, int]:
    """The closed form at n = 4 steps (where the ball reaches the wall) and that horizon's index."""
    exact4, _ = ball_smoothed_gradient(4)
    return exact4, int(np.flatnonzero(ball.horizon_steps == 4)[0])


def _findings(m: ContactMeasured, n1: np.ndarray, n0: np.ndarray, pend_advice) -> list[str]:
    """The ball's and the pendulum's findings and the pendulum's first advice (the Brax part's are added by
    :func:`narrate`)."""
    ball, pend = m.ball, m.pendulum
    T = pend.horizons
    exact4, h4 = _ball_at_wall(ball)
    ball_biased = ", ".join(str(int(n)) for n in ball.horizon_steps[ball.biased])
    findings = [
        f"Ball: at n = 4 steps (the wall) the smoothed gradient d E[v_4]/dx0 is {exact4[0]:+.4f} in closed form; the "
        f"zeroth-order estimate gives {ball.zeroth_order[h4, 0]:+.4f} [{ball.zeroth_low[h4, 0]:+.4f}, "
        f"{ball.zeroth_high[h4, 0]:+.4f}] and the first order (AD) exactly 0. The first order is biased at n = "
        f"{ball_biased or 'none'}.",
        "Pendulum (random policy, clipping): the first-order estimate is "
        + (
            "biased at T = " + ", ".join(str(int(t)) for t in T[pend.biased])
            if pend.biased.any()
            else "not biased at any horizon measured"
        )
        + f"; its per-pair variance grows from {number(pend.first_order_trace[0])} to "
        f"{number(pend.first_order_trace[-1])} over T = {int(T[0])} to {int(T[-1])} steps, the zeroth order's from "
        f"{number(pend.zeroth_order_trace[0])} to {number(pend.zeroth_order_trace[-1])}; debiased gradient norm, "
        "first order: "
        + ", ".join(f"{number(v)} at T = {int(t)}" for v, t in zip(n1, T))
        + "; zeroth order: "
        + ", ".join(f"{number(v)} at T = {int(t)}" for v, t in zip(n0, T))
        + f" (0: below what {pend.samples} pairs resolve).",
    ]
    return findings + [f"Advice: {r.text}" for r in pend_advice[:3]]


def _summary(m: ContactMeasured, pend_advice, skid_sentence: str) -> str:
    ball, pend, main = m.ball, m.pendulum, m.main
    T = pend.horizons
    exact4, h4 = _ball_at_wall(ball)
    return (
        "Contact and clipping. A ball bouncing off a wall: AD's exact derivative of the final velocity with respect "
        f"to the start is 0, while the smoothed loss's gradient at the wall is {exact4[0]:+.3f}; the zeroth-order "
        f"estimate covers it ({ball.zeroth_order[h4, 0]:+.3f}), and the non-smooth cause is confirmed. gymnax "
        "Pendulum-v1, whose velocity and torque are clipped but continuous, "
        + (
            "shows a biased first order"
            if pend.biased.any()
            else "shows no bias (a clip is Lipschitz, so AD's derivative is the smoothed gradient's integrand)"
        )
        + f" on a spinning orbit whose velocity clip engages; the first order's variance grows from "
        f"{number(pend.first_order_trace[0])} to {number(pend.first_order_trace[-1])} (zeroth order "
        f"{number(pend.zeroth_order_trace[0])} to {number(pend.zeroth_order_trace[-1])}) over T = {int(T[0])} to "
        f"{int(T[-1])} steps. {pend_advice[1].text} Its diagnosis: {main.verdict} ({main.physics}). " + skid_sentence
    )


def _config(cfg: dict, fast: bool) -> dict:
    """The settings of all three parts, as recorded in the results file."""
    return {
        **{k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
        "ball_sigma": BALL_SIGMA,
        "pendulum_sigma": PENDULUM_SIGMA,
        "restitution": RESTITUTION,
        "pendulum_start": list(SPIN),
        **{k: list(v) if isinstance(v, tuple) else v for k, v in _contact_brax.settings(fast).items()},
        "brax_sigma": _contact_brax.SIGMA,
        "brax_start": list(_contact_brax.START),
        "brax_policy_seed": _contact_brax.POLICY_SEED,
    }


def narrate(cfg: dict, m: ContactMeasured, *, fast: bool) -> Study:
    """The study's sections, summary and findings from the numbers :func:`measure` returned."""
    pend = m.pendulum
    n1 = np.array([debiased_norm(pend, h, "first") for h in range(pend.horizons.size)])
    n0 = np.array([debiased_norm(pend, h, "zeroth") for h in range(pend.horizons.size)])
    skid_section, skid_findings, skid_sentence = _contact_brax.report(m.skid)
    sections = [ball_section(m.ball), _pendulum_section(pend, n1, n0), skid_section]
    pend_advice = smoothed_advice(pend)
    return make_study(
        "contact",
        "Contact and clipping: first-order against zeroth-order gradients",
        _summary(m, pend_advice, skid_sentence),
        m.main,
        sections,
        _findings(m, n1, n0, pend_advice) + skid_findings,
        fast=fast,
        config=_config(cfg, fast),
        extra={},
    )


@float64_scope
def run(*, fast: bool = False, progress=None) -> Study:
    cfg = _settings(fast)
    return narrate(cfg, measure(cfg, fast, progress or no_progress), fast=fast)


SPEC = StudySpec(
    name="contact",
    title="Contact and clipping",
    description=(
        "A bouncing ball, a clipped gymnax pendulum and a body on the ground in Brax: first-order (AD) "
        "against zeroth-order gradients."
    ),
    run=run,
)
