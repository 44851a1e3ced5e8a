"""The deep-network study's sweeps over many networks: activations against initialisations,
the weight scale, and residual connections and layer normalisation; each measured by one
function and drawn or tabulated by another.
"""

from __future__ import annotations

import numpy as np

from chaosgrad._results.study import Figure, Series, Table
from chaosgrad.studies._deep_layers import fmt_frac, measure_network, per_layer_rate, spread_text, unit_fraction
from chaosgrad.zoo import deep_network, layer_jacobian_norms

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
INITS = ("gaussian", "orthogonal", "xavier", "he")
RESOLVED = 1e-15  # singular values below this fraction of sigma_max are float64 round-off
VARIANTS = {
    "plain": (False, False),
    "residual": (True, False),
    "layer norm": (False, True),
    "residual + layer norm": (True, True),
}


def measure_comparison(cfg, batch, progress) -> dict:
    """:func:`measure_network` of every activation with every initialisation of ``cfg["inits"]``."""
    measured = {}
    combos = [(a, i) for a in ACTIVATIONS for i in cfg["inits"]]
    for j, (act, init) in enumerate(combos):
        progress(f"{act} network, {init} weights", j, len(combos))
        system = deep_network(depth=cfg["depth"], width=cfg["width"], activation=act, init=init)
        measured[(act, init)] = measure_network(system, batch)
    progress("activations and initialisations", len(combos), len(combos))
    return measured


def comparison_table(cfg, measured) -> Table:
    table_rows = [
        (
            act,
            init,
            f"{m['lambda_1']:+.3f} ± {m['se']:.3f}",
            f"{m['smax']:.3g}",
            f"{m['smin']:.3g}",
            spread_text(m),
            f"{m['gain_ratio_max']:.3f}",
            fmt_frac(m["fraction_kind"], m["fraction"]),
        )
        for (act, init), m in measured.items()
    ]
    return Table(
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


def singular_value_figure(cfg, measured) -> Figure:
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
    return Figure(
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


def measure_sigma_sweep(cfg, batch, progress) -> tuple[dict, dict]:
    """lambda_1 per layer (with its half-width) and the unit fraction of each saturating or
    rectifying activation at every weight scale of ``cfg["sigma_ws"]``."""
    sws = cfg["sigma_ws"]
    rates, fracs = {}, {}
    for act in ("sigmoid", "tanh", "relu"):
        r, f = [], []
        for j, sw in enumerate(sws):
            progress(f"{act}: sigma_w = {sw:g}", j, len(sws))
            system = deep_network(depth=cfg["depth"], width=cfg["width"], activation=act, init="gaussian", sigma_w=sw)
            r.append(per_layer_rate(system))
            f.append(unit_fraction(system, batch)[1])
        rates[act], fracs[act] = np.array(r), np.array(f)
    return rates, fracs


def sigma_figures(cfg, rates, fracs) -> tuple[Figure, Figure]:
    x = np.asarray(cfg["sigma_ws"], dtype=float)
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
    return rate_fig, frac_fig


def bound_figure(cfg) -> Figure:
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


def measure_variants(cfg, batch, progress) -> dict:
    """:func:`measure_network` of every activation of ``cfg["variant_activations"]`` in each of :data:`VARIANTS`."""
    measured = {}
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
        measured[(act, name)] = measure_network(system, batch)
    progress("residual and layer norm", len(combos), len(combos))
    return measured


def variants_table(cfg, measured) -> Table:
    rows = [
        (
            act,
            name,
            f"{m['lambda_1']:+.3f} ± {m['se']:.3f}",
            f"{m['smax']:.3g}",
            f"{m['smin']:.3g}",
            spread_text(m),
            fmt_frac(m["fraction_kind"], m["fraction"]),
        )
        for (act, name), m in measured.items()
    ]
    return Table(
        title=f"Residual connections and layer normalisation (Gaussian weights, depth {cfg['depth']})",
        caption=(
            "A residual layer x + phi(h) adds the identity to each layer Jacobian, which keeps the smallest "
            "singular values away from zero but can push lambda_1 above 0 (gradients grow with depth); layer "
            "normalisation fixes the scale of the pre-activations whatever sigma_w is."
        ),
        columns=("activation", "variant", "lambda_1 per layer", "sigma_max", "sigma_min", "log10 spread", "units"),
        rows=tuple(rows),
    )
