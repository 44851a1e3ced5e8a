"""Deep networks read layer by layer: vanishing and exploding gradients as Lyapunov exponents.

A depth-``L`` fully connected network is a discrete map from layer to layer,
``x_{l+1} = phi(W_l x_l + b_l)`` (or ``x_l + phi(...)`` with residual connections). The
input-output Jacobian is the product ``D_{L-1} ... D_0`` with ``D_l = diag(phi'(h_l)) W_l``,
so backpropagated gradients change by about ``exp(lambda_1)`` per layer, where lambda_1 is
the largest Lyapunov exponent of the layer map; the spread of the Jacobian's singular
values says how well conditioned backpropagation is (dynamical isometry: all near 1;
Saxe, McClelland & Ganguli, ICLR 2014; Pennington, Schoenholz & Ganguli, NeurIPS 2017).
Facts checked here: a sigmoid layer scales gradients by at most ``0.25 ||W_l||_2``;
orthogonal weights with a linear activation are an exact isometry; tanh with
``sigma_w = 1, sigma_b = 0`` sits at the order-chaos edge (Poole et al., NeurIPS 2016);
ReLU is critical at He's variance ``2 / n`` (He et al., ICCV 2015).

The network is a finite map: every horizon here is a number of layers no larger than the
depth, the Lyapunov time is the depth, and there is no transient. In the headline
diagnosis the gradient of a unit readout of ``x_T`` with respect to the input ``x_0`` is
measured for windows of the first ``T`` layers; the ensemble members are different inputs
(the diagnosis draws them along its own trajectory: the Gaussian input and the
activations reached by applying the first layers to it again and again).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from chaosgrad._diagnosis.causes import DEFAULT_CAUSES, AbstractCause
from chaosgrad._diagnosis.diagnose import diagnose
from chaosgrad._results.study import Figure, Section, Series, Table
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._simulators.base import AbstractSimulator, _check_dtype
from chaosgrad._spectra.lyapunov import lyapunov_spectrum
from chaosgrad.studies import StudySpec
from chaosgrad.studies._common import (
    activation_histogram_figure,
    activation_samples,
    lam1,
    layerwise_gradient_figure,
    make_study,
    no_progress,
)
from chaosgrad.zoo import (
    dead_relu_fraction,
    deep_network,
    jacobian_singular_values,
    layer_jacobian_norms,
    saturation_fraction,
)
from chaosgrad.zoo._deep_network import _layer

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
INITS = ("gaussian", "orthogonal", "xavier", "he")
RESOLVED = 1e-15  # singular values below this fraction of sigma_max are float64 round-off
VARIANTS = {
    "plain": (False, False),
    "residual": (True, False),
    "layer norm": (False, True),
    "residual + layer norm": (True, True),
}


class LayerByLayer(AbstractSimulator):
    """The layer map of :func:`chaosgrad.zoo.deep_network` with the layer index read from
    the clock: step ``t`` applies layer ``round(t)`` (clamped to the last layer), and the
    state is the activation vector ``x_l`` alone.

    The zoo's simulator carries the index as an integer leaf of the state; this form keeps
    every leaf of the state floating-point, which reverse-mode gradient sweeps require.
    Every ``evolve`` starts at ``t = 0``, i.e. at the first layer, so ensemble members
    are different inputs to the same network. Weights live in ``args``, so every weight
    draw of one structure shares one compilation.
    """

    activation: str = eqx.field(static=True)
    residual: bool = eqx.field(static=True)
    layer_norm: bool = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    def __init__(self, activation: str, residual: bool, layer_norm: bool, *, dtype="float64"):
        self.activation, self.residual, self.layer_norm = activation, residual, layer_norm
        self.dt = 1.0
        self.dtype = _check_dtype(dtype)

    def step(self, t, y, args):
        cfg = {"activation": self.activation, "residual": self.residual, "layer_norm": self.layer_norm}
        index = jnp.clip(jnp.round(t).astype(jnp.int32), 0, args["W"].shape[0] - 1)
        return _layer(y, args["W"][index], args["b"][index], cfg)[0]

    def with_dtype(self, dtype):
        return LayerByLayer(self.activation, self.residual, self.layer_norm, dtype=dtype)


def layer_by_layer(system) -> LayerByLayer:
    p = system.parameters
    return LayerByLayer(p["activation"], p["residual"], p["layer_norm"])


class RescaledNetwork(AbstractCause):
    """Saturation of the units, tested by rerunning a rescaled network: a cause of this
    study's own, written the way a user writes one."""

    name: ClassVar[str] = "saturation"
    words: ClassVar[str] = "saturated units (sigmoid, tanh) scale the gradient down at every layer"
    ablation_name: str
    change: str
    simulator: Any
    args: Any

    def suspect(self, evidence):
        return "the gradient through the saturating layers vanishes" if evidence.gradient.rate < 0 else None

    def ablate(self, evidence):
        return self.simulator, self.args, self.change


