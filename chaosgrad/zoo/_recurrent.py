"""Random recurrent networks as autonomous maps: a tanh network, a GRU and an LSTM.

A recurrent network with fixed weights and no (or a constant) input is an autonomous
discrete map ``h_{t+1} = F(h_t)``; backpropagation through time multiplies the Jacobians
``DF(h_t)``, so the gradient with respect to an early state grows or decays like
``exp(lambda_1 t)``. Weights and initial states are drawn with
``numpy.random.default_rng(seed)`` (PCG64), so a seed gives the same system on every
platform and nothing is compiled to build one.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad import _checks
from chaosgrad._simulators.base import MapSimulator
from chaosgrad.zoo._learning_build import check_int, check_real, log_abs_det_divergence
from chaosgrad.zoo._system import System, check_numerics


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
