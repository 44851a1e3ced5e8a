"""The contact study's third system: a body sliding and rocking on the ground, simulated by
Brax (generalized pipeline), under a seeded random linear policy.

The body (``skid``) is one capsule, 0.6 m long and 1 kg, free in the vertical plane
(``x``, ``z`` and the pitch, as the root of Brax's ``hopper``), started tilted just above
the floor so that it lands on one end within a few steps and rocks on both; three motors
push it along ``x``, ``z`` (too weak to lift it: 5 N against its 9.8 N weight) and in
pitch. The reward is the forward velocity less 0.1 |a|^2. Brax's ``hopper`` has the same
contact (a capsule foot on the floor) on four bodies with four physics steps per
environment step: its step compiles about as slowly, and its gradient costs about ten times
as much per step, which does not fit the study's minutes on two cores.

The return's gradient with respect to the policy's gains is measured against the
trajectory's length by both estimators of the smoothed return's gradient
(:func:`chaosgrad.smoothed_gradients`; Suh, Simchowitz, Zhang & Tedrake 2022), and the
non-smooth cause (:class:`chaosgrad.NonSmooth`) is confirmed or not from them. The
generalized pipeline resolves contact with a stiff penalty that is zero until the capsule
penetrates the floor: the force is continuous in the state and its derivative jumps at
touch-down and lift-off, and Coulomb friction switches with the sliding direction. Which
of these the estimators see is what is measured.

Brax is an optional dependency (``pip install 'chaosgrad[envs]'``): without it, the part
is a note naming that command, and the rest of the study runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._diagnosis.words import number
from chaosgrad._errors import ChaosgradInputError
from chaosgrad._gradients.losses import ReturnLoss
from chaosgrad._nonsmooth.cause import NonSmooth
from chaosgrad._nonsmooth.estimators import smoothed_advice, smoothed_gradients
from chaosgrad._nonsmooth.types import SmoothedGradientResult
from chaosgrad._results.study import Figure, Section, Series, Table
from chaosgrad.envs import brax as brax_adapter
from chaosgrad.envs import coordinates
from chaosgrad.studies._common import import_optional

ENV, BACKEND = "skid", "generalized"
SIGMA = 0.05  # smoothing scale on the gains (the gains' entries are about 0.2)
START = (0.15, 0.3)  # height (m) of the capsule's centre and its pitch (rad): its low end 1 cm above the floor
SKID_XML = """
<mujoco model="skid">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="0.005" iterations="4"/>
  <worldbody>
    <geom name="floor" size="20 20 0.125" type="plane" conaffinity="1" condim="3"/>
    <body name="skid" pos="0 0 0">
      <joint name="rootx" axis="1 0 0" type="slide" limited="false" armature="0" damping="0"/>
      <joint name="rootz" axis="0 0 1" type="slide" limited="false" armature="0" damping="0"/>
      <joint name="rooty" axis="0 1 0" type="hinge" limited="false" armature="0" damping="0"/>
      <geom name="capsule" type="capsule" size="0.05 0.3" quat="0.707107 0 0.707107 0" contype="1"
            conaffinity="0" condim="3" friction="0.9 0.005 0.0001" mass="1"/>
    </body>
  </worldbody>
  <actuator>
    <motor ctrlrange="-1 1" gear="5" joint="rootx"/>
    <motor ctrlrange="-1 1" gear="5" joint="rootz"/>
    <motor ctrlrange="-1 1" gear="1" joint="rooty"/>
  </actuator>
</mujoco>
"""


def skid_env(n_frames: int = 2):
    """The skid as a Brax ``PipelineEnv`` (two physics steps of 5 ms per environment step);
    observation ``(q, qd)``."""
    base = import_optional("brax.envs.base", "contact study's Brax")
    mjcf = import_optional("brax.io.mjcf", "contact study's Brax")

    class Skid(base.PipelineEnv):  # type: ignore[name-defined]  # brax is imported when the study runs
        def __init__(self):
            super().__init__(sys=mjcf.loads(SKID_XML), backend=BACKEND, n_frames=n_frames)

        def reset(self, rng):
            del rng  # one deterministic start: the noise is on the gains
            q0 = self.sys.init_q
            q = q0 + jnp.asarray([0.0, START[0], START[1]], q0.dtype)
            ps = self.pipeline_init(q, jnp.zeros(self.sys.qd_size(), q0.dtype))
            zero = jnp.zeros((), q0.dtype)
            return base.State(ps, self._obs(ps), zero, zero)

        def step(self, state, action):
            ps = self.pipeline_step(state.pipeline_state, action)
            forward = (ps.x.pos[0, 0] - state.pipeline_state.x.pos[0, 0]) / self.dt
            return state.replace(pipeline_state=ps, obs=self._obs(ps), reward=forward - 0.1 * jnp.sum(action**2))

        def _obs(self, ps):
            return jnp.concatenate([ps.q, ps.qd])

    return Skid()


POLICY_SEED = 0
POLICY_SCALE = 0.5  # K_ij ~ N(0, (0.5 / sqrt(obs size))^2): |K obs| of order 0.5 for unit observations


def linear_policy(params, obs):
    """``a = tanh(K obs)``: the motors' controls are bounded to ``[-1, 1]``."""
    return jnp.tanh(params["K"] @ obs)


