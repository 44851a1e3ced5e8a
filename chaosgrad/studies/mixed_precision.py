"""Mixed precision: float16 gradients that underflow, and dynamic loss scaling.

float16 represents magnitudes from 2^-24 (its smallest subnormal; 2^-14 the smallest
normal) to 65504. A vanishing gradient, ``||g(T)|| ~ exp(gamma T)`` with ``gamma < 0``,
leaves that range at a horizon the diagnosis reports (``underflow_horizon``); below it the
subnormals lose their digits and the gradient freezes or becomes exactly zero. Dynamic
loss scaling (Micikevicius et al. 2018) multiplies the backward pass by a power of two
``S``: the underflow horizon moves by ``ln S / |gamma|``, and no further, because the
scaled seed ``S dL/dy(T)`` must stay below 65504 (``S <= 2^15`` for a seed of order one).

Two set-ups:

1. the logistic map at r = 2.8 (a stable fixed point; the gradient with respect to the
   initial state decays like 0.8^n), diagnosed in float16: its loss-scaling ablation, and
   the gradient against n in float64, plain float16 and float16 with loss scaling;
2. training a deep sigmoid network in float16 with Adam, under ``chaosgrad.monitor``: the
   first layers' gradients underflow to exactly zero in plain float16, so Adam cannot
   move them; with dynamic loss scaling they are nonzero.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from chaosgrad._diagnosis.advice import underflow_with_scaling
from chaosgrad._diagnosis.diagnose import diagnose
from chaosgrad._gradients.growth import measure_growth
from chaosgrad._gradients.loss_scaling import DynamicLossScale, all_finite
from chaosgrad._gradients.options import prepare_measurement
from chaosgrad._results.study import Figure, Series, Study, Table
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._simulators.base import MapSimulator
from chaosgrad._training.monitor import TrainingRecorder, monitor
from chaosgrad.studies import StudySpec
from chaosgrad.studies._common import Section, fmt, make_study, no_progress

R = 2.8  # logistic map: fixed point 1 - 1/r, multiplier 2 - r = -0.8


def _logistic(dtype):
    return MapSimulator(lambda x, r: r * x * (1 - x), dtype=dtype)


def _curve(dtype, horizons, scaling=None):
    sim, y0s, a, sel, lo, plan = prepare_measurement(
        _logistic(dtype),
        jnp.array([0.3]),
        R,
        loss=lambda y: y[0],
        horizons=horizons,
        wrt="y0",
        members=3,
        spacing=50.0,
        transient=0.0,
        ensemble=False,
        seed=0,
    )
    return measure_growth(sim, y0s, a, loss=lo, sel=sel, plan=plan, loss_scaling=scaling)


def _gradient_section(horizons):
    runs = {
        "float64": _curve("float64", horizons),
        "float16": _curve("float16", horizons),
        "float16, dynamic loss scaling": _curve("float16", horizons, DynamicLossScale()),
    }
    tiny = float(jnp.finfo(jnp.float16).smallest_normal)
    series = tuple(
        Series(name, g.horizons, np.nanmedian(np.where(g.norms > 0, g.norms, np.nan), axis=0), style="line+marker")
        for name, g in runs.items()
    )
    series += (Series("float16 smallest normal 2^-14", runs["float64"].horizons[:1], np.array([tiny]), style="hline"),)
    fig = Figure(
        title="|dL/dx_0| against n, logistic map at r = 2.8",
        xlabel="n (steps)",
        ylabel="gradient norm",
        yscale="log",
        series=series,
        caption=(
            "Exact decay 0.8^n in float64. Plain float16 follows it to the subnormal range and then freezes "
            "(subnormal products round back up) or vanishes; with loss scaling the scaled gradient stays in range "
            "about ln S / |ln 0.8| steps longer."
        ),
    )
    rows = tuple(
        (
            name,
            f"{g.rate:+.4f} [{g.rate_low:+.4f}, {g.rate_high:+.4f}]",
            "n/a" if g.loss_scale_log2 is None else fmt(float(np.median(g.loss_scale_log2)), 3),
        )
        for name, g in runs.items()
    )
    table = Table(
        title="Rate of the gradient (exact: ln 0.8 = -0.2231)",
        columns=("arithmetic", "rate [95%]", "median log2 S"),
        rows=rows,
    )
    return runs, Section(
        title="A vanishing gradient in float16",
        text=(
            "The gradient of x_n with respect to x_0 through the logistic map at r = 2.8, three members, in three "
            "arithmetics."
        ),
        figures=(fig,),
        tables=(table,),
    )


def _network(width, depth, seed):
    rng = np.random.default_rng(seed)
    return [jnp.asarray(rng.standard_normal((width, width)) / math.sqrt(width), jnp.float32) for _ in range(depth)]


def _train(params, X, Y, steps, scaling):
    """Adam on float32 master weights; forward and backward in float16."""
    tx = monitor(optax.adam(1e-2))
    state, rec = tx.init(params), TrainingRecorder(params)
    scale = scaling.init() if scaling is not None else None

    def loss16(p16):
        h = X
        for W in p16:
            h = jax.nn.sigmoid(h @ W.T)
        return jnp.mean((h.astype(jnp.float32) - Y) ** 2)

    @jax.jit
    def step(params, state, scale):
        p16 = [W.astype(jnp.float16) for W in params]
        if scaling is None:
            value, g = jax.value_and_grad(loss16)(p16)
            grads = [x.astype(jnp.float32) for x in g]
            ok = all_finite(grads)
        else:
            value, g = jax.value_and_grad(lambda p: DynamicLossScale.scale(scale, loss16(p)))(p16)
            value = value * jnp.exp2(-scale["log2"])
            grads = DynamicLossScale.unscale(scale, g)
            ok = all_finite(grads)
            scale = scaling.adjust(scale, ok)
            grads = jax.tree_util.tree_map(lambda x: jnp.where(ok, x, 0.0), grads)  # a skipped step
        updates, state = tx.update(grads, state, params, value=value)
        return optax.apply_updates(params, updates), state, scale

    for _ in range(steps):
        params, state, scale = step(params, state, scale)
        rec.record(state)
    return rec.log()


def _training_section(fast):
    width, depth, steps = (16, 12, 40) if fast else (32, 14, 150)
    rng = np.random.default_rng(1)
    X = jnp.asarray(rng.standard_normal((64, width)), jnp.float16)
    Y = jnp.asarray(rng.uniform(0.2, 0.8, (64, width)), jnp.float32)
    params = _network(width, depth, 2)
    logs = {
        "float16": _train(params, X, Y, steps, None),
        "float16, dynamic loss scaling": _train(params, X, Y, steps, DynamicLossScale(period=50)),
    }
    layer = np.arange(1, depth + 1, dtype=float)
    fig = Figure(
        title="Gradient norm of each layer's weights at the first step",
        xlabel="layer (1 = input)",
        ylabel="||dL/dW_l||",
        yscale="log",
        series=tuple(
            Series(name, layer, np.where(log.layer_norms[0] > 0, log.layer_norms[0], np.nan), style="line+marker")
            for name, log in logs.items()
        ),
        caption=(
            "Sigmoid layers shrink the backpropagated gradient by at least 4 per layer (sigmoid' <= 1/4): the "
            "first layers' gradients fall below float16's 2^-24 and are exactly zero without loss scaling "
            "(missing points)."
        ),
    )
    loss_fig = Figure(
        title="Training loss",
        xlabel="step",
        ylabel="loss",
        yscale="log",
        series=tuple(Series(name, log.steps.astype(float), log.loss, style="line") for name, log in logs.items()),
        caption="Adam, learning rate 0.01, float32 master weights, float16 forward and backward.",
    )
    rows = []
    for name, log in logs.items():
        zero = int(np.sum(log.layer_norms[0] == 0))
        rows.append(
            (
                name,
                f"{zero} of {depth}",
                fmt(float(log.layer_norms[0][0]), 3),
                fmt(float(log.loss[-1]), 4),
                ", ".join(s.name for s in log.symptoms) or "none",
            )
        )
    table = Table(
        title="Layers that receive no gradient",
        rows=tuple(rows),
        columns=(
            "arithmetic",
            "layers with a zero gradient (step 0)",
            "first layer's |grad|",
            "final loss",
            "symptoms",
        ),
    )
    return logs, Section(
        title="Training a deep sigmoid network in float16",
        text=(
            f"A {depth}-layer sigmoid network of width {width} fitted to random targets for {steps} steps. Adam "
            "normalises each weight's step by its gradient's running size, so a tiny gradient would still train a layer; "
            "a gradient rounded to zero cannot."
        ),
        figures=(fig, loss_fig),
        tables=(table,),
    )


@float64_scope
def run(*, fast: bool = False, progress=None) -> Study:
    progress = progress or no_progress
    progress("diagnosis in float16", 0, 3)
    main = diagnose(
        _logistic("float16"),
        jnp.array([0.3]),
        R,
        horizons=[5.0, 10.0, 20.0, 40.0],
        members=4 if fast else 8,
        name="logistic map r = 2.8 in float16",
    )
    progress("gradient curves", 1, 3)
    runs, grad_section = _gradient_section([5.0, 20.0, 40.0, 60.0, 80.0, 100.0, 120.0])
    plain_u, scaled_u = underflow_with_scaling(main.gradient, runs["float16, dynamic loss scaling"], "float16")
    progress("training", 2, 3)
    logs, train_section = _training_section(fast)
    progress("done", 3, 3)
    ab = {a.name: a for a in main.ablations}
    findings = [
        f"float16 diagnosis: verdict {main.verdict}, causes {', '.join(main.causes) or 'none'}; reported underflow "
        f"horizon {fmt(main.underflow_horizon, 3)} steps.",
        f"With dynamic loss scaling the float16 underflow horizon moves from {fmt(plain_u, 3)} to {fmt(scaled_u, 3)} "
        "steps (ln S / |rate| further, S bounded by 65504 / |seed|).",
    ]
    if "loss-scaling" in ab:
        findings.append(
            f"The loss-scaling ablation {'confirms' if ab['loss-scaling'].confirmed else 'does not confirm'} "
            f"precision: {ab['loss-scaling'].reason}."
        )
    for name, log in logs.items():
        findings.append(
            f"Training, {name}: {int(np.sum(log.layer_norms[0] == 0))} layers get an exactly zero "
            f"gradient at step 0; final loss {log.loss[-1]:.4f}."
        )
    summary = (
        f"float16 gradients that vanish underflow; dynamic loss scaling moves the underflow horizon of the "
        f"logistic map's gradient from {fmt(plain_u, 3)} to {fmt(scaled_u, 3)} steps and gives the first layers "
        "of a deep sigmoid network a nonzero gradient."
    )
    return make_study(
        "mixed_precision",
        "Mixed precision: underflow and dynamic loss scaling",
        summary,
        main,
        [grad_section, train_section],
        findings,
        fast=fast,
        config={"r": R},
        extra={f"log: {name}": log for name, log in logs.items()},
    )


SPEC = StudySpec(
    name="mixed_precision",
    title="Mixed precision",
    description="float16 underflow of vanishing gradients, dynamic loss scaling in a diagnosis and in training.",
    run=run,
)