def per_layer_rate(system) -> tuple[float, float]:
    """lambda_1 of the layer map over all layers of ``system`` and its 95% half-width."""
    depth = system.parameters["depth"]
    res = lyapunov_spectrum(
        layer_by_layer(system), system.y0["x"], system.args, k=1, n_intervals=depth, n_batches=min(8, depth)
    )
    return float(res.exponents[0]), float(res.uncertainty[0])


def _unit_fraction(system, batch) -> tuple[str, float]:
    act = system.parameters["activation"]
    if act in ("tanh", "sigmoid"):
        return "saturated", float(np.mean(saturation_fraction(system, batch)))
    if act == "relu":
        return "dead", float(np.mean(dead_relu_fraction(system, batch)))
    return "n/a", math.nan


def _measure(system, batch) -> dict:
    sv = jacobian_singular_values(system)
    gains = layer_jacobian_norms(system)
    w_norms = np.linalg.norm(np.asarray(system.args["W"]), 2, axis=(1, 2))
    lam, se = per_layer_rate(system)
    kind, frac = _unit_fraction(system, batch)
    smin = float(sv[-1])
    return {
        "lambda_1": lam,
        "se": se,
        "sv": sv,
        "smax": float(sv[0]),
        "smin": smin,
        "spread_log10": float(np.log10(sv[0] / smin)) if smin > 0 else math.inf,
        "gain_ratio_max": float(np.max(gains / w_norms)),
        "layer_gains": gains,
        "w_norms": w_norms,
        "fraction_kind": kind,
        "fraction": frac,
    }


def _settings(fast: bool) -> dict:
    horizons = [4.0, 8.0, 12.0, 16.0] if fast else [4.0, 8.0, 12.0, 16.0, 20.0, 24.0, 28.0, 32.0]
    return dict(
        width=100,
        depth=16 if fast else 32,
        headline_depth=int(horizons[-1]),
        horizons=horizons,
        members=4 if fast else 8,
        inits=("gaussian", "orthogonal") if fast else INITS,
        sigma_ws=[0.5, 1.0, 2.0, 4.0, 8.0] if fast else [0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0],
        variant_activations=("tanh",) if fast else ("sigmoid", "tanh", "relu"),
    )


def _spread_text(m) -> str:
    """log10(sigma_max / sigma_min); beyond ~15 decades sigma_min is at float64 round-off."""
    if m["smin"] <= 0:
        return "infinite (sigma_min = 0)"
    if m["spread_log10"] > 15:
        return "> 15 (sigma_min at round-off)"
    return f"{m['spread_log10']:.3g}"


def _fmt_frac(kind, frac) -> str:
    return "n/a" if kind == "n/a" else f"{100 * frac:.1f}% {kind}"


