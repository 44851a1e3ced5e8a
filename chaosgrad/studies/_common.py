"""Building blocks shared by the bundled studies: diagnose a zoo system, sweep a
parameter, and turn the results into figures and tables (data only)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from chaosgrad._diagnosis.diagnose import diagnose
from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._gradients.members import OnAttractor
from chaosgrad._results.study import Figure, Section, Series, Study, Table
from chaosgrad._spectra.reference import exponent_uncertainty
from chaosgrad.zoo import System


def no_progress(label: str, done: int, total: int) -> None:
    del label, done, total


def diagnose_system(system: System, *, progress=None, **kwargs) -> Diagnosis:
    """``diagnose`` a zoo system with its own reference and literature values.

    A bundled study describes the system (its attractor, a bifurcation sweep, literature
    exponents): the ergodic question, so its members sample the attractor
    (:class:`~chaosgrad.OnAttractor`) unless the study passes a member source itself."""
    members = kwargs.get("members", 8)
    if isinstance(members, (int, np.integer)) and not isinstance(members, bool):
        kwargs["members"] = OnAttractor(int(members))
    kwargs.setdefault("reference", system.reference)
    kwargs.setdefault("literature", system.literature)
    kwargs.setdefault("name", system.title)
    return diagnose(system.simulator, system.y0, system.args, progress=progress, **kwargs)


def exponent_list(d: Diagnosis, digits: int = 3) -> str:
    """The physical spectrum of ``d`` as text (``n/a`` for a collapsed direction)."""
    return ", ".join(fmt(float(x), digits) for x in d.lambda_physical.exponents)


def import_optional(module: str, study: str):
    """Import a third-party package a study needs, or say how to install it."""
    import importlib

    from chaosgrad._errors import bad_argument

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise bad_argument("system", f"the {study} study needs {module}", "pip install 'chaosgrad[envs]'") from exc


def lam1(d: Diagnosis) -> tuple[float, float]:
    """Physical lambda_1 and its 95% half-width (the one uncertainty every report shows)."""
    return float(d.lambda_physical.exponents[0]), exponent_uncertainty(d.lambda_physical, 0)


def fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def sweep(values: Sequence[float], run: Callable[[float], Diagnosis], progress, label: str) -> list[Diagnosis]:
    out = []
    for i, v in enumerate(values):
        progress(f"{label} = {v:g}", i, len(values))
        out.append(run(v))
    progress(label, len(values), len(values))
    return out


# The order of rates_figure's series: the report draws series i in series_colour(i).
RATES_SERIES = ("physical", "numerical", "gradient")


def rates_colours() -> dict:
    """The colour names :func:`rates_figure`'s series are drawn in, for captions:
    ``{"physical": "blue", "numerical": "orange", "gradient": "green"}``."""
    from chaosgrad.report._plot import colour_name, series_colour

    return {name: colour_name(series_colour(i)) for i, name in enumerate(RATES_SERIES)}


def rates_figure(
    x, diagnoses: Sequence[Diagnosis], *, xlabel: str, title: str, caption: str, xscale="linear"
) -> Figure:
    """lambda_1 (physical and numerical) and the gradient rate with its interval against ``x``."""
    x = np.asarray(x, dtype=float)
    lp = np.array([lam1(d)[0] for d in diagnoses])
    up = np.array([lam1(d)[1] for d in diagnoses])
    ln = np.array([float(d.lambda_numerical.exponents[0]) for d in diagnoses])
    g = np.array([d.gradient_rate for d in diagnoses])
    glo = np.array([d.gradient_interval[0] for d in diagnoses])
    ghi = np.array([d.gradient_interval[1] for d in diagnoses])
    return Figure(
        title=title,
        caption=caption,
        xlabel=xlabel,
        ylabel="rate (1 / time unit)",
        xscale=xscale,
        series=tuple(
            {
                "physical": Series(
                    "lambda_1 physical (95% interval)", x, lp, lower=lp - up, upper=lp + up, style="line+marker"
                ),
                "numerical": Series("lambda_1 numerical", x, ln, style="marker"),
                "gradient": Series("gradient rate (95% interval)", x, g, lower=glo, upper=ghi, style="line+marker"),
            }[name]
            for name in RATES_SERIES
        )
        + (Series("zero", x[:1], np.zeros(1), style="hline"),),
    )


def verdict_table(title: str, xname: str, x, diagnoses: Sequence[Diagnosis], caption: str = "") -> Table:
    from chaosgrad.report._text import fmt_rate_interval  # the report's one formatter of a rate and its interval

    rows = []
    for v, d in zip(x, diagnoses):
        lp, up = lam1(d)
        rows.append(
            (
                fmt(float(v), 4),
                d.physics,
                d.verdict,
                ", ".join(d.causes) or "none",
                f"{lp:+.3f} ± {up:.3f}",
                fmt_rate_interval(d.gradient_rate, d.gradient_interval),
            )
        )
    return Table(
        title=title,
        caption=caption,
        columns=(xname, "physics", "verdict", "causes", "lambda_1 physical", "gradient rate [95% interval]"),
        rows=tuple(rows),
    )


def transitions(x, labels) -> list[tuple[float, float, str, str]]:
    """Consecutive sweep points where a label changes: ``(x_before, x_after, before, after)``."""
    return [
        (float(x[i]), float(x[i + 1]), labels[i], labels[i + 1])
        for i in range(len(x) - 1)
        if labels[i] != labels[i + 1]
    ]


def make_study(
    system: str,
    title: str,
    summary: str,
    diagnosis: Diagnosis,
    sections,
    findings,
    *,
    fast: bool,
    config: dict,
    extra=None,
) -> Study:
    return Study(
        system=system,
        title=title,
        summary=summary,
        diagnosis=diagnosis,
        sections=tuple(sections),
        findings=tuple(findings),
        mode="fast" if fast else "full",
        config={"command": f"chaosgrad analyze {system}" + (" --fast" if fast else ""), **config},
        extra=extra or {},
    )


__all__ = [
    "Figure",
    "Section",
    "Series",
    "Table",
    "diagnose_system",
    "exponent_list",
    "fmt",
    "import_optional",
    "lam1",
    "make_study",
    "no_progress",
    "rates_colours",
    "rates_figure",
    "sweep",
    "transitions",
    "verdict_table",
]


def member_band(x, values, label: str, style: str = "line+marker") -> Series:
    """Median over members (rows of ``values``, positive finite entries only) against ``x``,
    with the members' range as a band."""
    values = np.asarray(values, float)
    ok = np.isfinite(values) & (values > 0)
    med = np.array([np.median(v[k]) if k.any() else np.nan for v, k in zip(values.T, ok.T)])
    lo = np.array([v[k].min() if k.any() else np.nan for v, k in zip(values.T, ok.T)])
    hi = np.array([v[k].max() if k.any() else np.nan for v, k in zip(values.T, ok.T)])
    return Series(label, np.asarray(x, float), med, lower=lo, upper=hi, style=style)


