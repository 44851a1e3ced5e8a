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

Where the non-smoothness sits: along the longest horizon every pair's two trajectories
``y+_k, y-_k`` are compared step by step. The central difference of the step across the
pair, ``step(y+_k) - step(y-_k)``, is set against the step's one-step derivative along
the same increment ``d = y+_k - y-_k`` (parameters included), integrated along the segment
by Simpson's rule: ``(D step(y+_k) + 4 D step(m_k) + D step(y-_k)) d / 6`` (three
``jvp`` s, ``m_k`` the midpoint). For a smooth step the two differ by at most
``|d|^5 |D^5 step| / 2880``, a relative error of about ``(|d| / l)^4 / 2880`` with ``l`` the
length over which the step's derivative changes; a jump between the pair's states
contributes the jump itself (not proportional to ``|d|``) and a kink a relative error of
order one. A step is flagged where the relative disagreement exceeds ``tolerance``
(default 0.1: a smooth step reaches it only when the pair's spread exceeds about
``4 l``, where it is far from linear across what the smoothing probes, so reporting it is
correct too). The loss at the final states is checked the same way.

Everything runs in one compiled program per horizon set: the pairs are ``vmap``-ed, the
horizons ``lax.map``-ed over one unroll whose block count is traced (``_gradients.unroll``).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from chaosgrad._checks import check_count, check_probability, check_step_shapes
from chaosgrad._diagnosis import words as words
from chaosgrad._diagnosis.types import Recommendation
from chaosgrad._errors import bad_argument
from chaosgrad._gradients.horizons import check_horizons
from chaosgrad._gradients.losses import as_loss, check_scalar_loss
from chaosgrad._gradients.options import checked_inputs
from chaosgrad._gradients.sweep import split_theta
from chaosgrad._gradients.unroll import flat_objective
from chaosgrad._gradients.wrt import resolve_wrt
from chaosgrad._nonsmooth.types import SmoothedGradientResult
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._student_t import t_quantile

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


def _simpson(f, plus, minus, tangent):
    """``integral_0^1 D f(minus + s (plus - minus)) ds`` applied to ``tangent`` (= ``plus -
    minus``) by Simpson's rule: the derivative along the segment at both ends and the
    midpoint, ``(D f(plus) + 4 D f(mid) + D f(minus)) tangent / 6``. For a smooth ``f`` it
    equals the secant ``f(plus) - f(minus)`` up to ``|d|^5 |D^5 f| / 2880``."""
    mid = jax.tree_util.tree_map(lambda a, b: (a + b) / 2, plus, minus)
    push = lambda at: jax.jvp(f, at, tangent)[1]
    return (push(plus) + 4 * push(mid) + push(minus)) / 6