def _comparison(cfg, batch, progress):
    table_rows, measured = [], {}
    combos = [(a, i) for a in ACTIVATIONS for i in cfg["inits"]]
    for j, (act, init) in enumerate(combos):
        progress(f"{act} network, {init} weights", j, len(combos))
        system = deep_network(depth=cfg["depth"], width=cfg["width"], activation=act, init=init)
        m = _measure(system, batch)
        measured[(act, init)] = m
        table_rows.append(
            (
                act,
                init,
                f"{m['lambda_1']:+.3f} ± {m['se']:.3f}",
                f"{m['smax']:.3g}",
                f"{m['smin']:.3g}",
                _spread_text(m),
                f"{m['gain_ratio_max']:.3f}",
                _fmt_frac(m["fraction_kind"], m["fraction"]),
            )
        )
    progress("activations and initialisations", len(combos), len(combos))
    table = Table(
        title=f"Activation and initialisation (depth {cfg['depth']}, width {cfg['width']}, sigma_w = 1, no bias)",
        caption=(
            "lambda_1: per-layer log growth of backpropagated gradients (largest Lyapunov exponent of the layer map, "
            "± standard error); sigma_max, sigma_min: extreme singular values of the input-output Jacobian "
            "(values below about 1e-16 sigma_max are at round-off); max ||D_l|| / ||W_l||: largest layer gain relative "
            "to its weights (sigmoid: at most 0.25); unit fractions over 32 random inputs. Gaussian N(0, 1/n), "
            "orthogonal (Haar), Xavier (uniform, variance 1/n for square layers) and He N(0, 2/n)."
        ),
        columns=(
            "activation",
            "init",
            "lambda_1 per layer",
            "sigma_max",
            "sigma_min",
            "log10 spread",
            "max ||D_l|| / ||W_l||",
            "units",
        ),
        rows=tuple(table_rows),
    )
    shown = [
        k
        for k in (
            ("linear", "orthogonal"),
            ("tanh", "orthogonal"),
            ("tanh", "gaussian"),
            ("relu", "he"),
            ("relu", "gaussian"),
            ("sigmoid", "gaussian"),
            ("sigmoid", "orthogonal"),
        )
        if k in measured
    ]
    series = []
    for act, init in shown:
        sv = measured[(act, init)]["sv"]
        resolved = sv > RESOLVED * sv[0]
        series.append(
            Series(f"{act}, {init}", np.arange(1, sv.size + 1, dtype=float)[resolved], sv[resolved], style="line")
        )
    series.append(Series("isometry (all 1)", np.zeros(1), np.ones(1), style="hline"))
    figure = Figure(
        title="Singular values of the input-output Jacobian",
        caption=(
            f"All {cfg['width']} singular values, largest first, of dx_L/dx_0 for a {cfg['depth']}-layer network. "
            "Linear + orthogonal is an exact isometry (a flat line at 1); tanh + orthogonal stays within a few "
            "decades of 1; Gaussian weights spread the spectrum over many decades; sigmoid shifts it far below 1 "
            "(vanishing). Values below 1e-15 sigma_max are not resolved by float64 and are left out, as are exact zeros "
            "(ReLU units dead for this input)."
        ),
        xlabel="index i",
        ylabel="sigma_i",
        yscale="log",
        series=tuple(series),
    )
    return measured, table, figure


def _sigma_sweep(cfg, batch, progress):
    sws = cfg["sigma_ws"]
    rates, fracs = {}, {}
    for act in ("sigmoid", "tanh", "relu"):
        r, f = [], []
        for j, sw in enumerate(sws):
            progress(f"{act}: sigma_w = {sw:g}", j, len(sws))
            system = deep_network(depth=cfg["depth"], width=cfg["width"], activation=act, init="gaussian", sigma_w=sw)
            r.append(per_layer_rate(system))
            f.append(_unit_fraction(system, batch)[1])
        rates[act], fracs[act] = np.array(r), np.array(f)
    x = np.asarray(sws, dtype=float)
    rate_fig = Figure(
        title="Per-layer gradient growth rate against the weight scale",
        caption=(
            "lambda_1 of the layer map (95% intervals) for Gaussian weights N(0, sigma_w^2/n), no bias. tanh "
            "crosses zero a little above sigma_w = 1 (the mean-field order-chaos edge of Poole et al. 2016 is exactly 1; "
            "finite width and depth shift it), ReLU near sigma_w = sqrt(2) (He), while sigmoid stays negative even at "
            "sigma_w = 8: its derivative is at most 1/4."
        ),
        xlabel="sigma_w",
        ylabel="lambda_1 (1 / layer)",
        xscale="log",
        series=tuple(
            Series(
                act,
                x,
                rates[act][:, 0],
                lower=rates[act][:, 0] - 2 * rates[act][:, 1],
                upper=rates[act][:, 0] + 2 * rates[act][:, 1],
                style="line+marker",
            )
            for act in rates
        )
        + (Series("zero", np.zeros(1), np.zeros(1), style="hline"),),
    )
    frac_fig = Figure(
        title="Saturated and dead units against the weight scale",
        caption=(
            "Fraction of saturated tanh (|tanh| > 0.99) and sigmoid (sigmoid' < 0.01) units and of dead ReLU units "
            "(off for all 32 inputs), averaged over layers. Saturation grows with sigma_w, yet the sigmoid's "
            "lambda_1 rises with sigma_w in the figure above: in these networks saturation is not what makes "
            "sigmoid gradients vanish. The ReLU fraction does not depend on the scale (ReLU is homogeneous)."
        ),
        xlabel="sigma_w",
        ylabel="fraction of units",
        xscale="log",
        series=tuple(
            Series(f"{act} ({'dead' if act == 'relu' else 'saturated'})", x, fracs[act], style="line+marker")
            for act in fracs
        ),
    )
    return rates, fracs, rate_fig, frac_fig


