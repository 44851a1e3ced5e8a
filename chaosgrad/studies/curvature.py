"""Curvature and gradient noise of long chaotic unrolls (Lorenz-63, z(T) against rho).

Three views of why a long chaotic unroll cannot be trained by following its gradient,
each measured against the horizon and compared with lambda_1:

1. the Hessian's largest eigenvalue (the sharpness) grows like exp(2 lambda_1 T), twice
   the gradient's rate;
2. the loss along rho is smooth at short horizons and rough at long ones (Metz, Freeman,
   Schoenholz & Kachman 2021, "Gradients are not all you need", fig. 1);
3. over initial states on the attractor the gradient of the time-averaged z has a mean of
   order one (the slope of <z>(rho), about 1) but a spread that grows like
   exp(lambda_1 T): the noise scale B_simple (McCandlish et al. 2018) outgrows any batch
   (Parmas et al. 2018).
"""

from __future__ import annotations

import numpy as np

from chaosgrad._gradients.losses import FinalStateLoss, TimeAveragedLoss
from chaosgrad._landscape.curvature import curvature, loss_slice
from chaosgrad._landscape.noise import gradient_noise
from chaosgrad._results.study import Figure, Series, Study, Table
from chaosgrad._runtime.precision import float64_scope
from chaosgrad.studies import StudySpec
from chaosgrad.studies._common import (
    Section,
    diagnose_system,
    fmt,
    lam1,
    make_study,
    member_band,
    no_progress,
)
from chaosgrad.zoo import lorenz63


def _z(y):
    return y[2]


def _rate(r, which=""):
    rate, lo, hi = (getattr(r, f"{which}rate"), getattr(r, f"{which}rate_low"), getattr(r, f"{which}rate_high"))
    return f"{rate:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def _sharpness_section(chaotic, lam) -> Section:
    fig = Figure(
        title="Sharpness and gradient against the horizon",
        xlabel="horizon T",
        ylabel="size",
        yscale="log",
        caption=(
            f"Median over members (band: their range). At rho = 28 the sharpness (largest |Hessian "
            f"eigenvalue|) grows at {chaotic.rate:.2f} per time unit, the gradient at "
            f"{chaotic.gradient_rate:.2f}; 2 lambda_1 = {2 * lam:.2f} and lambda_1 = {lam:.2f}."
        ),
        series=(
            member_band(chaotic.horizons, chaotic.sharpness, "sharpness, rho = 28"),
            member_band(chaotic.horizons, chaotic.gradient_norms, "|dz(T)/d rho|, rho = 28"),
        ),
    )
    rows = tuple(
        (label, r.regime, _rate(r), _rate(r, "gradient_"), str(r.iterations)) for label, r in (("rho = 28", chaotic),)
    )
    table = Table(
        title="Growth rates of the sharpness and of the gradient",
        columns=("case", "sharpness", "sharpness rate [95%]", "gradient rate [95%]", "Lanczos steps"),
        rows=rows,
        caption=f"2 lambda_1 = {2 * lam:.3f} at rho = 28.",
    )
    text = (
        "The Hessian of z(T) with respect to rho, from Hessian-vector products (forward-over-reverse through "
        "the checkpointed unroll, never formed), for the same members as the gradient. Through a chaotic unroll "
        "J^T (d^2 L) J and the second-order sensitivity both grow like exp(2 lambda_1 T): a step that the gradient "
        "would allow is unstable for the curvature long before the gradient is large. " + chaotic.regime_reason + "."
    )
    return Section(title="Curvature: the sharpness grows twice as fast", text=text, figures=(fig,), tables=(table,))


def _slice_section(sl) -> Section:
    series = []
    for h, T in enumerate(sl.horizons):
        row = sl.losses[h]
        span = np.nanmax(row) - np.nanmin(row)
        scaled = (row - np.nanmin(row)) / span if span > 0 else row * 0
        series.append(Series(f"T = {T:g}", sl.center[0] + sl.offsets, scaled + 1.1 * h, style="line"))
    fig = Figure(
        title="z(T) along rho, at several horizons",
        xlabel="rho",
        ylabel="z(T), scaled to [0, 1] and offset",
        series=tuple(series),
        caption=(
            "Each curve is scaled to its own range and shifted up by horizon. Short horizons are smooth; "
            "long ones have structure on every scale the sampling resolves (Metz et al. 2021, fig. 1)."
        ),
    )
    table = Table(
        title="Roughness of the slice",
        columns=("T", "roughness (variation / range)", "turning points"),
        rows=tuple(
            (fmt(float(T), 3), fmt(float(r), 3), str(int(k)))
            for T, r, k in zip(sl.horizons, sl.roughness, sl.turning_points)
        ),
        caption=f"{len(sl.offsets)} points over rho in [{sl.center[0] + sl.offsets[0]:g}, "
        f"{sl.center[0] + sl.offsets[-1]:g}]; roughness 1 is monotone.",
    )
    return Section(
        title="The loss landscape turns rough",
        text=(
            "The loss is evaluated on a line through rho at each horizon. Its total variation over its range counts "
            "its monotone pieces: a gradient step longer than one piece lands on an unrelated slope."
        ),
        figures=(fig,),
        tables=(table,),
    )


def _finite(x):
    x = np.asarray(x, float)
    return np.where(np.isfinite(x) & (x > 0), x, np.nan)


def _scale_words(noise) -> str:
    """B_simple at the longest horizon, or from which horizon on it is unresolved."""
    if np.isfinite(noise.noise_scale[-1]):
        return f"{noise.noise_scale[-1]:.3g} at T = {noise.horizons[-1]:g}"
    first = int(np.argmax(~np.isfinite(noise.noise_scale)))
    return (
        f"unresolved from T = {noise.horizons[first]:g} on (its 95% lower bound there is "
        f"{noise.noise_scale_low[first]:.3g}): the mean gradient is below what {noise.examples} examples resolve"
    )


