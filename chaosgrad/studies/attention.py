"""Attention against recurrence: how the last output depends on the first input.

For a sequence ``x_1..x_L`` (``x_t ~ N(0, I/d)``, random weights), the Jacobian norm
``||d y_L / d x_1||_F`` against ``L`` for

- a tanh RNN ``h_t = tanh(g W h_{t-1} + U x_t)``, ``W_ij ~ N(0, 1/d)``: the Jacobian is a
  product of ``L - 1`` step Jacobians, so it grows or decays like ``exp(lambda_1 L)``
  with lambda_1 the leading Lyapunov exponent of the input-driven network (measured here
  by chaosgrad on the same map, and compared);
- an LSTM (Hochreiter & Schmidhuber 1997, forget bias 1): the cell's additive path slows
  the decay but the product of forget gates still decays exponentially;
- one causal self-attention layer (Vaswani et al. 2017), ``y_t = sum_{s<=t}
  softmax_s(q_t . k_s / sqrt(d)) v_s``: every input reaches every output through a path of
  length one, so the Jacobian decays only like the attention weight on ``x_1``, about
  ``1 / L`` (a power law: log-log slope near -1), never exponentially.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._gradients.fit import fit_growth_rate
from chaosgrad._results.study import Figure, Series, Study, Table
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._simulators.base import MapSimulator
from chaosgrad._spectra.lyapunov import lyapunov_spectrum
from chaosgrad.studies import StudySpec
from chaosgrad.studies._common import (
    Section,
    activation_histogram_figure,
    diagnose_system,
    fmt,
    make_study,
    no_progress,
)
from chaosgrad.zoo import tanh_rnn

D = 32


def _weights(seed, names, scale=1.0):
    rng = np.random.default_rng(seed)
    return {n: jnp.asarray(rng.standard_normal((D, D)) * scale / math.sqrt(D)) for n in names}


def rnn_step(h, x, a):
    return jnp.tanh(a["g"] * a["W"] @ h + a["U"] @ x)


def lstm_step(state, x, a):
    h, c = state
    gate = lambda k: a[f"U{k}"] @ h + a[f"W{k}"] @ x
    i, f, o = jax.nn.sigmoid(gate("i")), jax.nn.sigmoid(gate("f") + 1.0), jax.nn.sigmoid(gate("o"))
    c = f * c + i * jnp.tanh(gate("c"))
    return o * jnp.tanh(c), c


def attention_outputs(X, a):
    """Causal single-head self-attention: ``y_t`` for every ``t`` (rows of ``X``)."""
    q, k, v = X @ a["Q"].T, X @ a["K"].T, X @ a["V"].T
    scores = q @ k.T / math.sqrt(D)
    L = X.shape[0]
    scores = jnp.where(jnp.tril(jnp.ones((L, L), bool)), scores, -jnp.inf)
    return jax.nn.softmax(scores, axis=1) @ v


def _recurrent_outputs(step, init):
    def run(X, a):
        def body(s, x):
            s = step(s, x, a)
            return s, (s[0] if isinstance(s, tuple) else s)

        return jax.lax.scan(body, init, X)[1]

    return run


def first_input_jacobian_norms(outputs, X, a):
    """``||d y_t / d x_1||_F`` for every ``t``, by one forward-mode pass per input
    direction (``D`` columns, vmapped)."""

    def push(e):
        tangent = jnp.zeros_like(X).at[0].set(e)
        return jax.jvp(lambda X: outputs(X, a), (X,), (tangent,))[1]

    cols = jax.vmap(push)(jnp.eye(X.shape[1]))  # (D, L, D)
    return jnp.sqrt(jnp.sum(cols**2, axis=(0, 2)))


def _driven_lambda1(g, seed, steps):
    """lambda_1 of the input-driven tanh RNN, by chaosgrad on the map ``(h, t) -> (h', t + 1)``."""
    a = dict(_weights(seed, ("W", "U")), g=jnp.asarray(g))
    X = jnp.asarray(np.random.default_rng(seed + 1000).standard_normal((steps + 1, D)) / math.sqrt(D))
    sim = MapSimulator(lambda y, a: {"h": rnn_step(y["h"], a["X"][y["k"]], a), "k": y["k"] + 1})
    y0 = {"h": jnp.zeros(D), "k": jnp.asarray(0, jnp.int32)}
    return lyapunov_spectrum(sim, y0, dict(a, X=X), k=1, transient=100.0, time=float(steps - 200))


def _curves(kind, lengths, members, g=None):
    L = int(lengths[-1])
    out = np.zeros((members, L))
    for m in range(members):
        X = jnp.asarray(np.random.default_rng(m).standard_normal((L, D)) / math.sqrt(D))
        if kind == "rnn":
            a = dict(_weights(7, ("W", "U")), g=jnp.asarray(g))
            f = _recurrent_outputs(rnn_step, jnp.zeros(D))
        elif kind == "lstm":
            a = _weights(7, [f"{p}{k}" for p in "UW" for k in "ifoc"])
            f = _recurrent_outputs(lstm_step, (jnp.zeros(D), jnp.zeros(D)))
        else:
            a = _weights(7, ("Q", "K", "V"))
            f = attention_outputs
        out[m] = np.asarray(jax.jit(first_input_jacobian_norms, static_argnums=0)(f, X, a))
    return out[:, np.asarray(lengths) - 1]


def _hidden_states(lengths) -> dict:
    """The tanh RNN's hidden units over the steps of one input sequence, per gain: how far
    into saturation each gain drives them (the figure is the step-wise gradient scale's
    companion: saturated units pass little gradient)."""
    L = int(lengths[-1])
    X = jnp.asarray(np.random.default_rng(0).standard_normal((L, D)) / math.sqrt(D))
    out = {}
    for g in (0.5, 1.0, 2.0):
        a = dict(_weights(7, ("W", "U")), g=jnp.asarray(g))
        out[f"g = {g:g}"] = np.asarray(_recurrent_outputs(rnn_step, jnp.zeros(D))(X, a))
    return out


def _rate(lengths, norms):
    ok = np.isfinite(norms) & (norms > 0)
    fit = fit_growth_rate(np.asarray(lengths, float), norms, ok, fit_mask=np.asarray(lengths) >= lengths[-1] / 4)
    return fit


@dataclass(frozen=True)
class Measured:
    """What :func:`measure` computes and :func:`narrate` reports."""

    members: int
    lengths: np.ndarray  # sequence lengths L
    gains: tuple
    main: Diagnosis  # the undriven tanh network at g = 2
    curves: dict  # network name -> ||d y_L / d x_1||, one row per input sequence, one column per L
    lam: dict  # gain -> Lyapunov spectrum of the driven tanh network
    fits: dict  # network name -> exponential rate fit in L
    hidden: dict  # gain -> hidden states of the tanh network


def measure(fast: bool, progress) -> Measured:
    """Jacobian norms against sequence length for tanh RNNs, an LSTM and self-attention,
    their rates in L, the driven networks' lambda_1, and a diagnosis of the tanh network."""
    members = 4 if fast else 8
    lengths = np.unique(np.round(np.geomspace(2, 64 if fast else 256, 16)).astype(int))
    gains = (0.5, 1.0, 2.0)
    progress("diagnosis", 0, 4)
    system = tanh_rnn(n=D, g=2.0)
    main = diagnose_system(
        system, members=members, lyapunov_time=500.0 if fast else 2000.0, k=1, horizons=[8.0, 16.0, 32.0, 64.0]
    )
    progress("recurrent networks", 1, 4)
    rnn = {g: _curves("rnn", lengths, members, g) for g in gains}
    lam = {g: _driven_lambda1(g, 7, 1500 if fast else 4000) for g in gains}
    progress("LSTM and attention", 2, 4)
    lstm = _curves("lstm", lengths, members)
    attn = _curves("attention", lengths, members)
    progress("done", 4, 4)
    fits = {f"tanh RNN, g = {g:g}": _rate(lengths, rnn[g]) for g in gains}
    fits["LSTM"] = _rate(lengths, lstm)
    fits["self-attention"] = _rate(lengths, attn)
    curves = {**{f"tanh RNN, g = {g:g}": rnn[g] for g in gains}, "LSTM": lstm, "self-attention": attn}
    return Measured(members, lengths, gains, main, curves, lam, fits, _hidden_states(lengths))


def _loglog_slope(m: Measured) -> float:
    """Self-attention's log-log slope in L from L = 8 on: the exponent of its power law."""
    lengths, med = m.lengths, np.median(m.curves["self-attention"], axis=0)
    return float(np.polyfit(np.log(lengths[lengths >= 8]), np.log(med[lengths >= 8]), 1)[0])


def _figure(m: Measured, slope: float) -> Figure:
    members, lengths = m.members, m.lengths
    med = lambda c: np.median(c, axis=0)
    return Figure(
        title="||d y_L / d x_1|| against sequence length",
        xlabel="sequence length L",
        ylabel="Jacobian norm",
        xscale="log",
        yscale="log",
        caption=(
            f"Median over {members} input sequences (band: range). Recurrence: exponential in L at the driven "
            f"network's lambda_1; attention: a power law, log-log slope {slope:.2f}."
        ),
        series=tuple(
            Series(name, lengths.astype(float), med(c), lower=c.min(0), upper=c.max(0), style="line+marker")
            for name, c in m.curves.items()
        ),
    )


def narrate(m: Measured, *, fast: bool) -> Study:
    """The study's section, summary and findings from the numbers :func:`measure` returned."""
    members, lengths, gains, lam, fits = m.members, m.lengths, m.gains, m.lam, m.fits
    slope = _loglog_slope(m)
    rows = []
    for name, fit in fits.items():
        g = next((g for g in gains if name == f"tanh RNN, g = {g:g}"), None)
        lyap = lam[g] if g is not None else None
        lyap_text = f"{float(lyap.exponents[0]):+.4f} ± {float(lyap.uncertainty[0]):.4f}" if lyap is not None else "n/a"
        rows.append((name, f"{fit.rate:+.4f} [{fit.low:+.4f}, {fit.high:+.4f}]", lyap_text))
    table = Table(
        title="Exponential rate in L",
        columns=("network", "rate of ln||J|| per step [95%]", "lambda_1 of the driven network (95%)"),
        rows=tuple(rows),
        caption=f"Attention's rate is the slope of a power law on a linear axis; its log-log slope is {slope:.2f}.",
    )
    findings = [
        f"{name}: ln||d y_L/d x_1|| changes at {fit.rate:+.4f} per step [{fit.low:+.4f}, {fit.high:+.4f}]."
        for name, fit in fits.items()
    ]
    findings += [f"tanh RNN g = {g:g}: its driven lambda_1 is {float(lam[g].exponents[0]):+.4f}." for g in gains]
    findings.append(f"Self-attention's Jacobian follows L^{slope:.2f}: a path of length one, no product of Jacobians.")
    hist = activation_histogram_figure(m.hidden, title="tanh RNN hidden states h_t, by gain")
    section = Section(
        title="Recurrence multiplies Jacobians; attention does not",
        text=(
            "A recurrent network reaches its last output from its first input through L - 1 step Jacobians: the "
            "norm changes like exp(lambda_1 L). Attention reaches it in one step, weighted by the softmax on "
            "the first position, about 1/L for random weights."
        ),
        figures=(_figure(m, slope), hist),
        tables=(table,),
    )
    summary = (
        f"Gradient of the last output with respect to the first input against sequence length: tanh RNNs "
        f"change at their driven lambda_1 ({', '.join(fmt(float(lam[g].exponents[0]), 3) for g in gains)} "
        f"for g = {', '.join(f'{g:g}' for g in gains)}), the LSTM at {fits['LSTM'].rate:+.3f} per step, "
        f"self-attention as L^{slope:.2f}."
    )
    return make_study(
        "attention",
        "Attention against recurrence",
        summary,
        m.main,
        [section],
        findings,
        fast=fast,
        config={"d": D, "members": members, "lengths": [int(x) for x in lengths], "gains": list(gains)},
        extra={},
    )


@float64_scope
def run(*, fast: bool = False, progress=None) -> Study:
    return narrate(measure(fast, progress or no_progress), fast=fast)


SPEC = StudySpec(
    name="attention",
    title="Attention against recurrence",
    description="d y_L / d x_1 against L: tanh RNN at its Lyapunov exponent, LSTM, causal self-attention.",
    run=run,
)
