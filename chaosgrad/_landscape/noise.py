"""Gradient noise over initial states (or episodes), against the horizon.

Training draws minibatches of initial states; its gradient is the batch mean of the
per-example gradients ``g_i = dL_T(x; y0_i)/dx``. With mean ``G`` and covariance
``Sigma`` over the distribution of ``y0``, the noise scale ``B_simple = tr Sigma / |G|^2``
(McCandlish, Kaplan, Amodei et al. 2018, "An empirical model of large-batch training",
eq. 2.8) is the batch size at which the minibatch gradient's noise equals its signal.
Through a chaotic unroll the per-example gradients grow like ``exp(lambda_1 T)`` with
signs that decorrelate between examples, so ``tr Sigma`` explodes with ``T`` even where
``G`` converges (the derivative of a long-time average: Parmas, Rasmussen, Peters & Doya
2018, "PIPPS", sec. 3; Metz et al. 2021, sec. 3): no batch size a computer holds gives
a usable gradient past a few Lyapunov times.

Per-example gradients come from one compiled program for every horizon (``_gradients.unroll``),
vmapped over the examples; the statistics are computed on the host in float64.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._errors import bad_argument
from chaosgrad._gradients.fit import fit_growth_rate
from chaosgrad._gradients.options import HorizonOptions
from chaosgrad._gradients.unroll import flat_objective
from chaosgrad._landscape.types import GradientNoiseResult
from chaosgrad._runtime.precision import float64_scope


@eqx.filter_jit
def _per_example_gradients(simulator, loss, sel, args, y_template, b, K, y0s, nb):
    x0_of, objective = flat_objective(simulator, loss, sel, args, y_template, b, K)
    x = x0_of(y_template)
    return jax.vmap(lambda y0: jax.grad(objective)(x, y0, nb))(y0s)


def noise_statistics(g: np.ndarray) -> tuple[float, float]:
    """``(|G|^2, tr Sigma)`` of per-example gradients ``g`` ``(N, P)``, both unbiased: the
    squared norm of the sample mean overestimates ``|G|^2`` by ``tr Sigma / N``, which is
    subtracted (McCandlish et al. 2018, app. A); it can then be negative or zero, where the
    mean is below what ``N`` examples resolve."""
    n = g.shape[0]
    mean = g.mean(axis=0)
    tr = float(np.sum((g - mean) ** 2) / (n - 1))
    return float(mean @ mean) - tr / n, tr


def _bootstrap(g: np.ndarray, batch: int, resamples: int, confidence: float, rng):
    """Percentile intervals of ``B_simple`` and of the SNR over resamples of the examples."""
    n = g.shape[0]
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)
    means = counts @ g / n
    sq = np.sum(g * g, axis=1)
    tr = (counts @ sq - n * np.sum(means * means, axis=1)) / (n - 1)
    mean_sq = np.sum(means * means, axis=1) - tr / n  # unbiased, as in noise_statistics
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(mean_sq > 0, tr / mean_sq, np.inf)
        snr = np.maximum(batch * mean_sq / tr, 0.0)
    lo, hi = 50 * (1 - confidence), 50 * (1 + confidence)

    def interval(x):
        # Order statistics, not interpolation: resamples whose mean is unresolved have an
        # infinite B_simple, and inf - inf would be NaN.
        x = x[~np.isnan(x)]
        return np.percentile(x, lo, method="lower"), np.percentile(x, hi, method="higher")

    return interval(scale), interval(snr)


def _group_curves(grads: list, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per disjoint group of examples and horizon: ``sqrt(tr Sigma)`` and the debiased
    ``|G| = sqrt(max(|mean|^2 - tr Sigma / n, 0))`` (the squared norm of a mean of ``n``
    noisy vectors is inflated by ``tr Sigma / n``)."""
    H = len(grads)
    noise, mean = np.full((groups, H), np.nan), np.full((groups, H), np.nan)
    for h, g in enumerate(grads):
        ok = np.isfinite(g).all(axis=1)
        parts = np.array_split(np.nonzero(ok)[0], groups)
        for j, idx in enumerate(parts):
            if idx.size < 2:
                continue
            m2, tr = noise_statistics(g[idx])
            noise[j, h] = math.sqrt(tr)
            mean[j, h] = math.sqrt(max(m2, 0.0))
    return noise, mean


