"""Training through chaos: fitting rho of Lorenz-63 to an observed trajectory.

The state is observed every step over a long record generated at rho = 28; rho starts at
a wrong value and is fitted by Adam on the mean squared error between the model's
trajectory and the record. Five ways of taking the gradient:

- ``short window``: backpropagation over one window of the recommended length from t = 0;
- ``full``: backpropagation over the whole record (the gradient explodes like
  exp(lambda_1 T): huge, wildly varying updates);
- ``full, clipped``: the same with ``optax.clip_by_global_norm`` (no divergence, but the
  direction is still that of an exploding, sign-flipping gradient);
- ``truncated``: windows of the recommended length ln 2 / lambda_1 (the diagnosis's
  truncation horizon; Mikhaeil, Monfared & Durstewitz 2022), one random window of the
  record per step, started from the observed state;
- ``averaged windows``: the loss averaged over every window of that length in the record
  (multiple shooting; Metz et al. 2021 discuss both).

Every run goes through :func:`chaosgrad.monitor`, so its log, symptoms included, is in the
study. The point, in numbers: clipping prevents divergence but not the variance;
truncation near ln 2 / lambda_1 trains.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from chaosgrad._gradients.losses import FinalStateLoss
from chaosgrad._results.study import Figure, Series, Study, Table
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._training.monitor import TrainingRecorder, monitor
from chaosgrad.studies import StudySpec
from chaosgrad.studies._common import Section, diagnose_system, lam1, make_study, no_progress
from chaosgrad.zoo import lorenz63

RHO_TRUE, RHO_START = 28.0, 25.0
RECORD = 20.0  # time units observed
LEARNING_RATE = 0.1
CLIP = 1.0


def _unroll(simulator, y, rho, args, n):
    """The states after each of ``n`` steps from ``y`` with ``rho``."""
    a = dict(args, rho=rho)

    def body(carry, _):
        t, y = carry
        y = simulator.step(t, y, a)
        return (t + simulator.dt, y), y

    return jax.lax.scan(body, (jnp.zeros(()), y), None, length=n)[1]


def _window_loss(simulator, args, record, start, n, rho):
    """Mean squared error over ``n`` steps from the observed state at index ``start``."""
    y0 = jax.lax.dynamic_index_in_dim(record, start, keepdims=False)
    model = _unroll(simulator, y0, rho, args, n)
    target = jax.lax.dynamic_slice_in_dim(record, start + 1, n)
    return jnp.mean(jnp.sum((model - target) ** 2, axis=1))


def _fit(loss_of, tx, steps, rng, starts, clip_norm=None):
    """Adam (inside ``tx``) on rho under the monitor; ``loss_of(rho, start)``."""
    mon = monitor(tx, clip_norm=clip_norm)
    params = {"rho": jnp.asarray(RHO_START, jnp.float64)}
    state = mon.init(params)
    rec = TrainingRecorder(params)

    @jax.jit
    def step(params, state, start):
        value, grads = jax.value_and_grad(lambda p: loss_of(p["rho"], start))(params)
        updates, state = mon.update(grads, state, params, value=value)
        return optax.apply_updates(params, updates), state

    rhos = []
    for i in range(steps):
        start = jnp.asarray(int(starts[i]) if starts is not None else 0, jnp.int32)
        params, state = step(params, state, start)
        rec.record(state)
        rhos.append(float(params["rho"]))
    return rec.log(), np.asarray(rhos)


def _methods(simulator, args, record, n_window, n_full, steps, seed):
    rng = np.random.default_rng(seed)
    n_record = record.shape[0] - 1
    random_starts = rng.integers(0, n_record - n_window, size=steps)
    window_starts = jnp.arange(0, n_record - n_window + 1, n_window)
    one = lambda rho, start, n: _window_loss(simulator, args, record, start, n, rho)
    averaged = lambda rho, start: jnp.mean(jax.vmap(lambda s: one(rho, s, n_window))(window_starts))
    adam = optax.adam(LEARNING_RATE)
    return {
        "short window": _fit(lambda rho, s: one(rho, 0, n_window), adam, steps, rng, None),
        "full": _fit(lambda rho, s: one(rho, 0, n_full), adam, steps, rng, None),
        "full, clipped": _fit(
            lambda rho, s: one(rho, 0, n_full),
            optax.chain(optax.clip_by_global_norm(CLIP), adam),
            steps,
            rng,
            None,
            clip_norm=CLIP,
        ),
        "truncated": _fit(lambda rho, s: one(rho, s, n_window), adam, steps, rng, random_starts),
        "averaged windows": _fit(averaged, adam, steps, rng, None),
    }


def _tables_and_figures(runs, window, lam):
    steps = next(iter(runs.values()))[0].steps
    loss_fig = Figure(
        title="Training loss",
        xlabel="step",
        ylabel="loss (each method's own)",
        yscale="log",
        caption="The loss each method descends, per step. The full-record loss is dominated by its exploding "
        "gradient: its steps are huge and the loss does not come down.",
        series=tuple(Series(name, steps.astype(float), log.loss, style="line") for name, (log, _) in runs.items()),
    )
    rho_fig = Figure(
        title="rho during training",
        xlabel="step",
        ylabel="rho",
        caption=f"True rho = {RHO_TRUE:g} (dashed), start {RHO_START:g}. Window length {window:.3g} "
        f"= ln 2 / lambda_1 (lambda_1 = {lam:.3f}).",
        series=tuple(Series(name, steps.astype(float), rho, style="line") for name, (_, rho) in runs.items())
        + (Series("true rho", steps[:1].astype(float), np.array([RHO_TRUE]), style="hline"),),
    )
    grad_fig = Figure(
        title="Gradient norm",
        xlabel="step",
        ylabel="|dL/d rho|",
        yscale="log",
        caption="Gradient norm per step (before clipping): the full-record gradient is exp(lambda_1 T) larger.",
        series=tuple(Series(name, steps.astype(float), log.grad_norm, style="line") for name, (log, _) in runs.items()),
    )
    rows = []
    for name, (log, rho) in runs.items():
        tail = rho[-max(1, len(rho) // 5) :]
        symptoms = ", ".join(f"{s.name} ({s.steps.size})" for s in log.symptoms) or "none"
        rows.append(
            (
                name,
                f"{rho[-1]:.4f}",
                f"{abs(rho[-1] - RHO_TRUE):.2g}",
                f"{np.std(tail):.2g}",
                f"{np.median(log.grad_norm):.3g}",
                f"{np.mean(log.clipped):.0%}",
                symptoms,
            )
        )
    table = Table(
        title="Where each method ends",
        rows=tuple(rows),
        columns=(
            "method",
            "final rho",
            "|error|",
            "sd of rho, last 20%",
            "median |grad|",
            "clipped",
            "symptoms (steps flagged)",
        ),
        caption="Symptoms are the monitor's rules (chaosgrad._training.symptoms).",
    )
    return (loss_fig, rho_fig, grad_fig), table


@float64_scope
def run(*, fast: bool = False, progress=None) -> Study:
    progress = progress or no_progress
    steps = 150 if fast else 400
    system = lorenz63()
    progress("diagnosis", 0, 3)
    main = diagnose_system(
        system,
        wrt="rho",
        loss=FinalStateLoss(lambda y: y[2], name="final z(T)"),
        members=6 if fast else 12,
        lyapunov_time=100.0 if fast else 500.0,
        k=3,
        horizons=[1.0, 2.0, 4.0, 8.0],
    )
    lam = lam1(main)[0]
    window = main.truncation_horizon or math.log(2.0) / 0.9056
    sim = system.simulator
    n_window = max(2, int(round(window / sim.dt)))
    n_full = int(round(RECORD / sim.dt))
    progress("observed record", 1, 3)
    record = jnp.concatenate([system.y0[None], _unroll(sim, system.y0, jnp.asarray(RHO_TRUE), system.args, n_full)])
    progress("training", 2, 3)
    runs = _methods(sim, system.args, record, n_window, n_full, steps, seed=0)
    progress("done", 3, 3)
    figures, table = _tables_and_figures(runs, window, lam)
    err = {name: abs(rho[-1] - RHO_TRUE) for name, (_, rho) in runs.items()}
    spread = {name: float(np.std(rho[-max(1, len(rho) // 5) :])) for name, (_, rho) in runs.items()}
    findings = tuple(
        f"{name}: rho ends at {rho[-1]:.4f} (error {err[name]:.2g}, spread over the last 20% of steps "
        f"{spread[name]:.2g}); symptoms: " + (", ".join(s.name for s in log.symptoms) or "none") + "."
        for name, (log, rho) in runs.items()
    )
    section = Section(
        title="Fitting rho by gradient descent",
        text=(
            f"The record is {RECORD:g} time units of the full state at rho = {RHO_TRUE:g}; Adam (learning rate "
            f"{LEARNING_RATE:g}) starts at rho = {RHO_START:g} for {steps} steps. The recommended window is "
            f"ln 2 / lambda_1 = {window:.3g} time units ({n_window} steps); the full record is {n_full} steps, "
            f"about {lam * RECORD:.0f} e-foldings of the gradient. Adam divides by the gradient's running size, so "
            f"its steps stay small even when the gradient is {np.median(runs['full'][0].grad_norm):.2g} (median): "
            "the full record shows no huge update; what the monitor shows is the gradient norm itself, "
            f"{np.median(runs['full'][0].grad_norm) / np.median(runs['truncated'][0].grad_norm):.2g} times the "
            "truncated one's, and a loss that does not come down. The truncated run's loss is that of a different "
            "random window each step: a spike flagged there is the spread between windows."
        ),
        figures=figures,
        tables=(table,),
    )
    summary = (
        f"Fitting rho of Lorenz-63 (lambda_1 = {lam:.3f}) through a {RECORD:g}-time-unit record: "
        + "; ".join(f"{name} ends {err[name]:.2g} from the truth" for name in runs)
        + "."
    )
    return make_study(
        "training",
        "Training through chaos: fitting rho of Lorenz-63",
        summary,
        main,
        [section],
        list(findings),
        fast=fast,
        config={
            "steps": steps,
            "window": window,
            "record": RECORD,
            "learning_rate": LEARNING_RATE,
            "clip": CLIP,
            "rho_start": RHO_START,
            "rho_true": RHO_TRUE,
        },
        extra={f"log: {name}": log for name, (log, _) in runs.items()},
    )


SPEC = StudySpec(
    name="training",
    title="Training through chaos",
    description="Lorenz-63: fit rho by full backpropagation, clipping, truncation at ln 2 / lambda_1 and averaged windows.",
    run=run,
)
