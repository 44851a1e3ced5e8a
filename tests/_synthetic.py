"""Synthetic but realistic results for testing the report layer and the command line.

The numbers imitate what the analysis produces for Lorenz-63 (sigma 10, rho 28,
beta 8/3; Sprott 2003: 0.9056, 0, -14.5723): finite-time exponents scattered around the
spectrum, gradient norms growing like exp(0.89 T) across an ensemble, a float16 run
whose gradient overflows at T ~ ln(65504) / 0.9 ~ 12, and a study with a rho sweep.
They are built with a fixed seed, so every test sees the same data.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from chaosgrad import (
    Ablation,
    Diagnosis,
    Figure,
    GradientGrowthResult,
    LyapunovResult,
    Recommendation,
    Section,
    Series,
    Study,
    Table,
)
from chaosgrad._gradients.laws import fit_growth_law
from chaosgrad._spectra.result import _dimension as kaplan_yorke_or_none
from chaosgrad.studies import StudySpec

LORENZ_LITERATURE = {
    "exponents": [0.9056, 0.0, -14.5723],
    "source": "Sprott, Chaos and Time-Series Analysis (2003), App. A",
}


def make_lyapunov(
    exponents,
    *,
    spread=(1.2, 0.5, 1.0),
    members=1,
    n_intervals=200,
    interval=1.0,
    dtype="float64",
    nonfinite_at=None,
    seed=0,
) -> LyapunovResult:
    """A spectrum whose per-interval exponents scatter around ``exponents``.

    ``nonfinite_at=(member, interval)`` makes that member's tangent non-finite from that
    interval on, as a float16 run does.
    """
    rng = np.random.default_rng(seed)
    lam = np.asarray(exponents, dtype=float)
    k = lam.size
    ftle = lam + rng.normal(size=(members, n_intervals, k)) * np.asarray(spread[:k])
    # Shift so that the ensemble mean is the requested spectrum exactly.
    ftle += lam - ftle.mean(axis=(0, 1))
    valid = np.full(members, n_intervals)
    status, first_bad, quantity = "ok", None, None
    if nonfinite_at is not None:
        m, i = nonfinite_at
        ftle[m, i:] = np.nan
        valid[m] = i
        status, first_bad, quantity = "nonfinite", i, "tangent"
    member_exp = np.stack(
        [ftle[m, : valid[m]].mean(axis=0) if valid[m] else np.full(k, np.nan) for m in range(members)]
    )
    counts = np.arange(1, n_intervals + 1)[:, None]
    running = np.cumsum(np.nan_to_num(ftle), axis=1) / counts
    running = np.where(np.isfinite(ftle), running, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        history = np.nanmean(running, axis=0)
    exps = member_exp.mean(axis=0)
    if members > 1:
        se = member_exp.std(axis=0, ddof=1) / math.sqrt(members)
        method = "ensemble-spread"
    else:
        # Batch means over 10 batches (Flyvbjerg & Petersen 1989).
        batches = ftle[0].reshape(10, -1, k).mean(axis=1)
        se = batches.std(axis=0, ddof=1) / math.sqrt(10)
        method = "batch-means"
    return LyapunovResult(
        exponents=exps,
        standard_error=se,
        member_exponents=member_exp,
        history=history,
        finite_time_exponents=ftle,
        valid_intervals=valid,
        kaplan_yorke=kaplan_yorke_or_none(exps),  # None for a non-finite spectrum, as a measured result
        status=status,
        first_nonfinite_interval=first_bad,
        nonfinite_quantity=quantity,
        dimension=k,
        k=k,
        dt=0.01,
        steps_per_interval=int(round(interval / 0.01)),
        interval=interval,
        transient=20.0,
        time=n_intervals * interval,
        n_intervals=n_intervals,
        error_method=method,
        seed=seed,
        simulator={"type": "ODESimulator", "solver": "Tsit5", "dt0": 0.01, "dtype": dtype},
        dtype=dtype,
        # 95% half-widths: a Student-t on the batches (or members) around the standard error.
        uncertainty=2.1 * se,
        dof=9 if members == 1 else members - 1,
        convergence="fixed time",
    )


def make_gradient(
    rate=0.89,
    interval=(0.85, 0.93),
    *,
    members=8,
    dtype="float64",
    overflow=None,
    all_nonfinite=False,
    seed=1,
) -> GradientGrowthResult:
    """Gradient norms ``exp(rate * T + c_m + noise)`` over log-spaced horizons.

    With ``overflow`` set, norms above it become non-finite (stored as NaN).
    """
    rng = np.random.default_rng(seed)
    horizons = np.geomspace(0.5, 20.0, 12)
    offsets = rng.normal(scale=0.6, size=(members, 1))
    noise = rng.normal(size=(members, horizons.size)) * 0.35 * np.sqrt(horizons)
    norms = np.exp(rate * horizons + offsets + noise)
    finite = np.ones_like(norms, dtype=bool)
    if overflow is not None:
        finite = norms < overflow
        norms = np.where(finite, norms, np.nan)
    if all_nonfinite:
        finite[:] = False
        norms[:] = np.nan
    first_bad = np.array([int(np.argmin(row)) if not row.all() else -1 for row in finite])
    fit_mask = finite.mean(axis=0) >= 0.5
    status = "ok" if finite.all() else ("nonfinite" if fit_mask.sum() < 3 else "partial-nonfinite")
    times = np.linspace(0.0, 20.0, 41)
    cot = np.exp(rate * (20.0 - times)[None, :] + rng.normal(scale=0.4, size=(members, times.size)))
    if all_nonfinite:
        cot[:] = np.nan
    lo, hi = interval
    reported = np.ones(horizons.size, dtype=bool)
    grads = np.where(finite[..., None], norms[..., None] * np.array([0.6, 0.8, 0.0]), np.nan)
    return GradientGrowthResult(
        horizons=horizons,
        horizon_steps=np.round(horizons / 0.01).astype(np.int64),
        norms=norms,
        finite=finite,
        first_nonfinite_horizon=first_bad,
        rate=float(rate),
        rate_low=float(lo),
        rate_high=float(hi),
        confidence=0.95,
        fit_mask=fit_mask,
        cotangent_times=times,
        cotangent_norms=cot,
        wrt="y0",
        loss="z(T)",
        status=status,
        method="least squares of the member median of ln||grad|| on T; bootstrap over members",
        dtype=dtype,
        adjoint="RecursiveCheckpointAdjoint",
        state_finite=np.ones_like(finite),
        zero=np.zeros_like(finite),
        reported=reported,
        member_rates=np.full(members, float(rate)),
        rate_uncertainty=float((hi - lo) / 4.6) if np.isfinite(hi - lo) else math.nan,
        rate_dof=members - 1,
        gradient_sketch=grads,
        state_sketch=np.ones((members, horizons.size, 3)),
        sketch="exact (3 entries)",
        law=fit_growth_law(horizons, norms, finite, flat=False),
    )


def _config(dtype="float64", command="chaosgrad analyze lorenz63"):
    return {
        "horizons": np.geomspace(0.5, 20.0, 12),
        "ensemble": 8,
        "seed": 0,
        "dtype": dtype,
        "simulator": {"type": "ODESimulator", "solver": "Tsit5", "dt0": 0.01},
        "device": "cpu (2 cores)",
        "versions": {"chaosgrad": "0.1.0", "jax": "0.4.35", "diffrax": "0.6.0"},
        "command": command,
    }


def lorenz_diagnosis() -> Diagnosis:
    """Lorenz-63 at rho = 28 in float64: the gradient grows as fast as the chaos allows."""
    phys = make_lyapunov([0.9056, 0.0, -14.5723], seed=0)
    num = make_lyapunov([0.903, 0.001, -14.561], members=4, n_intervals=100, seed=2)
    grad = make_gradient()
    ablations = (
        Ablation(
            name="reference-step",
            cause="discretization",
            change="step 0.01 -> 0.001 (converged reference)",
            suspected="lambda_1 of the numerical map differs from the physics",
            rate_before=0.89,
            rate_after=0.902,
            interval_before=(0.85, 0.93),
            interval_after=(0.86, 0.94),
            confirmed=False,
            reason="the change leaves the gradient's rate as it was",
            status="ok",
            error=None,
            evidence={"lambda1_gap": 0.0026},
        ),
        Ablation(
            name="checkpoint-adjoint",
            cause="adjoint",
            change="BacksolveAdjoint -> RecursiveCheckpointAdjoint",
            suspected="the gradient goes through BacksolveAdjoint, which has numerics of its own",
            rate_before=0.89,
            rate_after=0.887,
            interval_before=(0.85, 0.93),
            interval_after=(0.845, 0.929),
            confirmed=False,
            reason="the change leaves the gradient's rate and values as they were",
            status="ok",
            error=None,
            evidence={},
        ),
    )
    recs = (
        Recommendation("horizon", "Truncate backpropagation to windows of about ln 2 / lambda_1.", 0.765, "time units"),
        Recommendation(
            "estimator",
            "For long-time averages use least squares shadowing instead of the naive tangent gradient (d<z>/drho ~ 1.0).",
            None,
            None,
        ),
    )
    return Diagnosis(
        name="lorenz63",
        lambda_physical=phys,
        lambda_numerical=num,
        gradient=grad,
        gradient_rate=0.89,
        gradient_interval=(0.85, 0.93),
        expected_rate=0.9056,
        expected_interval=(0.8966, 0.9146),
        expected_numerical_rate=0.903,
        physics="chaotic",
        causes=(),
        cause_words={"discretization": "the solver's step changes the dynamics", "adjoint": "the adjoint is unstable"},
        verdict="intrinsic-explosion",
        reasons=("the gradient rate +0.89 [+0.85, +0.93] agrees with what physics predicts +0.906 [+0.897, +0.915]",),
        to_decide=(),
        explanation=(
            f"The largest Lyapunov exponent of the converged dynamics is 0.906 ± {phys.standard_error[0]:.3f}, "
            "and your gradient grows at 0.89 per time unit (95% interval 0.85 to 0.93), "
            "which contains it: the gradient is as large as the chaos demands. Your "
            "solver's own map has lambda_1 = 0.903, so the discretisation is sound, and "
            "no ablation changed the rate. Clipping will not help; shorten the window."
        ),
        ablations=ablations,
        recommendations=recs,
        overflow_horizon=math.log(1.7976931348623157e308) / 0.89,
        underflow_horizon=None,
        truncation_horizon=math.log(2) / 0.9056,
        dtype="float64",
        literature=dict(LORENZ_LITERATURE),
        config=_config(),
        step_derivatives={"state": 1.3, "wrt": 1.3},
        notes=(),
        status="ok",
    )


def float16_diagnosis() -> Diagnosis:
    """Lorenz-63 in float16: the gradient overflows near T = 12; float64 fixes it."""
    phys = make_lyapunov([0.9056, 0.0, -14.5723], seed=0)
    num = make_lyapunov(
        [0.95, 0.03, -14.3],
        spread=(1.6, 0.8, 1.4),
        members=4,
        n_intervals=100,
        dtype="float16",
        nonfinite_at=(2, 37),
        seed=3,
    )
    grad = make_gradient(0.91, (0.80, 1.02), dtype="float16", overflow=65504.0, seed=4)
    ablations = (
        Ablation(
            name="float64",
            cause="precision",
            change="float16 -> float64",
            suspected="the simulator computes in float16",
            rate_before=0.91,
            rate_after=0.89,
            interval_before=(0.80, 1.02),
            interval_after=(0.85, 0.93),
            confirmed=True,
            reason="the change removes the non-finite values",
            status="ok",
            error=None,
            evidence={"nonfinite_before": int((~grad.finite).sum()), "nonfinite_after": 0},
        ),
        Ablation(
            name="checkpoint-adjoint",
            cause="adjoint",
            change="BacksolveAdjoint -> RecursiveCheckpointAdjoint",
            suspected="the gradient goes through BacksolveAdjoint, which has numerics of its own",
            rate_before=0.91,
            rate_after=math.nan,
            interval_before=(0.80, 1.02),
            interval_after=(math.nan, math.nan),
            confirmed=False,
            reason="the ablation could not run",
            status="failed",
            error="RESOURCE_EXHAUSTED: out of memory while trying to allocate 2.1 GiB",
            evidence={},
        ),
    )
    recs = (
        Recommendation(
            "dtype", "Compute the gradient in float32 or float64: float16 overflows at this rate.", 12.2, "time units"
        ),
        Recommendation("horizon", "Keep horizons below the float16 overflow horizon.", 12.2, "time units"),
    )
    return Diagnosis(
        name="lorenz63-float16",
        lambda_physical=phys,
        lambda_numerical=num,
        gradient=grad,
        gradient_rate=0.91,
        gradient_interval=(0.80, 1.02),
        expected_rate=0.9056,
        expected_interval=(0.8966, 0.9146),
        expected_numerical_rate=0.95,
        physics="chaotic",
        causes=("precision",),
        cause_words={"precision": "the floating-point dtype overflows", "adjoint": "the adjoint is unstable"},
        verdict="numerical-explosion",
        reasons=(
            "the gradient is non-finite at 30% of the measured horizons and members while the forward "
            "simulation stays finite",
            "the ablation of precision makes it finite",
        ),
        to_decide=(),
        explanation=(
            "In float16 the gradient grows at 0.91 per time unit (0.80 to 1.02) until it "
            "overflows the largest float16, 65504, near T = 12.2; past that horizon every "
            "member's gradient is Inf or NaN. Rerunning in float64 removes every "
            "non-finite value and gives 0.89, so precision is the cause of the failure."
        ),
        ablations=ablations,
        recommendations=recs,
        overflow_horizon=math.log(65504.0) / 0.91,
        underflow_horizon=None,
        truncation_horizon=math.log(2) / 0.9056,
        dtype="float16",
        literature=dict(LORENZ_LITERATURE),
        config=_config("float16", "chaosgrad analyze lorenz63"),
        step_derivatives={"state": 1.3, "wrt": 1.3},
        notes=("ablation checkpoint-adjoint failed: out of memory",),
        status="partial",
    )


def degenerate_diagnosis() -> Diagnosis:
    """Everything that can be missing is missing: no finite gradient, no ablations,
    no literature, no cotangents, empty configuration."""
    phys = make_lyapunov([0.5, -1.0], spread=(0.5, 0.5), seed=5)
    num = make_lyapunov([0.5, -1.0], spread=(0.5, 0.5), seed=6, nonfinite_at=(0, 0))
    grad = make_gradient(math.nan, (math.nan, math.nan), all_nonfinite=True, seed=7)
    grad = GradientGrowthResult(
        **{
            **{f: getattr(grad, f) for f in grad.__dataclass_fields__},
            "cotangent_times": np.zeros(0),
            "cotangent_norms": np.zeros((8, 0)),
        }
    )
    return Diagnosis(
        name="degenerate",
        lambda_physical=phys,
        lambda_numerical=num,
        gradient=grad,
        gradient_rate=math.nan,
        gradient_interval=(math.nan, math.nan),
        expected_rate=0.5,
        expected_interval=(0.4, 0.6),
        expected_numerical_rate=math.nan,
        physics="chaotic",
        causes=(),
        cause_words={},
        verdict="inconclusive",
        reasons=("the gradient is non-finite at too many horizons to fit a rate, and no ablation made it finite",),
        to_decide=("shorter horizons, below where the gradient overflows",),
        explanation="",
        ablations=(),
        recommendations=(),
        overflow_horizon=None,
        underflow_horizon=None,
        truncation_horizon=None,
        dtype="float32",
        literature=None,
        config={},
        step_derivatives={},
        notes=(),
        status="partial",
    )


def sweep_section() -> Section:
    rho = np.array([10.0, 14.0, 20.0, 24.0, 24.74, 28.0, 35.0, 45.0])
    lam1 = np.array([-0.86, -0.48, -0.21, 0.13, 0.84, 0.9056, 1.24, 1.44])
    se = np.array([0.01, 0.01, 0.02, 0.05, 0.04, 0.004, 0.01, 0.01])
    gamma = lam1 + np.array([0.02, -0.03, 0.01, 0.08, -0.05, -0.015, 0.03, -0.02])
    grad_at_10 = np.exp(np.maximum(gamma, 0) * 10.0 + 0.3)
    lam_fig = Figure(
        title="Leading exponent and gradient rate across rho",
        caption="Where lambda_1 crosses zero (near rho = 24.74) the gradient rate follows it: "
        "below, gradients settle to a finite sensitivity; above, they grow exponentially.",
        xlabel="rho",
        ylabel="rate (1 / time)",
        series=(
            Series("lambda_1 physical", rho, lam1, lam1 - 2 * se, lam1 + 2 * se, "line+marker"),
            Series("gradient rate gamma", rho, gamma, None, None, "marker"),
            Series("zero", np.zeros(1), np.zeros(1), style="hline"),
        ),
    )
    norm_fig = Figure(
        title="Gradient norm at T = 10",
        caption="Past the onset of chaos the gradient at T = 10 is 1e4 times larger.",
        xlabel="rho",
        ylabel="||dL/dy0|| at T = 10",
        series=(Series("median over 8 members", rho, grad_at_10, grad_at_10 / 3, grad_at_10 * 3, "line+marker"),),
        yscale="log",
    )
    verdicts = np.array(["stable", "intrinsic-explosion", "diverged"])
    bar_fig = Figure(
        title="Verdicts over the sweep",
        caption="Most sweep points are chaotic; none is blamed on the numerics.",
        xlabel="verdict",
        ylabel="sweep points",
        series=(
            Series("float64", verdicts, np.array([3.0, 5.0, 0.0]), style="bar"),
            Series("float32", verdicts, np.array([3.0, 4.0, 1.0]), style="bar"),
        ),
    )
    samples = np.random.default_rng(8).normal(0.9, 1.2, size=400)
    hist_fig = Figure(
        title="Finite-time exponents at rho = 28",
        caption="A wide distribution: single intervals can contract even though the mean stretches.",
        xlabel="finite-time lambda_1",
        ylabel="count",
        series=(Series("intervals of 1 time unit", samples, np.zeros(0), style="hist"),),
    )
    table = Table(
        title="Sweep points",
        columns=("rho", "lambda_1", "gamma", "verdict"),
        rows=tuple(
            (float(r), float(l), float(g), "stable" if l < 0 else "intrinsic-explosion")
            for r, l, g in zip(rho, lam1, gamma)
        ),
        caption="Rates per time unit; lambda_1 from 200 intervals of 1 time unit.",
    )
    return Section(
        title="Sweep over rho",
        text="The leading exponent changes sign at the onset of chaos.\n\n"
        "Each point is a full diagnosis at that rho with the default solver.",
        figures=(lam_fig, norm_fig, bar_fig, hist_fig),
        tables=(table,),
    )


def lorenz_study(mode: str = "fast") -> Study:
    d = lorenz_diagnosis()
    return Study(
        system="lorenz63",
        title="Lorenz-63",
        summary="At rho = 28 the gradient of z(T) grows at 0.89 per time unit, matching "
        "lambda_1 = 0.906: intrinsic chaos, not a numerical artefact.",
        diagnosis=d,
        sections=(sweep_section(),),
        findings=(
            "The gradient rate 0.89 [0.85, 0.93] contains lambda_1 = 0.906.",
            "In float16 the gradient overflows near T = 12; float64 removes it.",
        ),
        mode=mode,
        config={
            "rho": 28.0,
            "sweep": [10.0, 14.0, 20.0, 24.0, 24.74, 28.0, 35.0, 45.0],
            "command": f"chaosgrad analyze lorenz63{' --fast' if mode == 'fast' else ''}",
        },
        extra={"float16": float16_diagnosis()},
    )


def float16_study() -> Study:
    d = float16_diagnosis()
    return Study(
        system="lorenz63-float16",
        title="Lorenz-63 in float16",
        summary=d.explanation,
        diagnosis=d,
        sections=(),
        findings=(),
        mode="fast",
        config={},
        extra={},
    )


def degenerate_study() -> Study:
    d = degenerate_diagnosis()
    return Study(
        system="degenerate",
        title="Degenerate",
        summary="",
        diagnosis=d,
        sections=(),
        findings=(),
        mode="full",
        config={},
        extra={},
    )


def _run(fast: bool = False, progress=None) -> Study:
    """The registry entry used by the command-line tests: reports progress, returns the study."""
    for i in range(3):
        if progress is not None:
            progress("synthetic analysis", i + 1, 3)
    return lorenz_study("fast" if fast else "full")


SPEC = StudySpec(
    name="synthetic-lorenz",
    title="Lorenz-63 (synthetic results)",
    description="Synthetic Lorenz-63 results for testing reports.",
    run=_run,
)


def assert_same_result(a, b, where: str = "result") -> None:
    """Assert that two results are equal field by field: arrays in dtype, shape and
    every bit (NaN payloads and the sign of zero included), floats bit for bit."""
    import dataclasses as _dc

    if _dc.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), f"{where}: {type(a).__name__} against {type(b).__name__}"
        for f in _dc.fields(a):
            assert_same_result(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), f"{where}: an array against a {type(b).__name__}"
        assert (a.dtype, a.shape) == (b.dtype, b.shape), f"{where}: {a.dtype}{a.shape} against {b.dtype}{b.shape}"
        assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes(), f"{where}: values differ"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{where}: keys differ"
        for k in a:
            assert_same_result(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), f"{where}: {a!r:.60} against {b!r:.60}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_result(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert isinstance(b, float) and np.float64(a).tobytes() == np.float64(b).tobytes(), (
            f"{where}: {a!r} against {b!r}"
        )
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r:.60} against {b!r:.60}"