def layerwise_gradient_figure(gradients: dict, *, unit: str = "layer", title: str | None = None) -> Figure:
    """``||dL/dx_l||`` against the layer (or step) ``l``: the longest horizon's cotangent
    profile of each :class:`~chaosgrad.GradientGrowthResult` in ``gradients`` (label ->
    result), median over members with their range as a band. The seed's "layer-wise
    gradient scale": where along the depth the gradient grows or shrinks."""
    series = [member_band(g.cotangent_times, g.cotangent_norms, label, style="line") for label, g in gradients.items()]
    return Figure(
        title=title or f"Gradient scale {unit} by {unit}",
        xlabel=unit,
        ylabel=f"||dL/dx|| at that {unit}",
        yscale="log",
        series=tuple(series),
        caption=(
            f"The backpropagated gradient of the longest horizon at each {unit} (median over members, band: "
            f"range), read from the output back to the input: a straight line is a constant rate per {unit}."
        ),
    )


def activation_histogram_figure(samples: dict, *, title: str = "Activations") -> Figure:
    """Histograms of activation samples (label -> 1-D array), e.g. one per layer: where
    units saturate (tanh near ±1), die (ReLU at 0) or stay linear."""
    return Figure(
        title=title,
        xlabel="activation",
        ylabel="count",
        series=tuple(
            Series(label, np.asarray(x, float).reshape(-1), np.zeros(0), style="hist") for label, x in samples.items()
        ),
        caption="Saturated units sit at the ends of a tanh's range and pass almost no gradient; a ReLU at 0 "
        "passes none.",
    )


def activation_samples(simulator, y0s, args, keep, read=lambda y: y) -> dict:
    """``read(y)`` after each number of steps in ``keep``, for a batch of states ``y0s``
    (axis 0, stepped together with ``vmap``): ``{"step k": samples}`` for
    :func:`activation_histogram_figure`."""
    import jax

    step = jax.jit(jax.vmap(lambda y, t: simulator.step(t, y, args), in_axes=(0, None)))
    out, y = {}, y0s
    for k in range(1, max(keep) + 1):
        y = step(y, (k - 1) * simulator.dt)
        if k in keep:
            out[k] = np.asarray(read(y))
    return out


__all__ += ["activation_histogram_figure", "activation_samples", "layerwise_gradient_figure", "member_band"]