@eqx.filter_jit
def _disagreement(simulator, loss, sel, args, y0, eps, sigma, n_steps, tolerance):
    """Along ``n_steps`` steps of every pair's two trajectories: per step, the number of
    pairs whose central difference across the pair disagrees with the step's derivative
    along the segment between them (:func:`_simpson`) by more than ``tolerance``
    (relative), and the largest disagreement; the same for the loss at the final states."""
    flat = simulator.tangent_space(y0)[0]
    theta, rebuild = split_theta(sel, args)
    th_flat, unravel = ravel_pytree(theta)
    feps = float(jnp.finfo(jnp.dtype(simulator.dtype)).eps)

    def starts(e):
        if sel.kind == "y0":
            u, rest = flat.split(y0)
            e = (sigma * e).astype(u.dtype)
            return (flat.combine(u + e, rest), th_flat), (flat.combine(u - e, rest), th_flat)
        e = (sigma * e).astype(th_flat.dtype)
        return (y0, th_flat + e), (y0, th_flat - e)

    def relative(fd, jd, d_norm, scale):
        # Round-off: each evaluation is good to about eps |value|; the floor keeps that
        # (and a derivative below sqrt(eps) of the increment, e.g. a saturated clip
        # where both are zero) from counting as a disagreement.
        floor = math.sqrt(feps) * d_norm + 4 * feps * scale / tolerance + 1e-300
        return jnp.linalg.norm(fd - jd) / jnp.maximum(jnp.maximum(jnp.linalg.norm(fd), jnp.linalg.norm(jd)), floor)

    def one_pair(e):
        (yp, tp), (ym, tm) = starts(e)
        dth = tp - tm

        def body(carry, k):
            yp, ym = carry
            t = k * simulator.dt
            up, rest = flat.split(yp)
            um = flat.split(ym)[0]

            def f(u, th):
                return flat.split(simulator.step(t, flat.combine(u, rest), rebuild(unravel(th))))[0]

            yp1 = simulator.step(t, yp, rebuild(unravel(tp)))
            ym1 = simulator.step(t, ym, rebuild(unravel(tm)))
            up1, um1 = flat.split(yp1)[0], flat.split(ym1)[0]
            du = up - um
            jd = _simpson(f, (up, tp), (um, tm), (du, dth))
            d_norm = jnp.sqrt(jnp.sum(du.astype(jnp.float64) ** 2) + jnp.sum(dth.astype(jnp.float64) ** 2))
            scale = jnp.linalg.norm(up1) + jnp.linalg.norm(um1)
            r = relative((up1 - um1).astype(jnp.float64), jd.astype(jnp.float64), d_norm, scale)
            return (yp1, ym1), r

        (yp, ym), r = jax.lax.scan(body, (yp, ym), jnp.arange(n_steps))
        # The loss may read leaves outside the tangent space (a running return): its
        # check differentiates along every floating leaf of the final state.
        dp, static = eqx.partition(yp, eqx.is_inexact_array)
        dm = eqx.partition(ym, eqx.is_inexact_array)[0]
        lf = lambda d: _pointwise(loss, n_steps * simulator.dt, eqx.combine(d, static), y0)
        lp, lm = lf(dp), lf(dm)
        diff = jax.tree_util.tree_map(lambda a, b: a - b, dp, dm)
        jd = _simpson(lf, (dp,), (dm,), (diff,))
        d_norm = jnp.sqrt(sum(jnp.sum(x.astype(jnp.float64) ** 2) for x in jax.tree_util.tree_leaves(diff)))
        rl = relative(jnp.atleast_1d(lp - lm), jnp.atleast_1d(jd), d_norm, jnp.abs(lp) + jnp.abs(lm))
        return r, rl

    r, rl = jax.vmap(one_pair)(eps)
    r = jnp.where(jnp.isfinite(r), r, jnp.inf)
    return (
        jnp.sum(r > tolerance, axis=0),
        jnp.max(r, axis=0),
        jnp.sum(jnp.where(jnp.isfinite(rl), rl, jnp.inf) > tolerance),
    )


def _pointwise(loss, t, y, template):
    """What the loss reads from the state ``y`` at time ``t``: its final part, plus its
    integrand when it has one (loss rule 2), in float64."""
    value = loss.final(y, template).astype(jnp.float64)
    return value + loss.integrand(t, y, template).astype(jnp.float64) if loss.accumulates else value


def _check_positive(name, value, example):
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not (0 < value < math.inf)
    ):
        raise bad_argument(name, f"{value!r} is not a positive finite number", f"pass e.g. {example}")
    return float(value)


