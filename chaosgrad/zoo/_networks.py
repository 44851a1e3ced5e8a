"""Neural networks as dynamical systems: random recurrent networks and deep networks.

A recurrent network with fixed weights and no (or a constant) input is an autonomous
discrete map ``h_{t+1} = F(h_t)``; backpropagation through time multiplies the Jacobians
``DF(h_t)``, so the gradient with respect to an early state grows or decays like
``exp(lambda_1 t)``. A deep feed-forward network read layer by layer is a
non-autonomous map ``x_{l+1} = phi(W_l x_l + b_l)`` with different weights per layer; the
singular values of the input-output Jacobian decide whether backpropagation is
well-conditioned (dynamical isometry: Saxe, McClelland & Ganguli, ICLR 2014; Pennington,
Schoenholz & Ganguli, NeurIPS 2017).

Random weights and initial states are drawn with ``numpy.random.default_rng(seed)``
(PCG64), so a seed gives the same system on every platform and nothing is compiled to
build one. Factories: :func:`tanh_rnn`, :func:`gru_rnn`, :func:`lstm_rnn`, :func:`deep_network`.
Deep-network diagnostics: :func:`jacobian_singular_values`, :func:`layer_jacobian_norms`,
:func:`saturation_fraction`, :func:`dead_relu_fraction`.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad import _checks
from chaosgrad._errors import bad_argument
from chaosgrad._pytree import FlatState
from chaosgrad._simulators.base import MapSimulator
from chaosgrad.zoo._system import System, check_numerics

# ---------------------------------------------------------------------------- checks


def check_int(name: str, value, minimum: int = 1) -> int:
    """The package's one rule for counts (``_checks.check_count``)."""
    return _checks.check_count(name, value, minimum=minimum, example=max(minimum, 1))


def check_real(name: str, value, *, positive: bool = False) -> float:
    """The package's one rule for reals (``_checks.check_real``)."""
    return _checks.check_real(name, value, positive=positive)


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise bad_argument(name, f"{value!r} is not one of {tuple(choices)}", f"pass one of {tuple(choices)}")
    return value


def log_abs_det_divergence(step):
    """``div(y, args) = ln|det D_y step(y, args)|`` by forward-mode AD on the float leaves.

    For a map, the sum of all Lyapunov exponents is the time average of this quantity.
    """

    def divergence(y, args):
        flat, u, rest = FlatState.from_template(y)
        J = jax.jacfwd(lambda v: flat.split(step(flat.combine(v, rest), args))[0])(u)
        return jnp.linalg.slogdet(J)[1]

    return divergence


def _log_sech2(x):
    """``ln(1 - tanh(x)^2) = 2 (ln 2 - |x| - ln(1 + e^{-2|x|}))``, without underflow."""
    a = jnp.abs(x)
    return 2.0 * (math.log(2.0) - a - jnp.log1p(jnp.exp(-2.0 * a)))


# ---------------------------------------------------------------------------- tanh RNN


