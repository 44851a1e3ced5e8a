"""The deep-network study's layer map and what it measures of one network: lambda_1 per
layer, the input-output Jacobian's singular values, the layer gains relative to the
weights, and the fraction of saturated or dead units.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from chaosgrad._simulators.arguments import _check_dtype
from chaosgrad._simulators.base import AbstractSimulator
from chaosgrad._spectra.lyapunov import lyapunov_spectrum
from chaosgrad.zoo import dead_relu_fraction, jacobian_singular_values, layer_jacobian_norms, saturation_fraction
from chaosgrad.zoo._deep_network import _layer


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


def per_layer_rate(system) -> tuple[float, float]:
    """lambda_1 of the layer map over all layers of ``system`` and its 95% half-width."""
    depth = system.parameters["depth"]
    res = lyapunov_spectrum(
        layer_by_layer(system), system.y0["x"], system.args, k=1, n_intervals=depth, n_batches=min(8, depth)
    )
    return float(res.exponents[0]), float(res.uncertainty[0])


def unit_fraction(system, batch) -> tuple[str, float]:
    act = system.parameters["activation"]
    if act in ("tanh", "sigmoid"):
        return "saturated", float(np.mean(saturation_fraction(system, batch)))
    if act == "relu":
        return "dead", float(np.mean(dead_relu_fraction(system, batch)))
    return "n/a", math.nan


def measure_network(system, batch) -> dict:
    """One network's numbers: lambda_1 per layer, the Jacobian's singular values, the layer gains and the units."""
    sv = jacobian_singular_values(system)
    gains = layer_jacobian_norms(system)
    w_norms = np.linalg.norm(np.asarray(system.args["W"]), 2, axis=(1, 2))
    lam, se = per_layer_rate(system)
    kind, frac = unit_fraction(system, batch)
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


def spread_text(m) -> str:
    """log10(sigma_max / sigma_min); beyond ~15 decades sigma_min is at float64 round-off."""
    if m["smin"] <= 0:
        return "infinite (sigma_min = 0)"
    if m["spread_log10"] > 15:
        return "> 15 (sigma_min at round-off)"
    return f"{m['spread_log10']:.3g}"


def fmt_frac(kind, frac) -> str:
    return "n/a" if kind == "n/a" else f"{100 * frac:.1f}% {kind}"