def _check_noise_arguments(wrt, examples, ensemble, batch, groups, resamples) -> None:
    """Refuse ``wrt="y0"`` (it differs per example) and counts too small for the statistics."""
    if wrt == "y0":
        raise bad_argument(
            "wrt",
            "'y0' differs per example, so there is no common gradient to average",
            "pass the trained parameters, e.g. 'args' or 'rho'",
        )
    for name, value, least in (("batch", batch, 1), ("groups", groups, 2), ("resamples", resamples, 10)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise bad_argument(name, f"{value!r} is not an int of at least {least}", f"pass e.g. {max(least, 8)}")
    if not ensemble and (
        isinstance(examples, bool) or not isinstance(examples, (int, np.integer)) or examples < 2 * groups
    ):
        raise bad_argument(
            "examples", f"{examples!r} is not an int of at least 2 * groups = {2 * groups}", "pass e.g. 64"
        )


def _per_horizon_gradients(simulator, loss, sel, args, y0s, plan, report) -> list:
    """The per-example gradients at every horizon of ``plan``: a list of ``(examples, P)``
    float64 arrays, one compiled program for all horizons."""
    template = jax.tree_util.tree_map(lambda x: x[0], y0s)
    K, b = int(plan.blocks[-1]), int(plan.b)
    H = len(plan.blocks)
    grads = []
    for h, nb in enumerate(plan.blocks):
        report("gradient noise", h, H)
        g = _per_example_gradients(simulator, loss, sel, args, template, b, K, y0s, jnp.asarray(int(nb), jnp.int32))
        grads.append(np.asarray(g, np.float64))
    report("gradient noise", H, H)
    return grads


def _horizon_statistics(grads: list, batch: int, resamples: int, confidence: float, rng) -> tuple[dict, np.ndarray]:
    """Per horizon, over the finite examples: ``|G|`` and ``sqrt(tr Sigma)``
    (:func:`noise_statistics`), ``B_simple = tr Sigma / |G|^2``, the SNR of a ``batch`` and
    their bootstrap intervals; and the number of finite examples."""
    out = {
        key: np.full(len(grads), np.nan)
        for key in (
            "mean_norm",
            "noise",
            "noise_scale",
            "noise_scale_low",
            "noise_scale_high",
            "snr",
            "snr_low",
            "snr_high",
        )
    }
    finite_examples = np.zeros(len(grads), np.int64)
    for h, g in enumerate(grads):
        g = g[np.isfinite(g).all(axis=1)]
        finite_examples[h] = g.shape[0]
        if g.shape[0] < 2:
            continue
        m2, tr = noise_statistics(g)
        out["mean_norm"][h], out["noise"][h] = math.sqrt(max(m2, 0.0)), math.sqrt(tr)
        out["noise_scale"][h] = tr / m2 if m2 > 0 else math.inf
        out["snr"][h] = (batch * max(m2, 0.0) / tr) if tr > 0 else math.inf
        (out["noise_scale_low"][h], out["noise_scale_high"][h]), (out["snr_low"][h], out["snr_high"][h]) = _bootstrap(
            g, batch, resamples, confidence, rng
        )
    return out, finite_examples


def _growth_rates(grads: list, groups: int, times, plan, confidence: float, dtype):
    """The growth rates of ``sqrt(tr Sigma)`` and of the debiased ``|G|`` with the horizon,
    their intervals from ``groups`` disjoint groups of examples (:func:`_group_curves`)."""
    noise, mean = _group_curves(grads, groups)
    eps = float(jnp.finfo(jnp.dtype(dtype)).eps)
    nfit = fit_growth_rate(
        times, noise, np.isfinite(noise) & (noise > 0), fit_mask=plan.fit, confidence=confidence, dtype_eps=eps
    )
    mfit = fit_growth_rate(
        times, mean, np.isfinite(mean) & (mean > 0), fit_mask=plan.fit, confidence=confidence, dtype_eps=eps
    )
    return nfit, mfit


@float64_scope
def gradient_noise(
    simulator,
    y0,
    args=None,
    *,
    loss=None,
    horizons,
    wrt="args",
    examples: int = 64,
    spacing: float | None = None,
    transient: float = 0.0,
    ensemble: bool = False,
    batch: int = 1,
    groups: int = 8,
    resamples: int = 400,
    confidence: float = 0.95,
    seed: int = 0,
    progress=None,
) -> GradientNoiseResult:
    """Mean, noise, noise scale and signal-to-noise ratio of the gradient over examples.

    Arguments:
        simulator, y0, args, loss, horizons, spacing, transient, seed: as for
            :func:`~chaosgrad.gradient_growth`; the examples are ``examples`` states along
            the trajectory from ``y0`` (each a new start), or, with ``ensemble=True``,
            ``y0`` holds them on axis 0 (a sample of the user's own distribution).
        wrt: a part of ``args`` (the parameters being trained); not ``"y0"``, which
            differs per example.
        batch: the minibatch size the SNR is quoted for (``snr = batch / B_simple``).
        groups: disjoint groups of examples for the growth rates' intervals.
        resamples: bootstrap resamples for the intervals on ``B_simple`` and the SNR.
    """
    _check_noise_arguments(wrt, examples, ensemble, batch, groups, resamples)
    options = HorizonOptions(
        horizons=horizons,
        wrt=wrt,
        members=examples,
        spacing=spacing,
        transient=transient,
        ensemble=ensemble,
        confidence=confidence,
        seed=seed,
        progress=progress,
    )
    simulator, y0s, args, sel, loss, plan = options.prepare(simulator, y0, args, loss)
    N = int(jax.tree_util.tree_leaves(y0s)[0].shape[0])
    if N < 2 * groups:
        raise bad_argument(
            "y0",
            f"holds {N} examples; {groups} groups need at least {2 * groups}",
            "pass more examples on axis 0, or fewer groups",
        )
    grads = _per_horizon_gradients(simulator, loss, sel, args, y0s, plan, options.report)
    out, finite_examples = _horizon_statistics(grads, batch, resamples, confidence, np.random.default_rng(seed))
    times = plan.times(simulator.dt)
    nfit, mfit = _growth_rates(grads, groups, times, plan, confidence, simulator.dtype)
    rep = plan.reported.astype(bool)
    return GradientNoiseResult(
        horizons=times[rep],
        horizon_steps=(plan.blocks * int(plan.b)).astype(np.int64)[rep],
        examples=N,
        batch=int(batch),
        **{key: value[rep] for key, value in out.items()},
        finite_examples=finite_examples[rep],
        noise_rate=nfit.rate,
        noise_rate_low=nfit.low,
        noise_rate_high=nfit.high,
        mean_rate=mfit.rate,
        mean_rate_low=mfit.low,
        mean_rate_high=mfit.high,
        confidence=float(confidence),
        wrt=sel.label,
        loss=loss.name,
        dtype=simulator.dtype,
        method=(
            f"per-example gradients of {N} examples through one compiled unroll; unbiased covariance; "
            f"{int(round(confidence * 100))}% bootstrap percentile intervals ({resamples} resamples); "
            f"growth rates of sqrt(tr Sigma) and of the debiased |G| over {groups} disjoint groups: {nfit.method}"
        ),
    )