def tanh_rnn(*, n: int = 100, g: float = 2.0, seed: int = 0, dtype="float64") -> System:
    """Random tanh recurrent network in discrete time.

    Equations: ``h_{t+1} = tanh(g W h_t)``, ``W_ij ~ N(0, 1/N)`` i.i.d. (seeded), so the
    eigenvalues of ``W`` fill the unit disc as ``N -> infinity`` (Girko's circular law).

    Defaults: ``N = 100``, ``g = 2.0``, ``seed = 0``; ``h_0 = tanh(xi)``, ``xi ~ N(0, 1)``.
    ``args = {"W": W, "g": g}`` (differentiate with respect to either).

    Behaviour: the continuous-time network ``dh/dt = -h + g W tanh(h)`` becomes chaotic at
    ``g = 1`` as ``N -> infinity`` (Sompolinsky, Crisanti & Sommers, PRL 61, 259, 1988);
    so does this discrete map (Molgedey, Schuchhardt & Schuster, PRL 69, 3717, 1992;
    Cessac, J. Phys. I 5, 409, 1995). At ``N = 100`` the edge is blurred by finite size:
    with seed 0, lambda_1 = -0.017 at g = 1, 0.000 at 1.2, +0.023 at 1.5, +0.132 at 2
    (measured here). For ``g < 1`` the origin attracts and the exponents are
    ``ln|eig(g W)|`` exactly, so ``lambda_1 = ln(g rho(W)) -> ln g``. Every step obeys
    ``||Df|| <= g ||W||_2`` because ``|tanh'| <= 1``, so ``lambda_1 <= ln(g ||W||_2)``.
    ``divergence`` is ``ln|det Df| = sum_i ln sech^2((g W h)_i) + N ln g + ln|det W|``.
    """
    dtype = check_numerics(dtype)
    n = check_int("n", n)
    g = check_real("g", g, positive=True)
    seed = _checks.check_seed(seed)
    rng = np.random.default_rng(seed)
    W = jnp.asarray(rng.standard_normal((n, n)) / math.sqrt(n))
    h0 = jnp.asarray(np.tanh(rng.standard_normal(n)))
    args = {"W": W, "g": jnp.asarray(g, jnp.float64)}

    def step(h, a):
        return jnp.tanh(a["g"].astype(h.dtype) * (a["W"].astype(h.dtype) @ h))

    def divergence(h, a):
        pre = a["g"] * (a["W"] @ h)
        return jnp.sum(_log_sech2(pre)) + n * jnp.log(a["g"]) + jnp.linalg.slogdet(a["W"])[1]

    literature: dict[str, Any] = {
        "exponents": None,
        "source": "Sompolinsky, Crisanti & Sommers, PRL 61, 259 (1988); "
        "Molgedey, Schuchhardt & Schuster, PRL 69, 3717 (1992)",
        "note": "transition to chaos at g = 1; for g < 1 lambda_1 = ln(g rho(W)) -> ln g",
    }
    if g < 1:
        moduli = np.sort(np.abs(np.linalg.eigvals(g * np.asarray(W))))[::-1]
        literature["exponents"] = [float(v) for v in np.log(moduli)]
        literature["note"] += "; exponents listed are ln|eig(g W)| at the attracting origin"
    return System(
        name="tanh_rnn",
        title=f"Random tanh RNN (N = {n}, g = {g:g})",
        simulator=MapSimulator(step, dtype=dtype),
        y0=h0,
        args=args,
        equations="h_{t+1} = tanh(g W h_t),  W_ij ~ N(0, 1/N)",
        parameters={"n": n, "g": g, "seed": seed},
        literature=literature,
        divergence=divergence,
        notes="Lyapunov bound lambda_1 <= ln(g ||W||_2); chaos for g > 1.",
    )


# ---------------------------------------------------------------------------- gated RNNs


def _gated_weights(seed, n, n_in, g, names, input_scale):
    rng = np.random.default_rng(seed)
    args = {}
    for name in names:
        args[f"U_{name}"] = jnp.asarray(g * rng.standard_normal((n, n)) / math.sqrt(n))
        args[f"W_{name}"] = jnp.asarray(rng.standard_normal((n, n_in)) / math.sqrt(n_in))
        args[f"b_{name}"] = jnp.zeros(n, jnp.float64)
    args["x"] = jnp.asarray(input_scale * rng.standard_normal(n_in))
    return args, jnp.asarray(rng.standard_normal(n))


def _gate(a, name, h, x):
    cast = lambda v: v.astype(h.dtype)
    return cast(a[f"U_{name}"]) @ h + cast(a[f"W_{name}"]) @ cast(x) + cast(a[f"b_{name}"])


def _gated_checks(n, g, n_in, input_scale, seed):
    return (
        check_int("n", n),
        check_real("g", g, positive=True),
        check_int("n_in", n_in),
        check_real("input_scale", input_scale),
        _checks.check_seed(seed),
    )