def random_gains(action_size: int, obs_size: int, dtype, seed: int = POLICY_SEED) -> dict:
    """The seeded random linear policy's gains."""
    k = jax.random.normal(jax.random.PRNGKey(seed), (action_size, obs_size), jnp.float64)
    return {"K": (POLICY_SCALE / math.sqrt(obs_size) * k).astype(dtype)}


def settings(fast: bool) -> dict:
    """Horizons in environment steps (``dt = 0.01`` s) and antithetic pairs; ``None``
    under ``fast`` (compiling Brax's step and its derivatives takes minutes on two cores)."""
    if fast:
        return {"brax_horizon_steps": None, "brax_samples": None}
    return {"brax_horizon_steps": (5, 10, 20, 40, 80), "brax_samples": 64}


@dataclass(frozen=True)
class BraxContact:
    """What the part measured (``result``) or why it did not run (``missing``)."""

    result: SmoothedGradientResult | None
    missing: str | None
    dt: float = math.nan
    parameters: int = 0


def measure(fast: bool) -> BraxContact:
    """Both estimators on the Brax skid at the horizons of :func:`settings`; a note
    naming the install command when Brax is not installed."""
    cfg = settings(fast)
    if fast:
        return BraxContact(
            None,
            "skipped under --fast: compiling Brax's step, its gradient and its derivative "
            "checks takes minutes on two cores; `chaosgrad analyze contact` runs it",
        )
    try:
        env = skid_env()
    except ChaosgradInputError as exc:
        return BraxContact(None, str(exc))
    # The contact is the physics asked about: one trajectory without end or reset.
    sim = brax_adapter(env, linear_policy, episode="continue", tangent=coordinates)
    y0 = sim.initial_state(0)
    obs = y0.env.obs
    gains = random_gains(env.action_size, int(obs.shape[0]), obs.dtype)
    result = smoothed_gradients(
        sim,
        y0,
        gains,
        horizons=[n * sim.dt for n in cfg["brax_horizon_steps"]],
        wrt="args",
        loss=ReturnLoss(),
        sigma=SIGMA,
        samples=cfg["brax_samples"],
        seed=0,
    )
    return BraxContact(result, None, sim.dt, int(np.size(gains["K"])))


def debiased(result: SmoothedGradientResult, which: str) -> np.ndarray:
    """``|E g|`` per horizon from a mean of ``N`` noisy estimates: ``|mean|^2 - tr Sigma / N``
    (zero where the estimate is below what the pairs resolve)."""
    mean = result.first_order if which == "first" else result.zeroth_order
    trace = result.first_order_trace if which == "first" else result.zeroth_order_trace
    n = np.maximum(result.finite_pairs, 1)
    return np.sqrt(np.maximum(np.sum(mean * mean, axis=1) - trace / n, 0.0))


def _steps(result) -> str:
    return ", ".join(str(int(n)) for n in result.horizon_steps)


def _norms(r: SmoothedGradientResult, n1: np.ndarray, n0: np.ndarray) -> str:
    """The debiased norms per horizon, in words."""
    return "; ".join(
        f"{int(n)} steps: first {number(a)}, zeroth {number(b)}" for n, a, b in zip(r.horizon_steps, n1, n0)
    )