def _noise_section(noise) -> Section:
    fig = Figure(
        title="Mean and spread of the gradient over initial states",
        xlabel="horizon T",
        ylabel="size",
        yscale="log",
        caption=(
            f"Over {noise.examples} initial states on the attractor, d<z>_T/d rho: the spread sqrt(tr Sigma) grows "
            f"at {noise.noise_rate:.2f} per time unit; the noise scale B_simple = tr Sigma / |G|^2 is "
            + _scale_words(noise)
            + ". Missing points: the mean is below what the examples resolve."
        ),
        series=(
            Series("|mean gradient| (unbiased)", noise.horizons, _finite(noise.mean_norm), style="line+marker"),
            Series("spread sqrt(tr Sigma)", noise.horizons, noise.noise, style="line+marker"),
            Series(
                "noise scale B_simple (95% bootstrap)",
                noise.horizons,
                _finite(noise.noise_scale),
                lower=_finite(noise.noise_scale_low),
                upper=_finite(noise.noise_scale_high),
                style="line+marker",
            ),
        ),
    )
    table = Table(
        title="Gradient noise against the horizon",
        columns=("T", "|G|", "sqrt(tr Sigma)", "B_simple [95%]", "SNR of one example"),
        rows=tuple(
            (
                fmt(float(T), 3),
                fmt(float(g), 3),
                fmt(float(s), 3),
                f"{fmt(float(b), 3)} [{fmt(float(lo), 3)}, {fmt(float(hi), 3)}]",
                fmt(float(q), 3),
            )
            for T, g, s, b, lo, hi, q in zip(
                noise.horizons,
                noise.mean_norm,
                noise.noise,
                noise.noise_scale,
                noise.noise_scale_low,
                noise.noise_scale_high,
                noise.snr,
            )
        ),
    )
    return Section(
        title="Gradient noise explodes while the mean does not",
        text=(
            "Training averages per-example gradients over a batch of initial states. The derivative of a long-time "
            "average exists (it is about 1 here), but each example's finite-horizon gradient grows like "
            "exp(lambda_1 T) with a sign that depends on the example: the batch size needed for a usable gradient "
            "grows exponentially (Parmas et al. 2018; Metz et al. 2021). Bootstrap intervals on B_simple are wide "
            "because the per-example gradients are heavy-tailed."
        ),
        figures=(fig,),
        tables=(table,),
    )


@float64_scope
def run(*, fast: bool = False, progress=None) -> Study:
    progress = progress or no_progress
    members = 6 if fast else 12
    examples = 32 if fast else 128
    points = 201 if fast else 801
    horizons = [1.0, 2.0, 4.0, 8.0]
    loss = FinalStateLoss(_z, name="final z(T)")
    system = lorenz63()
    progress("diagnosis at rho = 28", 0, 4)
    main = diagnose_system(
        system, wrt="rho", loss=loss, members=members, lyapunov_time=100.0 if fast else 500.0, k=3, horizons=horizons
    )
    lam = lam1(main)[0]
    progress("curvature", 1, 4)
    chaotic = curvature(
        system.simulator, system.y0, system.args, loss=loss, horizons=horizons, wrt="rho", members=members, k=1
    )
    progress("loss slices", 2, 4)
    sl = loss_slice(
        system.simulator,
        system.y0,
        system.args,
        loss=loss,
        horizons=[1.0, 4.0, 16.0],
        wrt="rho",
        radius=1.0,
        points=points,
    )
    progress("gradient noise", 3, 4)
    noise = gradient_noise(
        system.simulator,
        system.y0,
        system.args,
        loss=TimeAveragedLoss(_z, name="<z>_T"),
        horizons=[1.0, 2.0, 4.0, 8.0, 16.0],
        wrt="rho",
        examples=examples,
        spacing=5.0,
    )
    progress("done", 4, 4)
    findings = (
        f"The sharpness of z(T) in rho grows at {_rate(chaotic)} per time unit against 2 lambda_1 = {2 * lam:.3f}; "
        f"the gradient at {_rate(chaotic, 'gradient_')} (the sharpness is {chaotic.regime}).",
        f"Turning points of z(T) along rho in [{sl.center[0] + sl.offsets[0]:g}, {sl.center[0] + sl.offsets[-1]:g}]: "
        + ", ".join(f"{int(k)} at T = {T:g}" for T, k in zip(sl.horizons, sl.turning_points))
        + ".",
        f"The spread of d<z>_T/d rho over initial states grows at {_rate(noise, 'noise_')}; B_simple is "
        f"{noise.noise_scale[0]:.3g} at T = {noise.horizons[0]:g} and {_scale_words(noise)}.",
    )
    summary = (
        f"Through Lorenz-63 (lambda_1 = {lam:.3f}) the gradient of z(T) in rho grows at "
        f"{chaotic.gradient_rate:.2f}, its curvature at {chaotic.rate:.2f} per time unit, the loss along rho "
        f"turns rough, and the gradient's spread over initial states explodes while its mean stays of order one."
    )
    return make_study(
        "curvature",
        "Curvature and gradient noise of chaotic unrolls",
        summary,
        main,
        [_sharpness_section(chaotic, lam), _slice_section(sl), _noise_section(noise)],
        list(findings),
        fast=fast,
        config={"members": members, "examples": examples, "slice_points": points, "horizons": horizons},
        extra={},
    )


SPEC = StudySpec(
    name="curvature",
    title="Curvature and gradient noise",
    description="Lorenz-63: Hessian sharpness, loss-landscape slices and gradient noise against the horizon.",
    run=run,
)