def pair_statistics(lp, lm, gp, gm, eps, sigma, confidence):
    """The estimates, variances and intervals of one horizon from its pairs (float64, on
    the host). Pairs with a non-finite loss or gradient are left out; returns a dict and
    the number of pairs used."""
    lp, lm = np.asarray(lp, np.float64), np.asarray(lm, np.float64)
    gp, gm, eps = (np.asarray(a, np.float64) for a in (gp, gm, eps))
    ok = np.isfinite(lp) & np.isfinite(lm) & np.isfinite(gp).all(axis=1) & np.isfinite(gm).all(axis=1)
    n, P = int(ok.sum()), gp.shape[1]
    g1 = (gp[ok] + gm[ok]) / 2
    g0 = ((lp[ok] - lm[ok]) / (2 * sigma))[:, None] * eps[ok]
    nan = np.full(P, np.nan)
    if n < 2:
        return dict(
            first=nan,
            zeroth=nan,
            v1=nan,
            v0=nan,
            cov=math.nan,
            zlo=nan,
            zhi=nan,
            diff=nan,
            dlo=nan,
            dhi=nan,
            q=math.nan,
            outside=False,
            differ=False,
            worst=math.nan,
            smoothed=float(np.mean((lp[ok] + lm[ok]) / 2)) if n else math.nan,
        ), n
    d = g1 - g0
    m1, m0, md = g1.mean(0), g0.mean(0), d.mean(0)
    v1, v0, vd = g1.var(0, ddof=1), g0.var(0, ddof=1), d.var(0, ddof=1)
    cov = float(np.sum((g1 - m1) * (g0 - m0)) / (n - 1))
    q = t_quantile(1 - (1 - confidence) / (2 * P), n - 1)
    s0, sd = np.sqrt(v0 / n), np.sqrt(vd / n)
    zlo, zhi, dlo, dhi = m0 - q * s0, m0 + q * s0, md - q * sd, md + q * sd
    outside = bool(np.any((m1 < zlo) | (m1 > zhi)))
    differ = bool(np.any((dlo > 0) | (dhi < 0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, np.abs(md) / sd, np.where(md != 0, np.inf, 0.0))
    return dict(
        first=m1,
        zeroth=m0,
        v1=v1,
        v0=v0,
        cov=cov,
        zlo=zlo,
        zhi=zhi,
        diff=md,
        dlo=dlo,
        dhi=dhi,
        q=q,
        outside=outside,
        differ=differ,
        worst=float(np.max(z)),
        smoothed=float(np.mean((lp[ok] + lm[ok]) / 2)),
    ), n


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
    sigma = _check_positive("sigma", sigma, "0.1")
    samples = check_count("samples", samples, minimum=2, example=256)
    confidence = check_probability("confidence", confidence)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.floating)) or not 0 < tolerance < 1:
        raise bad_argument("tolerance", f"{tolerance!r} is not in (0, 1)", f"pass e.g. {DEFAULT_TOLERANCE}")
    check_step_shapes(simulator, y0, args)
    check_scalar_loss(loss, y0)

    b = int(np.gcd.reduce(steps))
    K = int(steps[-1] // b)
    nbs = jnp.asarray(steps // b, jnp.int32)
    if sel.kind == "y0":
        P = simulator.tangent_space(y0)[0].dim
    else:
        P = int(sum(np.size(v) for v in jax.tree_util.tree_leaves(split_theta(sel, args)[0])))
    eps = jax.random.normal(jax.random.PRNGKey(seed), (samples, P), jnp.float64)
    # sigma traced (an array), so that another scale reuses the compiled programs.
    scale = jnp.asarray(sigma, jnp.float64)
    _, (lp, lm, gp, gm, l0) = _estimates(simulator, loss, sel, args, y0, b, K, nbs, eps, scale)
    flags, worst_r, loss_flags = _disagreement(simulator, loss, sel, args, y0, eps, scale, int(steps[-1]), tolerance)

    H = len(steps)
    keys = ("first", "zeroth", "v1", "v0", "zlo", "zhi", "diff", "dlo", "dhi")
    arrays = {k: np.full((H, P), np.nan) for k in keys}
    scalars = {k: np.full(H, np.nan) for k in ("cov", "q", "worst", "smoothed")}
    outside, differ, finite = np.zeros(H, bool), np.zeros(H, bool), np.zeros(H, np.int64)
    eps_host = np.asarray(eps)
    for h in range(H):
        stats, n = pair_statistics(lp[h], lm[h], gp[h], gm[h], eps_host, sigma, confidence)
        finite[h] = n
        for k in keys:
            arrays[k][h] = stats[k]
        for k in scalars:
            scalars[k][h] = stats[k]
        outside[h], differ[h] = stats["outside"], stats["differ"]
    flags = np.asarray(flags, np.int64)
    level = int(round(confidence * 100))
    return SmoothedGradientResult(
        horizons=(steps * simulator.dt).astype(np.float64),
        horizon_steps=steps.astype(np.int64),
        first_order=arrays["first"],
        zeroth_order=arrays["zeroth"],
        first_order_var=arrays["v1"],
        zeroth_order_var=arrays["v0"],
        first_order_trace=arrays["v1"].sum(1),
        zeroth_order_trace=arrays["v0"].sum(1),
        covariance_trace=scalars["cov"],
        zeroth_low=arrays["zlo"],
        zeroth_high=arrays["zhi"],
        difference=arrays["diff"],
        difference_low=arrays["dlo"],
        difference_high=arrays["dhi"],
        quantile=scalars["q"],
        first_outside=outside,
        differ=differ,
        biased=outside & differ,
        worst_z=scalars["worst"],
        smoothed_loss=scalars["smoothed"],
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
        method=(
            f"{samples} antithetic Gaussian pairs of scale {sigma:g} on {sel.label}; first order: mean AD "
            "gradient at x +- sigma eps; zeroth order: (L(x + sigma eps) - L(x - sigma eps)) eps / (2 sigma) "
            f"(baseline L(x), cancelled by the pairs); {level}% Student-t intervals simultaneous over the {P} "
            "components (Bonferroni), paired for the difference; non-smooth steps: central difference across "
            f"each pair against the midpoint's one-step derivative, relative tolerance {tolerance:g}"
        ),
    )


def _crossing(times, ratio):
    """The horizon at which ``ratio`` (first-order over zeroth-order variance) first
    exceeds 1: linear interpolation of ``ln ratio`` between the last horizon below 1 and
    the first above; the first horizon if it is above already; ``None`` if none is."""
    above = np.flatnonzero(ratio > 1)
    if above.size == 0:
        return None
    i = int(above[0])
    if i == 0:
        return float(times[0])
    if not ratio[i - 1] > 0 or not math.isfinite(ratio[i]):
        return float(times[i])
    a, b = math.log(ratio[i - 1]), math.log(ratio[i])
    return float(times[i - 1] + (times[i] - times[i - 1]) * (0 - a) / (b - a))


def variance_rate(times, variances) -> float | None:
    """The least-squares slope of ``ln variance`` against ``T`` over the horizons with a
    positive variance (at least two distinct), or ``None``: the exponential rate at which
    an estimator's variance grows (about ``2 lambda_1`` for the first order through chaos,
    Suh et al. 2022 sec. 3.2; near 0 for the zeroth order, whose variance is bounded by
    ``P Var(L) / sigma^2``)."""
    t, v = np.asarray(times, np.float64), np.asarray(variances, np.float64)
    keep = np.isfinite(v) & (v > 0)
    if np.unique(t[keep]).size < 2:
        return None
    return float(np.polyfit(t[keep], np.log(v[keep]), 1)[0])


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
    out = []
    if not ok.any():
        return [Recommendation("smoothing", "No horizon has two finite pairs: nothing to advise on.", None, None)]
    pairs = "; ".join(
        f"T = {words.number(t)}: {words.number(a)} vs {words.number(z)}" for t, a, z in zip(T[ok], s1[ok], s0[ok])
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(s0 > 0, s1 / s0, np.where(s1 > 0, np.inf, 1.0))
    text = f"Per-sample variance (trace) of the first-order vs the zeroth-order estimate: {pairs}."
    rates = [variance_rate(T[ok], s) for s in (s1[ok], s0[ok])]
    if all(r is not None for r in rates):
        text += (
            f" Least-squares growth rates of ln(variance) in T: {words.number(rates[0], signed=True)} (first "
            f"order) and {words.number(rates[1], signed=True)} (zeroth order) per time unit."
        )
    out.append(Recommendation("estimator variance", text, float(ratio[ok][-1]), "ratio"))
    biased = result.biased & ok
    cross = _crossing(T[ok], ratio[ok])
    if biased.any():
        t_b = float(T[biased][0])
        out.append(
            Recommendation(
                "first-order horizon",
                f"The first-order (AD) estimate is biased from T = {words.number(t_b)} on (it falls outside the "
                f"zeroth-order interval and their difference excludes 0, largest |difference| = "
                f"{words.number(float(np.nanmax(result.worst_z[biased])))} standard errors): the program is non-smooth at "
                "the smoothing scale, and AD's exact derivative is not the smoothed loss's gradient there. Use the "
                "zeroth-order estimate (or smooth the contact / clip) at those horizons.",
                t_b,
                "time",
            )
        )
    elif cross is not None and np.all(ratio[ok][T[ok] > cross] > 1):
        out.append(
            Recommendation(
                "first-order horizon",
                f"The first-order estimate stops paying beyond T ≈ {words.number(cross)}: its variance exceeds the "
                "zeroth-order's from there on (both unbiased within their intervals).",
                cross,
                "time",
            )
        )
    elif cross is not None:
        over = ", ".join(words.number(float(t)) for t in T[ok][ratio[ok] > 1])
        under = ", ".join(words.number(float(t)) for t in T[ok][(ratio[ok] <= 1) & (T[ok] > cross)])
        out.append(
            Recommendation(
                "first-order horizon",
                f"The first-order estimate's variance first exceeds the zeroth-order's at T ≈ {words.number(cross)} "
                f"(above at T = {over}; below again at T = {under}): from there on neither estimator is reliably the "
                "cheaper, so use the alpha-order combination below, horizon by horizon.",
                cross,
                "time",
            )
        )
    else:
        out.append(
            Recommendation(
                "first-order horizon",
                f"The first-order estimate pays at every horizon measured (up to T = {words.number(float(T[ok][-1]))}): "
                "its variance stays below the zeroth-order's and it agrees with it.",
                None,
                None,
            )
        )
    alpha = interpolation_alpha(result)
    listed = "; ".join(f"T = {words.number(t)}: {a:.3g}" for t, a in zip(T[ok], alpha[ok]))
    out.append(
        Recommendation(
            "alpha-order estimator",
            "Interpolate alpha g_first + (1 - alpha) g_zeroth with the alpha that minimises the variance (inverse-"
            f"variance weighting, Parmas et al. 2018; Suh et al. 2022), 0 where the first order is biased: {listed}.",
            float(alpha[ok][-1]),
            None,
        )
    )
    g0 = result.zeroth_order[ok][-1]
    norm = float(np.linalg.norm(g0))
    q = float(result.quantile[ok][-1])
    need = math.ceil((q * math.sqrt(s0[ok][-1]) / (relative_error * norm)) ** 2) if norm > 0 else None
    text = (
        f"Smoothing scale sigma = {words.number(result.sigma)} (units of {result.wrt}): the smoothed loss is the "
        "loss averaged over that scale; a smaller sigma tracks the unsmoothed loss more closely, and the "
        "zeroth-order variance grows like 1/sigma^2 (twice smaller, four times the pairs)."
    )
    if need is not None:
        text += (
            f" At T = {words.number(float(T[ok][-1]))} the zeroth-order estimate needs about {need} pairs for "
            f"an error of {relative_error:.0%} of its norm ({words.number(norm)}) at {result.confidence:.0%}."
        )
    out.append(Recommendation("smoothing scale", text, result.sigma, result.wrt))
    return out
