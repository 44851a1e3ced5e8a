"""A deep feed-forward network read layer by layer as a non-autonomous map.

``x_{l+1} = phi(W_l x_l + b_l)`` with different weights per layer; the singular values of
the input-output Jacobian decide whether backpropagation is well-conditioned (dynamical
isometry: Saxe, McClelland & Ganguli, ICLR 2014; Pennington, Schoenholz & Ganguli,
NeurIPS 2017). Weights and inputs are drawn with ``numpy.random.default_rng(seed)``
(PCG64), the same on every platform. Its diagnostics are in ``_deep_diagnostics``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad import _checks
from chaosgrad._errors import bad_argument
from chaosgrad._simulators.base import MapSimulator
from chaosgrad.zoo._learning_build import check_choice, check_int, check_real, log_abs_det_divergence
from chaosgrad.zoo._system import System, check_numerics

ACTIVATIONS = {
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "relu": jax.nn.relu,
    "linear": lambda v: v,
}
INITS = ("gaussian", "orthogonal", "xavier", "he")
LAYER_NORM_EPS = 1e-5


def init_weights(rng: np.random.Generator, depth: int, width: int, init: str, sigma_w: float):
    """``(depth, width, width)`` stacked square weights (numpy) for one initialisation.

    - ``"gaussian"``: ``N(0, sigma_w^2 / n)`` (Poole et al., NeurIPS 2016);
    - ``"orthogonal"``: ``sigma_w Q`` with ``Q`` Haar-distributed (QR of a Gaussian
      matrix with the signs of ``diag(R)`` fixed, Mezzadri 2007; Saxe et al., ICLR 2014);
    - ``"xavier"``: uniform with variance ``sigma_w^2 * 2 / (fan_in + fan_out)``
      (Glorot & Bengio, AISTATS 2010);
    - ``"he"``: ``N(0, sigma_w^2 * 2 / fan_in)`` (He et al., ICCV 2015).
    """
    shape = (depth, width, width)
    if init == "gaussian":
        return sigma_w * rng.standard_normal(shape) / math.sqrt(width)
    if init == "he":
        return sigma_w * math.sqrt(2.0 / width) * rng.standard_normal(shape)
    if init == "xavier":
        limit = sigma_w * math.sqrt(6.0 / (2 * width))
        return rng.uniform(-limit, limit, shape)
    q, r = np.linalg.qr(rng.standard_normal(shape))
    return sigma_w * q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def _layer(x, W, b, cfg):
    """One layer: returns ``(x_{l+1}, h_l)`` with ``h_l`` the (normalised) pre-activation."""
    h = W.astype(x.dtype) @ x + b.astype(x.dtype)
    if cfg["layer_norm"]:
        h = (h - jnp.mean(h)) / jnp.sqrt(jnp.var(h) + LAYER_NORM_EPS)
    out = ACTIVATIONS[cfg["activation"]](h)
    return (x + out if cfg["residual"] else out), h


def deep_network(
    *,
    depth: int = 50,
    width: int = 100,
    activation: str = "tanh",
    init: str = "orthogonal",
    sigma_w: float = 1.0,
    sigma_b: float = 0.0,
    bias: float = 0.0,
    residual: bool = False,
    layer_norm: bool = False,
    seed: int = 0,
    dtype="float64",
) -> System:
    """A depth-``L`` fully connected network read layer by layer as a discrete map.

    Equations, for ``l = 0, ..., L - 1``::

        h_l = W_l x_l + b_l                       (LN(h) = (h - mean h) / sqrt(var h + 1e-5)
        x_{l+1} = phi(h_l)   or   x_l + phi(h_l)   applied to h_l when layer_norm=True)

    The state is ``{"x": x_l, "layer": l}``; the integer layer index is carried through
    the map (the tangent machinery ignores integer leaves) and picks ``W[l]``, ``b[l]``
    from ``args = {"W": (L, n, n), "b": (L, n)}``. Run exactly ``depth`` steps: past the
    last layer the index is clamped and the last layer is applied again. Lyapunov
    exponents of this map are per-layer log stretch rates; the singular values of the
    input-output Jacobian ``dx_L/dx_0`` decide whether backpropagation is well
    conditioned (Pennington, Schoenholz & Ganguli, NeurIPS 2017).

    ``phi`` is ``"tanh"``, ``"sigmoid"``, ``"relu"`` or ``"linear"``; ``init`` one of
    :data:`INITS` (see :func:`init_weights`); ``b_l ~ bias + sigma_b N(0, 1)``; the
    input is ``x_0 ~ N(0, 1)``. Defaults ``L = 50``, ``n = 100``, tanh, orthogonal,
    ``sigma_w = 1``, ``sigma_b = 0``. With orthogonal weights and a linear activation all
    singular values are exactly 1 (dynamical isometry); tanh with ``sigma_w = 1``,
    ``sigma_b = 0`` is at the order-chaos boundary (Poole et al., NeurIPS 2016);
    relu is critical at He's variance ``2 / n``; a sigmoid layer scales gradients by
    at most ``0.25 ||W_l||_2``.
    """
    dtype = check_numerics(dtype)
    cfg = _config(depth, width, activation, init, sigma_w, sigma_b, bias, residual, layer_norm, seed)
    args, y0 = _draw(cfg)
    step = layer_map(cfg)
    form = "x + phi(h)" if residual else "phi(h)"
    norm = "LN(W_l x_l + b_l)" if layer_norm else "W_l x_l + b_l"
    return System(
        name="deep_network",
        title=f"Deep {activation} network (L = {cfg['depth']}, n = {cfg['width']}, {init})",
        simulator=MapSimulator(step, dtype=dtype),
        y0=y0,
        args=args,
        equations=f"h_l = {norm}; x_(l+1) = {form}, phi = {activation}",
        parameters=cfg,
        literature={
            "exponents": None,
            "source": "Pennington, Schoenholz & Ganguli, NeurIPS 2017; Poole et al., NeurIPS 2016",
            "note": "orthogonal + linear: all Jacobian singular values 1; sigmoid: <= 0.25 ||W||",
        },
        divergence=log_abs_det_divergence(step),
        notes=f"run exactly {cfg['depth']} steps (one per layer)",
    )


def _config(depth, width, activation, init, sigma_w, sigma_b, bias, residual, layer_norm, seed) -> dict:
    """The checked configuration of :func:`deep_network`, its ``System.parameters``."""
    depth, width = check_int("depth", depth), check_int("width", width)
    check_choice("activation", activation, tuple(ACTIVATIONS))
    check_choice("init", init, INITS)
    sigma_w = check_real("sigma_w", sigma_w, positive=True)
    sigma_b, bias = check_real("sigma_b", sigma_b), check_real("bias", bias)
    seed = _checks.check_seed(seed)
    for name, flag in (("residual", residual), ("layer_norm", layer_norm)):
        if not isinstance(flag, bool):
            raise bad_argument(name, f"{flag!r} is not a bool", "pass True or False")
    return {
        "depth": depth,
        "width": width,
        "activation": activation,
        "init": init,
        "sigma_w": sigma_w,
        "sigma_b": sigma_b,
        "bias": bias,
        "residual": residual,
        "layer_norm": layer_norm,
        "seed": seed,
    }


def _draw(cfg: dict) -> tuple[dict, dict]:
    """``args = {"W": (L, n, n), "b": (L, n)}`` and the state ``{"x": x_0, "layer": 0}``,
    drawn in this order from ``numpy.random.default_rng(seed)``."""
    depth, width = cfg["depth"], cfg["width"]
    rng = np.random.default_rng(cfg["seed"])
    args = {
        "W": jnp.asarray(init_weights(rng, depth, width, cfg["init"], cfg["sigma_w"])),
        "b": jnp.asarray(cfg["bias"] + cfg["sigma_b"] * rng.standard_normal((depth, width))),
    }
    y0 = {"x": jnp.asarray(rng.standard_normal(width)), "layer": jnp.asarray(0, jnp.int32)}
    return args, y0


def layer_map(cfg: dict):
    """``{"x": x_l, "layer": l} -> {"x": x_{l+1}, "layer": l + 1}`` with layer ``l``'s
    weights from ``args``; past the last layer the index is clamped to it."""
    depth = cfg["depth"]

    def step(y, a):
        index = jnp.clip(y["layer"], 0, depth - 1)
        x1, _ = _layer(y["x"], a["W"][index], a["b"][index], cfg)
        return {"x": x1, "layer": y["layer"] + 1}

    return step