def gru_rnn(
    *,
    n: int = 100,
    g: float = 2.0,
    n_in: int = 10,
    input_scale: float = 0.0,
    gate_bias: float = 0.0,
    seed: int = 0,
    dtype="float64",
) -> System:
    """Gated recurrent unit with random weights (Cho et al., EMNLP 2014), as a map.

    Equations (Cho et al.'s convention, ``z`` = update gate, ``r`` = reset gate)::

        z = sigmoid(U_z h + W_z x + b_z),   r = sigmoid(U_r h + W_r x + b_r)
        c = tanh(U_h (r * h) + W_h x + b_h)
        h_{t+1} = z * h_t + (1 - z) * c

    ``U_* ~ g N(0, 1/N)``, ``W_* ~ N(0, 1/n_in)``, ``b_z = gate_bias``, other biases 0,
    and a fixed input ``x = input_scale * N(0, 1)`` (``input_scale = 0``: autonomous).
    Defaults ``N = 100, g = 2, n_in = 10, input_scale = 0, gate_bias = 0, seed = 0``.

    The term ``z * h_t`` is an additive memory path: its Jacobian contribution is
    ``diag(z)``, so as ``gate_bias -> +infinity`` the step tends to the identity and
    every exponent tends to 0 at any gain, unlike :func:`tanh_rnn` at the same ``g``.
    ``args`` holds every weight by name (``"U_h"``, ``"b_z"``, ``"x"``, ...).
    """
    dtype = check_numerics(dtype)
    n, g, n_in, input_scale, seed = _gated_checks(n, g, n_in, input_scale, seed)
    gate_bias = check_real("gate_bias", gate_bias)
    args, xi = _gated_weights(seed, n, n_in, g, ("z", "r", "h"), input_scale)
    args["b_z"] = jnp.full(n, gate_bias, jnp.float64)

    def step(h, a):
        z = jax.nn.sigmoid(_gate(a, "z", h, a["x"]))
        r = jax.nn.sigmoid(_gate(a, "r", h, a["x"]))
        c = jnp.tanh(_gate(a, "h", r * h, a["x"]))
        return z * h + (1.0 - z) * c

    return System(
        name="gru",
        title=f"Random GRU (N = {n}, g = {g:g}, update-gate bias {gate_bias:g})",
        simulator=MapSimulator(step, dtype=dtype),
        y0=jnp.tanh(xi),
        args=args,
        equations="z = s(U_z h + W_z x + b_z); r = s(U_r h + W_r x + b_r); "
        "c = tanh(U_h (r*h) + W_h x + b_h); h' = z*h + (1-z)*c",
        parameters={"n": n, "g": g, "n_in": n_in, "input_scale": input_scale, "gate_bias": gate_bias, "seed": seed},
        literature={
            "exponents": None,
            "source": "Cho et al., EMNLP 2014",
            "note": "exponents tend to 0 as the update gate saturates open (z -> 1)",
        },
        divergence=log_abs_det_divergence(step),
    )