def _figures(
    r: SmoothedGradientResult, m: BraxContact, n1: np.ndarray, n0: np.ndarray
) -> tuple[Figure, Figure, Figure]:
    """The gradient norms and the per-pair variances against the horizon, and the steps flagged non-smooth."""
    steps = r.horizon_steps.astype(float)
    norm_fig = Figure(
        title="Brax skid: the return's gradient norm against trajectory length (random linear policy)",
        xlabel="horizon (environment steps)",
        ylabel="|gradient| (debiased)",
        yscale="log",
        series=(
            Series("first order (AD through the contact)", steps, n1, style="line+marker"),
            Series("zeroth order (randomised smoothing)", steps, n0, style="line+marker"),
        ),
        caption=(
            f"Norm of the smoothed return's gradient with respect to the {m.parameters} gains (sigma = "
            f"{r.sigma:g}, {r.samples} antithetic pairs) at {_steps(r)} steps of {m.dt:g} s, debiased for "
            f"each estimate's noise (|mean|^2 - tr Sigma / N; 0 is drawn as a gap): {_norms(r, n1, n0)}."
        ),
    )
    var_fig = Figure(
        title="Brax skid: per-pair variance of each estimator against the horizon",
        xlabel="horizon (environment steps)",
        ylabel="tr Sigma per pair",
        yscale="log",
        series=(
            Series("first order", steps, r.first_order_trace, style="line+marker"),
            Series("zeroth order", steps, r.zeroth_order_trace, style="line+marker"),
        ),
        caption=(
            f"tr Sigma of one pair's estimate: first order from {number(r.first_order_trace[0])} to "
            f"{number(r.first_order_trace[-1])}, zeroth order from {number(r.zeroth_order_trace[0])} to "
            f"{number(r.zeroth_order_trace[-1])} over {int(steps[0])} to {int(steps[-1])} steps."
        ),
    )
    k = np.arange(r.step_flags.size, dtype=float)
    flag_fig = Figure(
        title="Brax skid: where the program is non-smooth",
        xlabel="step",
        ylabel="pairs flagged",
        series=(Series("pairs whose step disagrees with its derivative", k, r.step_flags.astype(float), style="bar"),),
        caption=(
            f"Per step of the {r.step_flags.size}-step horizon, the pairs (of {r.samples}) whose central "
            f"difference across the pair disagrees with the step's derivative along it by more than "
            f"{r.tolerance:g} (relative): {int(np.count_nonzero(r.step_flags))} steps flagged, at most "
            f"{int(r.step_flags.max(initial=0))} pairs at one step."
        ),
    )
    return norm_fig, var_fig, flag_fig


def _table(r: SmoothedGradientResult, m: BraxContact, n1: np.ndarray, n0: np.ndarray) -> Table:
    """Both estimators per horizon."""
    return Table(
        title="Brax skid: both estimators per horizon",
        columns=(
            "steps",
            "|g| first order",
            "|g| zeroth order",
            "tr Sigma first",
            "tr Sigma zeroth",
            "largest |difference| / s.e.",
            "first order biased",
            "finite pairs",
        ),
        rows=tuple(
            (int(n), number(a), number(b), number(c), number(d), number(z), "yes" if bias else "no", int(f))
            for n, a, b, c, d, z, bias, f in zip(
                r.horizon_steps, n1, n0, r.first_order_trace, r.zeroth_order_trace, r.worst_z, r.biased, r.finite_pairs
            )
        ),
        caption=(
            f"Bonferroni-simultaneous intervals over the {m.parameters} gains at {r.confidence:.0%} "
            f"(quantile {r.quantile[-1]:.2f}); the return is the skid's reward (forward velocity less "
            "0.1 |a|^2) summed over the horizon."
        ),
    )


def report(m: BraxContact) -> tuple[Section, list[str], str]:
    """The section, the findings and the summary's sentence for the Brax part."""
    if m.result is None:
        text = f"The Brax skid was not run: {m.missing}"
        return Section(title="Brax skid: ground contact", text=text), [text], text
    r = m.result
    n1, n0 = debiased(r, "first"), debiased(r, "zeroth")
    confirmed, why, _ = NonSmooth(measured=r).confirm(None)
    biased_at = ", ".join(str(int(n)) for n in r.horizon_steps[r.biased])
    section = Section(
        title=f"Brax {ENV} ({BACKEND} pipeline): ground contact under a random linear policy",
        text=(f"The non-smooth cause is {'confirmed' if confirmed else 'not confirmed'}: {why}"),
        figures=_figures(r, m, n1, n0),
        tables=(_table(r, m, n1, n0),),
    )
    advice = smoothed_advice(r)
    findings = [
        f"Brax skid (random linear policy, {m.parameters} gains, sigma = {r.sigma:g}, {r.samples} pairs): the "
        "first-order estimate is "
        + (f"biased at {biased_at} steps" if confirmed else f"not biased at any of {_steps(r)} steps")
        + f"; debiased gradient norms: {_norms(r, n1, n0)}.",
        f"Brax skid: {advice[0].text}",
    ]
    sentence = (
        f"On a body rocking on the ground in Brax (ground contact, random linear policy) the non-smooth cause is "
        f"{'confirmed' if confirmed else 'not confirmed'} over {_steps(r)} steps: the first order's per-pair variance "
        f"goes from {number(r.first_order_trace[0])} to {number(r.first_order_trace[-1])}, the zeroth order's from "
        f"{number(r.zeroth_order_trace[0])} to {number(r.zeroth_order_trace[-1])}."
    )
    return section, findings, sentence
