"""The contact study's first system: a ball thrown at a wall, a reflection with restitution
``e``, whose final velocity jumps when it bounces. The smoothed loss's gradient is known in
closed form (:func:`ball_smoothed_gradient`), against which both estimators of
:func:`chaosgrad.smoothed_gradients` are shown.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
from scipy.special import ndtr

from chaosgrad._nonsmooth.cause import evidence_words
from chaosgrad._nonsmooth.estimators import smoothed_gradients
from chaosgrad._nonsmooth.types import SmoothedGradientResult
from chaosgrad._results.study import Figure, Section, Series, Table
from chaosgrad._simulators.base import MapSimulator

RESTITUTION = 0.8
BALL_START = (1.0, -0.25)  # x0 (distance to the wall) and v0: the wall is reached at step 4
BALL_SIGMA = 0.1


def ball_step(y, e):
    """One step (dt = 1) of a ball moving towards a wall at ``x = 0``: a reflection with
    restitution ``e`` when the step would cross it."""
    x1 = y[0] + y[1]
    hit = x1 < 0
    return jnp.stack([jnp.where(hit, -e * x1, x1), jnp.where(hit, -e * y[1], y[1])])


def ball_smoothed_gradient(
    n: int, sigma: float = BALL_SIGMA, e: float = RESTITUTION, start: tuple = BALL_START
) -> tuple[np.ndarray, np.ndarray]:
    """``d/d(x0, v0) E[v_n]`` with noise ``sigma`` on ``(x0, v0)``, in closed form, and
    the mean of AD's derivative (the first-order estimate's limit).

    The ball bounces once (then moves away) iff ``m = x0 + n v0 < 0``, so
    ``v_n = v0 (1 - (1 + e) 1[m < 0])``. With ``s = sigma sqrt(1 + n^2)``,
    ``c = -E[m] / s`` and ``rho = corr(v0, m) = n / sqrt(1 + n^2)``,
    ``E[v0 1[m < 0]] = E[v0] Phi(c) - sigma rho phi(c)``; differentiating in the means
    gives the smoothed gradient. AD differentiates ``v_n`` with the indicator held fixed:
    ``(0, 1 - (1 + e) 1[m < 0])``, whose mean misses the jump's term."""
    x0, v0 = start
    s = sigma * math.sqrt(1 + n * n)
    rho = n / math.sqrt(1 + n * n)
    c = -(x0 + n * v0) / s
    pdf = math.exp(-c * c / 2) / math.sqrt(2 * math.pi)
    k = pdf * (v0 + sigma * rho * c) / s
    cdf = float(ndtr(c))
    return np.array([(1 + e) * k, 1 - (1 + e) * (cdf - n * k)]), np.array([0.0, 1 - (1 + e) * cdf])


def measure_ball(cfg: dict) -> SmoothedGradientResult:
    """Both estimators of ``d E[v_n] / d(x0, v0)`` at the horizons ``cfg["ball_horizons"]``."""
    return smoothed_gradients(
        MapSimulator(ball_step),
        jnp.asarray(BALL_START),
        jnp.asarray(RESTITUTION),
        horizons=cfg["ball_horizons"],
        wrt="y0",
        loss=lambda y: y[1],
        sigma=BALL_SIGMA,
        samples=cfg["ball_samples"],
        seed=0,
    )


def _ball_table(ball: SmoothedGradientResult) -> Table:
    """Both estimators per horizon against the closed form."""
    rows = []
    for h, n in enumerate(ball.horizon_steps):
        exact, ad = ball_smoothed_gradient(int(n))
        rows.append(
            (
                int(n),
                f"{exact[0]:+.4f}",
                f"{ball.first_order[h, 0]:+.4f} (AD mean {ad[0]:+.1f})",
                f"{ball.zeroth_order[h, 0]:+.4f} [{ball.zeroth_low[h, 0]:+.4f}, {ball.zeroth_high[h, 0]:+.4f}]",
                f"{exact[1]:+.4f}",
                f"{ball.first_order[h, 1]:+.4f}",
                f"{ball.zeroth_order[h, 1]:+.4f} [{ball.zeroth_low[h, 1]:+.4f}, {ball.zeroth_high[h, 1]:+.4f}]",
                "yes" if ball.biased[h] else "no",
            )
        )
    return Table(
        title="Bouncing ball: d E[v_n] / d(x0, v0) against its closed form",
        columns=(
            "steps n",
            "closed form d/dx0",
            "first order d/dx0",
            "zeroth order d/dx0 [95% simultaneous]",
            "closed form d/dv0",
            "first order d/dv0",
            "zeroth order d/dv0 [95%]",
            "first order biased",
        ),
        rows=tuple(rows),
        caption=(
            f"Ball from x0 = {BALL_START[0]:g} at v0 = {BALL_START[1]:g} towards a wall at 0 (restitution "
            f"{RESTITUTION:g}), Gaussian noise of scale {BALL_SIGMA:g} on (x0, v0), {ball.samples} antithetic "
            "pairs. The final velocity jumps when the ball bounces; AD's derivative with respect to x0 is "
            "exactly 0 at every sample."
        ),
    )


def ball_section(ball: SmoothedGradientResult) -> Section:
    """The ball's table against its closed form and the steps at which it is non-smooth."""
    steps = np.arange(ball.step_flags.size)
    ball_fig = Figure(
        title="Where the ball's program is non-smooth",
        xlabel="step",
        ylabel="pairs flagged",
        series=(
            Series(
                "pairs whose step disagrees with its derivative",
                steps.astype(float),
                ball.step_flags.astype(float),
                style="bar",
            ),
        ),
        caption=(
            f"Per step of the longest horizon, the pairs of noisy trajectories whose central difference across "
            f"the pair disagrees with the step's derivative at the midpoint by more than {ball.tolerance:g} "
            "(relative): the steps at which some trajectories hit the wall."
        ),
    )
    return Section(
        title="A ball against a wall: a closed form",
        text=evidence_words(ball),
        figures=(ball_fig,),
        tables=(_ball_table(ball),),
    )