def lstm_rnn(
    *,
    n: int = 100,
    g: float = 2.0,
    n_in: int = 10,
    input_scale: float = 0.0,
    forget_bias: float = 1.0,
    seed: int = 0,
    dtype="float64",
) -> System:
    """Long short-term memory network with random weights, as a map on ``{"h", "c"}``.

    Equations (Hochreiter & Schmidhuber, Neural Comput. 9, 1997; forget gate from Gers,
    Schmidhuber & Cummins, Neural Comput. 12, 2000)::

        i = sigmoid(U_i h + W_i x + b_i),  f = sigmoid(U_f h + W_f x + b_f)
        o = sigmoid(U_o h + W_o x + b_o),  u = tanh(U_c h + W_c x + b_c)
        c_{t+1} = f * c_t + i * u,          h_{t+1} = o * tanh(c_{t+1})

    Weights as in :func:`gru_rnn`; ``b_f = forget_bias`` (default 1, Jozefowicz,
    Zaremba & Sutskever, ICML 2015), other biases 0. The cell path ``c_{t+1} = f * c_t``
    is the additive memory: as ``forget_bias`` grows, ``dc_{t+1}/dc_t -> I``.
    """
    dtype = check_numerics(dtype)
    n, g, n_in, input_scale, seed = _gated_checks(n, g, n_in, input_scale, seed)
    forget_bias = check_real("forget_bias", forget_bias)
    args, xi = _gated_weights(seed, n, n_in, g, ("i", "f", "o", "c"), input_scale)
    args["b_f"] = jnp.full(n, forget_bias, jnp.float64)

    def step(y, a):
        h, c = y["h"], y["c"]
        i = jax.nn.sigmoid(_gate(a, "i", h, a["x"]))
        f = jax.nn.sigmoid(_gate(a, "f", h, a["x"]))
        o = jax.nn.sigmoid(_gate(a, "o", h, a["x"]))
        c1 = f * c + i * jnp.tanh(_gate(a, "c", h, a["x"]))
        return {"h": o * jnp.tanh(c1), "c": c1}

    return System(
        name="lstm",
        title=f"Random LSTM (N = {n}, g = {g:g}, forget bias {forget_bias:g})",
        simulator=MapSimulator(step, dtype=dtype),
        y0={"h": jnp.tanh(xi), "c": xi},
        args=args,
        equations="c' = f*c + i*tanh(U_c h + W_c x + b_c); h' = o*tanh(c'); gates i, f, o = sigmoid(U h + W x + b)",
        parameters={"n": n, "g": g, "n_in": n_in, "input_scale": input_scale, "forget_bias": forget_bias, "seed": seed},
        literature={
            "exponents": None,
            "source": "Hochreiter & Schmidhuber 1997; Gers et al. 2000",
            "note": "exponents tend to 0 as the forget gate saturates open (f -> 1)",
        },
        divergence=log_abs_det_divergence(step),
    )


# ---------------------------------------------------------------------------- deep networks

ACTIVATIONS = {
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "relu": jax.nn.relu,
    "linear": lambda v: v,
}
INITS = ("gaussian", "orthogonal", "xavier", "he")
LAYER_NORM_EPS = 1e-5
TANH_SATURATION = 0.99  # a tanh unit is saturated when |tanh(h)| > 0.99
SIGMOID_SATURATION = 0.01  # a sigmoid unit is saturated when sigmoid'(h) < 0.01


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
    depth, width = check_int("depth", depth), check_int("width", width)
    check_choice("activation", activation, tuple(ACTIVATIONS))
    check_choice("init", init, INITS)
    sigma_w = check_real("sigma_w", sigma_w, positive=True)
    sigma_b, bias = check_real("sigma_b", sigma_b), check_real("bias", bias)
    seed = _checks.check_seed(seed)
    for name, flag in (("residual", residual), ("layer_norm", layer_norm)):
        if not isinstance(flag, bool):
            raise bad_argument(name, f"{flag!r} is not a bool", "pass True or False")
    cfg = {
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
    rng = np.random.default_rng(seed)
    args = {
        "W": jnp.asarray(init_weights(rng, depth, width, init, sigma_w)),
        "b": jnp.asarray(bias + sigma_b * rng.standard_normal((depth, width))),
    }
    y0 = {"x": jnp.asarray(rng.standard_normal(width)), "layer": jnp.asarray(0, jnp.int32)}

    def step(y, a):
        index = jnp.clip(y["layer"], 0, depth - 1)
        x1, _ = _layer(y["x"], a["W"][index], a["b"][index], cfg)
        return {"x": x1, "layer": y["layer"] + 1}

    form = "x + phi(h)" if residual else "phi(h)"
    norm = "LN(W_l x_l + b_l)" if layer_norm else "W_l x_l + b_l"
    return System(
        name="deep_network",
        title=f"Deep {activation} network (L = {depth}, n = {width}, {init})",
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
        notes=f"run exactly {depth} steps (one per layer)",
    )


# ---------------------------------------------------------------------------- diagnostics


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