def _bound_figure(measured, cfg) -> Figure:
    series = []
    for sw in (1.0, 4.0):
        system = deep_network(depth=cfg["depth"], width=cfg["width"], activation="sigmoid", init="gaussian", sigma_w=sw)
        gains = layer_jacobian_norms(system)
        w = np.linalg.norm(np.asarray(system.args["W"]), 2, axis=(1, 2))
        layers = np.arange(gains.size, dtype=float)
        series.append(Series(f"||D_l||_2, sigma_w = {sw:g}", layers, gains, style="line+marker"))
        series.append(Series(f"0.25 ||W_l||_2, sigma_w = {sw:g}", layers, 0.25 * w, style="line"))
    return Figure(
        title="The quarter bound of a sigmoid layer",
        caption=(
            "Spectral norm of each sigmoid layer's Jacobian diag(sigmoid'(h_l)) W_l (markers) against 0.25 ||W_l||_2 "
            "(lines). The bound holds at every layer and is nearly attained with sigma_w = 1 (pre-activations near 0, "
            "where sigmoid' = 1/4); with sigma_w = 4 saturated units pull the gain further below it."
        ),
        xlabel="layer l",
        ylabel="spectral norm",
        series=tuple(series),
    )


def _variants(cfg, batch, progress):
    rows, measured = [], {}
    combos = [(a, v) for a in cfg["variant_activations"] for v in VARIANTS]
    for j, (act, name) in enumerate(combos):
        progress(f"{act}, {name}", j, len(combos))
        residual, layer_norm = VARIANTS[name]
        system = deep_network(
            depth=cfg["depth"],
            width=cfg["width"],
            activation=act,
            init="gaussian",
            residual=residual,
            layer_norm=layer_norm,
        )
        m = _measure(system, batch)
        measured[(act, name)] = m
        rows.append(
            (
                act,
                name,
                f"{m['lambda_1']:+.3f} ± {m['se']:.3f}",
                f"{m['smax']:.3g}",
                f"{m['smin']:.3g}",
                _spread_text(m),
                _fmt_frac(m["fraction_kind"], m["fraction"]),
            )
        )
    progress("residual and layer norm", len(combos), len(combos))
    table = Table(
        title=f"Residual connections and layer normalisation (Gaussian weights, depth {cfg['depth']})",
        caption=(
            "A residual layer x + phi(h) adds the identity to each layer Jacobian, which keeps the smallest "
            "singular values away from zero but can push lambda_1 above 0 (gradients grow with depth); layer "
            "normalisation fixes the scale of the pre-activations whatever sigma_w is."
        ),
        columns=("activation", "variant", "lambda_1 per layer", "sigma_max", "sigma_min", "log10 spread", "units"),
        rows=tuple(rows),
    )
    return measured, table


