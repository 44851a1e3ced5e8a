"""Diagnostics of a :func:`~chaosgrad.zoo.deep_network`: the singular values of its
input-output Jacobian, each layer's Jacobian norm, and the fractions of saturated tanh or
sigmoid units and of dead ReLU units."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._errors import bad_argument
from chaosgrad.zoo._deep_network import _layer
from chaosgrad.zoo._system import System

TANH_SATURATION = 0.99  # a tanh unit is saturated when |tanh(h)| > 0.99
SIGMOID_SATURATION = 0.01  # a sigmoid unit is saturated when sigmoid'(h) < 0.01


def _network(system, x, args, *, batch: bool):
    if not isinstance(system, System) or system.name != "deep_network":
        raise bad_argument("system", "is not a deep network", "build it with deep_network(...)")
    cfg = system.parameters
    args = system.args if args is None else args
    x = system.y0["x"] if x is None else jnp.asarray(x, jnp.float64)
    ndims = (1, 2) if batch else (1,)
    if x.ndim not in ndims or x.shape[-1] != cfg["width"]:
        shape = f"({cfg['width']},)" + (f" or (batch, {cfg['width']})" if batch else "")
        raise bad_argument("x", f"has shape {x.shape}", f"pass an input of shape {shape}")
    return cfg, args, x


def _trace(cfg, args, x):
    """Layer inputs ``(L, n)``, pre-activations ``(L, n)`` and the output ``x_L``."""

    def body(x, wb):
        x1, h = _layer(x, wb[0], wb[1], cfg)
        return x1, (x, h)

    out, (xs, hs) = jax.lax.scan(body, x, (args["W"], args["b"]))
    return xs, hs, out


def _preactivations(cfg, args, x):
    """``(B, L, n)`` pre-activations for a single input ``(n,)`` or a batch ``(B, n)``."""
    x = x[None] if x.ndim == 1 else x
    return _compiled("preactivations", cfg)(args, x)


# The fields of a network configuration that change the computation; the others (depth,
# width, initialisation, scales, seed) only change the traced weights and their shapes.
_STRUCTURE = ("activation", "residual", "layer_norm")


def _compiled(kind: str, cfg: dict):
    """A jitted analysis of the network ``cfg``, cached per structure (activation, residual,
    layer norm), so networks that differ only in their weights share one compilation."""
    return _compiled_cached(kind, tuple((k, cfg[k]) for k in _STRUCTURE))


@functools.lru_cache(maxsize=64)
def _compiled_cached(kind, frozen):
    cfg = dict(frozen)
    if kind == "preactivations":
        return jax.jit(lambda args, x: jax.vmap(lambda v: _trace(cfg, args, v)[1])(x))
    if kind == "singular_values":

        def sv(args, x):
            J = jax.jacfwd(lambda v: _trace(cfg, args, v)[2])(x)
            return jnp.linalg.svd(J, compute_uv=False)

        return jax.jit(sv)

    def norms(args, x):
        def norm(xl, W, b):
            return jnp.linalg.norm(jax.jacfwd(lambda v: _layer(v, W, b, cfg)[0])(xl), 2)

        return jax.vmap(norm)(_trace(cfg, args, x)[0], args["W"], args["b"])

    return jax.jit(norms)


def jacobian_singular_values(system: System, x=None, *, args=None) -> np.ndarray:
    """Singular values, descending, of the input-output Jacobian ``dx_L / dx_0``.

    ``J = D_{L-1} ... D_1 D_0`` with ``D_l = diag(phi'(h_l)) W_l`` (plus ``I`` for residual
    layers); computed exactly by forward-mode AD through all layers. Dynamical isometry
    means all singular values near 1 (Pennington, Schoenholz & Ganguli, NeurIPS 2017).
    ``x`` defaults to the system's input ``y0["x"]``; ``args`` to its weights.
    """
    cfg, args, x = _network(system, x, args, batch=False)
    return np.asarray(_compiled("singular_values", cfg)(args, x))


def layer_jacobian_norms(system: System, x=None, *, args=None) -> np.ndarray:
    """``(L,)`` spectral norms ``||D_l||_2`` of each layer's Jacobian ``dx_{l+1} / dx_l``.

    For a sigmoid layer without residual or normalisation ``||D_l||_2 <= 0.25 ||W_l||_2``
    because ``sigmoid' <= 1/4``.
    """
    cfg, args, x = _network(system, x, args, batch=False)
    return np.asarray(_compiled("layer_norms", cfg)(args, x))


def saturation_fraction(system: System, x=None, *, args=None) -> np.ndarray:
    """``(L,)`` fraction of saturated units per layer (over units and batch inputs).

    A tanh unit is saturated when ``|tanh(h)| > 0.99`` (``tanh' < 0.0199``); a sigmoid
    unit when ``sigmoid'(h) < 0.01``. Saturated units pass almost no gradient
    (Glorot & Bengio, AISTATS 2010). ``x`` may be one input ``(n,)`` or a batch ``(B, n)``.
    """
    cfg, args, x = _network(system, x, args, batch=True)
    if cfg["activation"] not in ("tanh", "sigmoid"):
        raise bad_argument(
            "system",
            f"has activation {cfg['activation']!r}; saturation is defined for tanh and sigmoid",
            "use dead_relu_fraction for relu networks",
        )
    hs = _preactivations(cfg, args, x)
    if cfg["activation"] == "tanh":
        saturated = jnp.abs(jnp.tanh(hs)) > TANH_SATURATION
    else:
        s = jax.nn.sigmoid(hs)
        saturated = s * (1.0 - s) < SIGMOID_SATURATION
    return np.asarray(jnp.mean(saturated, axis=(0, 2)))


def dead_relu_fraction(system: System, x=None, *, args=None) -> np.ndarray:
    """``(L,)`` fraction of dead ReLU units per layer.

    A unit is dead when its pre-activation is ``<= 0`` for every input given (one input
    ``(n,)`` or a batch ``(B, n)``): its output and its gradient are then exactly 0 (Lu
    et al., "Dying ReLU and initialization", 2020).
    """
    cfg, args, x = _network(system, x, args, batch=True)
    if cfg["activation"] != "relu":
        raise bad_argument(
            "system",
            f"has activation {cfg['activation']!r}, not relu",
            "use saturation_fraction for tanh and sigmoid networks",
        )
    dead = jnp.all(_preactivations(cfg, args, x) <= 0.0, axis=0)
    return np.asarray(jnp.mean(dead, axis=1))
