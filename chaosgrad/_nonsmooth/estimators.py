"""The gradient of a Gaussian-smoothed loss, by two estimators measured against each other.

A piecewise-smooth program (contact, clipping, resets, a step-function loss) has an
exact derivative, which AD computes, that is not the gradient an optimiser needs: the
loss ``L_T(x)`` jumps, and its derivative is zero (or huge) almost everywhere. The
object with a useful gradient is the smoothed loss

    F_T(x) = E_eps[ L_T(x + sigma eps) ],   eps ~ N(0, I),

with ``x`` the flattened ``wrt`` (the parameters, or the initial state) and ``sigma`` a
scale the user chooses. Two unbiased-looking estimators of ``grad F_T`` exist (Suh,
Simchowitz, Zhang & Tedrake, ICML 2022, "Do differentiable simulators give better policy
gradients?", secs. 2-3):

- first order (reparameterised, "pathwise"): ``g1 = mean_i grad L_T(x + sigma eps_i)``,
  AD through the user's own step. It equals ``grad F_T`` only when ``L_T`` is
  absolutely continuous along the noise (Lipschitz, say): exchanging ``grad`` and ``E``
  fails at a jump, where the exact derivative misses the jump's contribution
  ``(jump) x (density of crossings)``. A step-function loss gives ``g1 = 0`` while
  ``grad F_T = phi(z) / sigma``: the first-order estimate is *biased* (Suh et al. 2022,
  sec. 3.1 "empirical bias"). Even when unbiased, its variance grows with the stiffness
  and the horizon like ``|J_T|^2`` (sec. 3.2).
- zeroth order (score function / randomised smoothing; Nesterov & Spokoiny 2017):
  by Stein's identity ``grad F_T(x) = E[L_T(x + sigma eps) eps] / sigma``; subtracting
  the baseline ``L_T(x)`` (which has zero mean against ``eps``) and using antithetic
  pairs ``+-eps`` gives ``g0 = mean_i (L_T(x + sigma eps_i) - L_T(x - sigma eps_i))
  eps_i / (2 sigma)``, in which the baseline cancels exactly. Unbiased for any
  integrable ``L_T``, jumps included; its variance is about ``P Var(L) / sigma^2`` and
  does not see ``|J_T|``.

Both use the same ``N`` antithetic pairs, so ``d_i = g1_i - g0_i`` are ``N`` independent
paired differences (``g1_i = (grad L(x + sigma eps_i) + grad L(x - sigma eps_i)) / 2``),
and the interval on ``E[g1] - E[g0]`` is Student's t on ``d`` (the pairing removes the
part of the noise the two estimators share). Intervals are **per component, simultaneous
by Bonferroni** (each at level ``1 - (1 - confidence) / P``): every component is covered
at once with probability at least ``confidence`` whatever their correlation, and a bias
confined to one component (a ball's position, not its velocity) is what shows. A
projection on "the mean direction" would need that direction from the same samples,
which makes its interval optimistic (the direction is chosen to make the projection
large), or from a second batch; the Bonferroni quantile costs only ``sqrt(2 ln P)``
(2.2 for ``P = 1``, 3.0 for ``P = 8``, 4.9 for ``P = 10^4`` at 95%).

Where the non-smoothness sits is found by comparing, along the longest horizon, every pair's
two trajectories step by step (``_nonsmooth.locate``).

Everything runs in one compiled program per horizon set: the pairs are ``vmap``-ed, the
horizons ``lax.map``-ed over one unroll whose block count is traced (``_gradients.unroll``).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._checks import check_count, check_probability, check_step_shapes
from chaosgrad._diagnosis.types import Recommendation
from chaosgrad._errors import bad_argument
from chaosgrad._gradients.horizons import check_horizons
from chaosgrad._gradients.losses import as_loss, check_scalar_loss
from chaosgrad._gradients.options import checked_inputs
from chaosgrad._gradients.sweep import wrt_dimension
from chaosgrad._gradients.unroll import flat_objective
from chaosgrad._gradients.wrt import resolve_wrt
from chaosgrad._nonsmooth.advice import alpha_advice, horizon_advice, smoothing_advice, variance_advice
from chaosgrad._nonsmooth.locate import disagreement
from chaosgrad._nonsmooth.pairs import horizon_statistics
from chaosgrad._nonsmooth.types import SmoothedGradientResult
from chaosgrad._runtime.precision import float64_scope

DEFAULT_TOLERANCE = 0.1


@eqx.filter_jit
def _estimates(simulator, loss, sel, args, y0, b, K, nbs, eps, sigma):
    """Per horizon (``lax.map`` over ``nbs``) and pair (``vmap`` over ``eps``): the losses
    and gradients at ``x +- sigma eps``, and the loss at ``x``."""
    x0_of, objective = flat_objective(simulator, loss, sel, args, y0, b, K)
    x = x0_of(y0)
    vg = jax.value_and_grad(objective)

    def one_horizon(nb):
        def pair(e):
            e = (sigma * e).astype(x.dtype)
            lp, gp = vg(x + e, y0, nb)
            lm, gm = vg(x - e, y0, nb)
            return lp, lm, gp, gm

        lp, lm, gp, gm = jax.vmap(pair)(eps)
        return lp, lm, gp, gm, objective(x, y0, nb)

    return x, jax.lax.map(one_horizon, nbs)


def _check_positive(name, value, example):
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not (0 < value < math.inf)
    ):
        raise bad_argument(name, f"{value!r} is not a positive finite number", f"pass e.g. {example}")
    return float(value)


def _check_smoothing(sigma, samples, confidence, tolerance) -> tuple[float, int, float]:
    """The checked smoothing scale, number of pairs and confidence; ``tolerance`` must be in (0, 1)."""
    sigma = _check_positive("sigma", sigma, "0.1")
    samples = check_count("samples", samples, minimum=2, example=256)
    confidence = check_probability("confidence", confidence)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.floating)) or not 0 < tolerance < 1:
        raise bad_argument("tolerance", f"{tolerance!r} is not in (0, 1)", f"pass e.g. {DEFAULT_TOLERANCE}")
    return sigma, samples, confidence


def _rollouts(simulator, loss, sel, args, y0, steps, eps, sigma, tolerance):
    """Both compiled programs: the pairs' losses and gradients at every horizon
    (:func:`_estimates`), and the steps' disagreement along the longest
    (:func:`~chaosgrad._nonsmooth.locate.disagreement`)."""
    b = int(np.gcd.reduce(steps))
    K = int(steps[-1] // b)
    nbs = jnp.asarray(steps // b, jnp.int32)
    # sigma traced (an array), so that another scale reuses the compiled programs.
    scale = jnp.asarray(sigma, jnp.float64)
    _, estimates = _estimates(simulator, loss, sel, args, y0, b, K, nbs, eps, scale)
    return estimates, disagreement(simulator, loss, sel, args, y0, eps, scale, int(steps[-1]), tolerance)


def _method(samples: int, sigma: float, label: str, confidence: float, P: int, tolerance: float) -> str:
    level = int(round(confidence * 100))
    return (
        f"{samples} antithetic Gaussian pairs of scale {sigma:g} on {label}; first order: mean AD "
        "gradient at x +- sigma eps; zeroth order: (L(x + sigma eps) - L(x - sigma eps)) eps / (2 sigma) "
        f"(baseline L(x), cancelled by the pairs); {level}% Student-t intervals simultaneous over the {P} "
        "components (Bonferroni), paired for the difference; non-smooth steps: central difference across "
        f"each pair against the midpoint's one-step derivative, relative tolerance {tolerance:g}"
    )


@float64_scope
def smoothed_gradients(
    simulator,
    y0,
    args=None,
    *,
    horizons,
    wrt="args",
    loss=None,
    sigma: float,
    samples: int = 256,
    confidence: float = 0.95,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
) -> SmoothedGradientResult:
    """First-order and zeroth-order estimates of the gradient of the smoothed loss
    ``F_T(x) = E[L_T(x + sigma eps)]`` at each horizon, with their variances, the interval
    of their difference, and where along the trajectory the program is non-smooth.

    See the module docstring for the estimators (Suh, Simchowitz, Zhang & Tedrake 2022)
    and the intervals.

    Arguments:
        simulator, y0, args, loss: as for :func:`~chaosgrad.gradient_growth` (one start
            ``y0``; the noise is the ensemble).
        horizons: one or more increasing horizons (time units).
        wrt: ``"y0"`` (the noise is on the initial state's tangent leaves), ``"args"`` or
            a path into ``args`` (on those parameters).
        sigma: the smoothing scale, in the units of ``wrt`` (the same for every component).
        samples: the number ``N`` of antithetic pairs (``2 N`` rollouts per horizon).
        confidence: the simultaneous level of the intervals.
        tolerance: the relative disagreement that flags a step as non-smooth.
        seed: the noise's seed.
    """
    simulator, y0, args, seed = checked_inputs(simulator, y0, args, seed)
    sel = resolve_wrt(wrt, args)
    loss = as_loss(loss)
    steps = check_horizons(horizons, simulator.dt, least=1)
    sigma, samples, confidence = _check_smoothing(sigma, samples, confidence, tolerance)
    check_step_shapes(simulator, y0, args)
    check_scalar_loss(loss, y0)

    P = wrt_dimension(simulator, sel, y0, args)
    eps = jax.random.normal(jax.random.PRNGKey(seed), (samples, P), jnp.float64)
    (lp, lm, gp, gm, l0), (flags, worst_r, loss_flags) = _rollouts(
        simulator, loss, sel, args, y0, steps, eps, sigma, tolerance
    )
    stacked, outside, differ, finite = horizon_statistics(lp, lm, gp, gm, eps, sigma, confidence)
    flags = np.asarray(flags, np.int64)
    return SmoothedGradientResult(
        horizons=(steps * simulator.dt).astype(np.float64),
        horizon_steps=steps.astype(np.int64),
        **stacked,
        first_order_trace=stacked["first_order_var"].sum(1),
        zeroth_order_trace=stacked["zeroth_order_var"].sum(1),
        first_outside=outside,
        differ=differ,
        biased=outside & differ,
        loss_at_center=np.asarray(l0, np.float64),
        finite_pairs=finite,
        step_flags=flags,
        step_disagreement=np.asarray(worst_r, np.float64),
        loss_flags=int(loss_flags),
        nonsmooth_steps=np.flatnonzero(flags).astype(np.int64),
        tolerance=float(tolerance),
        sigma=sigma,
        samples=samples,
        confidence=float(confidence),
        seed=seed,
        wrt=sel.label,
        loss=loss.name,
        dtype=simulator.dtype,
        method=_method(samples, sigma, sel.label, confidence, P, tolerance),
    )


def interpolation_alpha(result: SmoothedGradientResult) -> np.ndarray:
    """Per horizon, the weight ``alpha`` of the first-order estimate in the interpolated
    (alpha-order) estimator ``g_alpha = alpha g1 + (1 - alpha) g0`` that minimises
    ``tr Var(g_alpha)``:

        alpha* = (tr S0 - tr C) / (tr S1 + tr S0 - 2 tr C),

    with ``S1, S0`` the two estimators' covariances and ``C`` their cross-covariance
    (the samples are paired). With independent samples (``C = 0``) this is the
    inverse-variance weighting of total propagation (Parmas, Rasmussen, Peters & Doya
    2018, "PIPPS", sec. 4), ``alpha = (1/tr S1) / (1/tr S1 + 1/tr S0)``, the alpha of
    Suh et al. (2022, sec. 4, "alpha-order gradient"). As in Suh et al., the first
    order is given no weight where it is biased (``biased``): its variance is then beside
    the point. Clipped to ``[0, 1]``; NaN where a horizon has no statistics."""
    s1, s0, c = result.first_order_trace, result.zeroth_order_trace, result.covariance_trace
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = s1 + s0 - 2 * c
        alpha = np.where(denom > 0, (s0 - c) / denom, 1.0)
    alpha = np.clip(alpha, 0.0, 1.0)
    alpha = np.where(result.biased, 0.0, alpha)
    return np.where(np.isfinite(s1) & np.isfinite(s0), alpha, np.nan)


def smoothed_advice(result: SmoothedGradientResult, *, relative_error: float = 0.1) -> list[Recommendation]:
    """Advice with numbers from a :class:`SmoothedGradientResult`: each estimator's
    variance against the horizon, the horizon beyond which the first-order estimate stops
    paying (its variance exceeds the zeroth-order's, or it is biased), the alpha of the
    interpolated estimator (:func:`interpolation_alpha`) and the smoothing scale with the
    number of pairs it needs for a zeroth-order estimate good to ``relative_error``."""
    _check_positive("relative_error", relative_error, "0.1")
    T = result.horizons
    s1, s0 = result.first_order_trace, result.zeroth_order_trace
    ok = np.isfinite(s1) & np.isfinite(s0)
    if not ok.any():
        return [Recommendation("smoothing", "No horizon has two finite pairs: nothing to advise on.", None, None)]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(s0 > 0, s1 / s0, np.where(s1 > 0, np.inf, 1.0))
    return [
        variance_advice(T, ok, s1, s0, ratio),
        horizon_advice(T, ok, ratio, result.biased, result.worst_z),
        alpha_advice(T, ok, interpolation_alpha(result)),
        smoothing_advice(result, ok, relative_error),
    ]