@float64_scope
def run(*, fast: bool = False, progress=None):
    progress = progress or no_progress
    cfg = _settings(fast)
    batch = np.random.default_rng(1).standard_normal((32, cfg["width"]))
    depth_h, horizons, members = cfg["headline_depth"], cfg["horizons"], cfg["members"]

    headline = deep_network(depth=depth_h, width=cfg["width"], activation="sigmoid", init="gaussian")
    sim = layer_by_layer(headline)
    halved = {"W": 0.5 * headline.args["W"], "b": headline.args["b"]}
    critical = deep_network(depth=depth_h, width=cfg["width"], activation="tanh", init="orthogonal")
    ablations = (
        RescaledNetwork(
            "weights-halved",
            "the same sigmoid network with every W_l halved (pre-activations halved, further from saturation)",
            sim,
            halved,
        ),
        RescaledNetwork(
            "tanh-critical-orthogonal",
            "tanh activation with orthogonal weights at sigma_w = 1 (the critical, non-saturated initialisation)",
            layer_by_layer(critical),
            critical.args,
        ),
    )
    progress("diagnosis of the deep sigmoid network", 0, 1)
    # The network is finite: no transient, Lyapunov time = depth, horizons <= depth.
    main = diagnose(
        sim,
        headline.y0["x"],
        headline.args,
        wrt="y0",
        horizons=horizons,
        members=members,
        transient=0.0,
        lyapunov_time=float(depth_h),
        k=2 if fast else 4,
        causes=DEFAULT_CAUSES + ablations,
        literature=headline.literature,
        name=f"{headline.title}, read layer by layer",
        progress=progress,
    )
    head_sat = float(np.mean(saturation_fraction(headline, batch)))

    measured, comp_table, sv_figure = _comparison(cfg, batch, progress)
    rates, fracs, rate_fig, frac_fig = _sigma_sweep(cfg, batch, progress)
    bound_fig = _bound_figure(measured, cfg)
    var_measured, var_table = _variants(cfg, batch, progress)

    lp, up = lam1(main)
    ab = {a.name: a for a in main.ablations}
    findings = [
        f"A {depth_h}-layer sigmoid network with Gaussian weights N(0, 1/n) is {main.physics} layer to layer: "
        f"lambda_1 = {lp:.3f} ± {up:.3f} per layer, and the gradient with respect to the input of a window of layers "
        f"shrinks at {main.gradient_rate:.3f} per layer [{main.gradient_interval[0]:.3f}, {main.gradient_interval[1]:.3f}]: "
        f"verdict {main.verdict}, a factor {math.exp(main.gradient_rate * horizons[-1]):.2g} over {horizons[-1]:g} layers.",
        f"Saturation is {'confirmed' if 'saturation' in main.causes else 'refuted'} as the cause: {100 * head_sat:.1f}% of "
        f"the headline network's units are saturated; halving the weights moves the rate to "
        f"{ab['weights-halved'].rate_after:.3f} (more vanishing, not less), while tanh with critical orthogonal weights "
        f"moves it to {ab['tanh-critical-orthogonal'].rate_after:.3f}. The vanishing comes from sigmoid' <= 1/4 "
        "itself, a property of the layer map.",
    ]
    sig = [measured[("sigmoid", i)]["gain_ratio_max"] for i in cfg["inits"]]
    findings.append(
        f"Every sigmoid layer obeys ||D_l|| <= 0.25 ||W_l||: the largest ratio over all layers and initialisations is "
        f"{max(sig):.4f} (Pennington, Schoenholz & Ganguli 2017)."
    )
    lin = measured[("linear", "orthogonal")]
    findings.append(
        f"Linear + orthogonal is an exact isometry: all singular values in [{lin['smin']:.12f}, {lin['smax']:.12f}], "
        f"lambda_1 = {lin['lambda_1']:.1e}."
    )
    to = measured[("tanh", "orthogonal")]
    tg = measured[("tanh", "gaussian")]
    findings.append(
        f"tanh: orthogonal weights keep the Jacobian's log10 spread sigma_max / sigma_min at {_spread_text(to)} against "
        f"{_spread_text(tg)} with Gaussian weights at the same sigma_w = 1 (per-layer rates "
        f"{to['lambda_1']:+.3f} and {tg['lambda_1']:+.3f})."
    )
    if ("relu", "he") in measured:
        rh, rg = measured[("relu", "he")], measured[("relu", "gaussian")]
        findings.append(
            f"ReLU: He initialisation is critical (lambda_1 = {rh['lambda_1']:+.3f} per layer) where N(0, 1/n) vanishes "
            f"({rg['lambda_1']:+.3f} ≈ ln(1/sqrt 2) = -0.347); {100 * rh['fraction']:.0f}% of units are dead for all 32 "
            "inputs, and dead units make the smallest singular values exactly 0."
        )
    sw = np.asarray(cfg["sigma_ws"])
    tanh_r = rates["tanh"][:, 0]
    cross = [(sw[i], sw[i + 1]) for i in range(len(sw) - 1) if tanh_r[i] < 0 <= tanh_r[i + 1]]
    if cross:
        findings.append(
            f"tanh with Gaussian weights: lambda_1 crosses zero between sigma_w = {cross[0][0]:g} and {cross[0][1]:g} "
            "(the mean-field order-chaos edge is sigma_w = 1 for sigma_b = 0, Poole et al. 2016; at finite width "
            f"{cfg['width']} and depth {cfg['depth']} the measured crossing need not sit exactly there)."
        )
    findings.append(
        f"Sigmoid saturation rises from {100 * fracs['sigmoid'][0]:.1f}% at sigma_w = {sw[0]:g} to "
        f"{100 * fracs['sigmoid'][-1]:.1f}% at sigma_w = {sw[-1]:g} while its lambda_1 rises from "
        f"{rates['sigmoid'][0, 0]:+.3f} to {rates['sigmoid'][-1, 0]:+.3f}: larger weights outweigh the saturation they cause."
    )
    for act in cfg["variant_activations"]:
        p, r = var_measured[(act, "plain")], var_measured[(act, "residual")]
        findings.append(
            f"{act}, Gaussian: a residual connection changes lambda_1 from {p['lambda_1']:+.3f} to {r['lambda_1']:+.3f} "
            f"per layer and sigma_min from {p['smin']:.2g} to {r['smin']:.2g} ({_fmt_frac(r['fraction_kind'], r['fraction'])} "
            "in the residual network)."
        )
    if ("sigmoid", "residual") in var_measured:
        r = var_measured[("sigmoid", "residual")]
        findings.append(
            f"Surprise: the residual sigmoid network has {100 * r['fraction']:.0f}% saturated units (its activations "
            f"accumulate about 1/2 per layer) yet the best-conditioned Jacobian of all sigmoid variants "
            f"(singular values in [{r['smin']:.2g}, {r['smax']:.2g}]): the identity path carries the gradient past "
            "the saturated units."
        )

    sections = [
        Section(
            title="Activations and initialisations",
            text=(
                f"Each network is {cfg['depth']} layers of width {cfg['width']} with weight scale sigma_w = 1 and no bias, "
                "read as a map from layer to layer. The per-layer rate lambda_1 is the largest Lyapunov exponent of "
                "that map (Benettin/QR over all layers); over L layers gradients change by about exp(L lambda_1). "
                "Dynamical isometry means every singular value of the input-output Jacobian near 1."
            ),
            figures=(sv_figure,),
            tables=(comp_table,),
        ),
        Section(
            title="Weight scale, the quarter bound and saturation",
            text=(
                "Gaussian weights N(0, sigma_w^2/n) from small to large scale: the per-layer rate crosses zero at the "
                "critical scale of each activation, and saturated or dead units appear. A sigmoid layer's Jacobian "
                "diag(sigmoid') W has norm at most ||W|| / 4."
            ),
            figures=(rate_fig, frac_fig, bound_fig),
        ),
        Section(
            title="Residual connections and layer normalisation",
            text="The same Gaussian networks with x_{l+1} = x_l + phi(h_l) and/or h_l normalised per layer.",
            tables=(var_table,),
        ),
        _layerwise_section(headline, main, batch, depth_h),
    ]
    summary = (
        f"A deep sigmoid network with Gaussian initialisation contracts layer to layer (lambda_1 = {lp:.3f} per layer): "
        f"the gradient with respect to the input vanishes at {main.gradient_rate:.3f} per layer, verdict {main.verdict}; "
        f"the saturation ablations refute saturation as the cause (the quarter bound of sigmoid' is). Across "
        "activations and initialisations, orthogonal weights with linear or tanh units come closest to dynamical "
        "isometry, ReLU is critical with He weights, and residual connections keep the smallest singular values "
        "away from zero."
    )
    extra: dict[str, Any] = {}
    return make_study(
        "deep_network",
        "Deep networks read layer by layer",
        summary,
        main,
        sections,
        findings,
        fast=fast,
        config={k: (list(v) if isinstance(v, (tuple, list)) else v) for k, v in cfg.items()}
        | {"headline": f"sigmoid, Gaussian N(0, 1/n), width {cfg['width']}, depth {depth_h}"},
        extra=extra,
    )


def _layerwise_section(headline, main, batch, depth) -> Section:
    """The headline network's gradient scale layer by layer and its activations at a few depths."""
    import jax

    keep = sorted({1, max(1, depth // 4), max(1, depth // 2), depth})
    y0s = jax.vmap(lambda x: dict(headline.y0, x=x))(jnp.asarray(batch, headline.y0["x"].dtype))
    samples = activation_samples(headline.simulator, y0s, headline.args, keep, read=lambda y: y["x"])
    return Section(
        title="Layer-wise gradient scale and activations",
        text=(
            "The headline network's backpropagated gradient at each layer (from the diagnosis's longest window) "
            "and the distribution of its activations at four depths, over 32 Gaussian inputs."
        ),
        figures=(
            layerwise_gradient_figure({"sigmoid, Gaussian": main.gradient}),
            activation_histogram_figure(
                {f"layer {k}": v for k, v in samples.items()}, title="Activations of the headline network"
            ),
        ),
    )


SPEC = StudySpec(
    name="deep_network",
    title="Deep networks",
    description="Layer-by-layer exponents of deep MLPs: activations, initialisations, residual and layer norm.",
    run=run,
)
