"""Curvature of the horizon-``T`` loss: top Hessian eigenvalues against ``T``, and the loss
along a slice of the parameter.

Through an unroll ``y_T = Phi_T(x)`` the Hessian of ``L_T`` is

    H_T = J_T^T (d^2 L / dy^2) J_T + sum_i (dL/dy_i) d^2 y_{T,i} / dx^2,

with ``J_T`` the tangent propagator. Where ``J_T`` grows like ``exp(lambda_1 T)`` (chaos)
the first term grows like ``exp(2 lambda_1 T)``, and so does the second for a nonlinear
flow (its second-order sensitivity is driven by products of first-order ones): the
sharpness grows about twice as fast as the gradient, and the loss landscape of long
chaotic unrolls is rough at ever finer scales (Metz, Freeman, Schoenholz & Kachman 2021,
"Gradients are not all you need", sec. 3 and fig. 1). Through a contracting unroll both
terms settle. A system linear in ``x`` with a linear readout has ``H_T = 0``; one linear
in the state but not in a parameter has polynomial prefactors: the rate is measured,
never assumed.

The eigenvalues come from Lanczos (``_landscape.lanczos``) on Hessian-vector products,
forward-over-reverse (``jax.jvp`` of ``jax.grad``; Pearlmutter 1994), never forming the
Hessian, through the checkpointed unroll of ``_gradients.unroll`` (one program for every horizon),
for the same ensemble of members as :func:`~chaosgrad.gradient_growth`.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._checks import check_time
from chaosgrad._errors import bad_argument
from chaosgrad._gradients.fit import fit_growth_rate
from chaosgrad._gradients.options import HorizonOptions
from chaosgrad._gradients.unroll import flat_objective
from chaosgrad._landscape.lanczos import lanczos
from chaosgrad._landscape.types import CurvatureResult, LossSliceResult
from chaosgrad._runtime.precision import float64_scope


def curvature_regime(rate: float, low: float, high: float, span: float) -> tuple[str, str]:
    """``"growing"`` when the sharpness at least doubles over the fitted span ``span`` at the
    interval's low end (``low * span > ln 2``), ``"decaying"`` when it at least halves at
    the high end, ``"settling"`` when it neither doubles nor surely halves (the high end
    below doubling), else ``"undecided"`` (with what would decide it)."""
    if not (math.isfinite(rate) and math.isfinite(low) and math.isfinite(high)) or span <= 0:
        return (
            "undecided",
            "the sharpness has no finite rate interval: more members or more finite horizons would decide it",
        )
    doubling = math.log(2.0) / span
    if low > doubling:
        return "growing", (
            f"the sharpness grows like exp({rate:.3g} T) (interval [{low:.3g}, {high:.3g}]): "
            f"it at least doubles over the fitted horizons"
        )
    if high < -doubling:
        return "decaying", (
            f"the sharpness decays like exp({rate:.3g} T) (interval [{low:.3g}, {high:.3g}]): "
            f"it at least halves over the fitted horizons"
        )
    if high < doubling:
        return "settling", (
            f"the sharpness changes by less than a factor 2 over the fitted horizons "
            f"(rate {rate:.3g}, interval [{low:.3g}, {high:.3g}])"
        )
    return "undecided", (
        f"the rate interval [{low:.3g}, {high:.3g}] straddles doubling over the fitted horizons "
        f"({doubling:.3g}); longer horizons or more members would decide it"
    )


@eqx.filter_jit
def _grad_and_hvp(simulator, loss, sel, args, y_template, b, K, xs, y0s, nb, vs):
    """Per member: the gradient and the Hessian-vector product at horizon ``nb`` blocks."""
    _, objective = flat_objective(simulator, loss, sel, args, y_template, b, K)

    def one(x, y0, v):
        return jax.jvp(jax.grad(lambda x: objective(x, y0, nb)), (x,), (v.astype(x.dtype),))

    return jax.vmap(one)(xs, y0s, vs)


@eqx.filter_jit
def _starts(simulator, loss, sel, args, y_template, b, K, y0s):
    x0_of, _ = flat_objective(simulator, loss, sel, args, y_template, b, K)
    return jax.vmap(x0_of)(y0s)


def _check_k(k, iterations):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise bad_argument("k", f"{k!r} is not a positive int", "pass e.g. 3")
    if iterations is not None and (
        isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 1
    ):
        raise bad_argument("iterations", f"{iterations!r} is not a positive int", "pass e.g. 20, or None")


def _ritz_per_horizon(simulator, loss, sel, args, y0s, plan, k: int, iterations, rng, report):
    """Per member and horizon of ``plan``: the ``k`` (at most ``m``) Ritz values of largest
    magnitude after ``m`` Lanczos steps, their residual bounds, and the gradient's norm
    (from the first Hessian-vector product's gradient, NaN where it is non-finite); and
    the dimension ``P`` of ``wrt`` and ``m``."""
    template = jax.tree_util.tree_map(lambda x: x[0], y0s)
    K, b = int(plan.blocks[-1]), int(plan.b)
    statics = (simulator, loss, sel, args, template, b, K)
    xs = _starts(*statics, y0s)
    M, P = (int(n) for n in xs.shape)
    m = int(min(P, iterations if iterations is not None else max(2 * k + 8, 16)))
    k_eff = int(min(k, m))
    H = len(plan.blocks)
    values, residuals = np.full((M, H, k_eff), np.nan), np.full((M, H, k_eff), np.nan)
    grad_norms = np.full((M, H), np.nan)
    for h, nb in enumerate(plan.blocks):
        report("curvature", h, H)
        nb_arr = jnp.asarray(int(nb), jnp.int32)
        first: dict[str, np.ndarray] = {}

        def apply(V, nb_arr=nb_arr, first=first):
            g, hv = _grad_and_hvp(*statics, xs, y0s, nb_arr, jnp.asarray(V))
            first.setdefault("g", np.asarray(g, np.float64))
            return np.asarray(hv, np.float64)

        ritz = lanczos(apply, M, P, m, k_eff, rng)
        values[:, h], residuals[:, h] = ritz.values, ritz.residuals
        g = first["g"]
        grad_norms[:, h] = np.where(np.isfinite(g).all(axis=1), np.linalg.norm(g, axis=1), np.nan)
    report("curvature", H, H)
    return values, residuals, grad_norms, P, m


def _sharpness_fits(values, grad_norms, times, plan, confidence: float, dtype):
    """The sharpness (largest ``|Ritz value|``), where it is usable, the growth-rate fits of
    the sharpness and of the gradient's norm, and the status: ``zero`` or ``nonfinite``
    when no sharpness is usable, ``partial-nonfinite`` when a good fit left some out."""
    sharp = np.abs(values[:, :, 0])
    usable = np.isfinite(sharp) & (sharp > 0)
    eps = float(jnp.finfo(jnp.dtype(dtype)).eps)
    fit = fit_growth_rate(times, sharp, usable, fit_mask=plan.fit, confidence=confidence, dtype_eps=eps)
    g_ok = np.isfinite(grad_norms) & (grad_norms > 0)
    gfit = fit_growth_rate(times, grad_norms, g_ok, fit_mask=plan.fit, confidence=confidence, dtype_eps=eps)
    if not usable.any():
        status = "zero" if np.isfinite(sharp).any() else "nonfinite"
    else:
        status = "partial-nonfinite" if fit.status == "ok" and not np.isfinite(sharp).all() else fit.status
    return sharp, usable, fit, gfit, status


def _lanczos_method(m: int, fit_method: str) -> str:
    return (
        f"Lanczos, {m} steps with full reorthogonalisation, on Hessian-vector products "
        f"(forward-over-reverse through the checkpointed unroll); sharpness = largest |Ritz value|; "
        f"{fit_method}"
    )


@float64_scope
def curvature(
    simulator,
    y0,
    args=None,
    *,
    loss=None,
    horizons,
    wrt="y0",
    k: int = 3,
    iterations: int | None = None,
    members: int = 8,
    spacing: float | None = None,
    transient: float = 0.0,
    ensemble: bool = False,
    confidence: float = 0.95,
    seed: int = 0,
    progress=None,
) -> CurvatureResult:
    """The ``k`` Hessian eigenvalues of largest magnitude of ``L_T`` with respect to ``wrt``,
    for each horizon ``T`` and member, and the growth rate of the sharpness.

    Arguments are those of :func:`~chaosgrad.gradient_growth` (same horizons plan, same
    members), and:
        k: how many eigenvalues (at most the dimension of ``wrt``).
        iterations: Lanczos steps per member and horizon, default ``min(P, max(2k + 8,
            16))`` for a ``wrt`` of size ``P``; with ``P`` steps the eigenvalues are exact
            (``residuals`` zero). Each step is one Hessian-vector product, about four
            gradients' work.

    Returns a :class:`CurvatureResult`; non-finite products are recorded (NaN), never raised.
    """
    _check_k(k, iterations)
    options = HorizonOptions(
        horizons=horizons,
        wrt=wrt,
        members=members,
        spacing=spacing,
        transient=transient,
        ensemble=ensemble,
        confidence=confidence,
        seed=seed,
        progress=progress,
    )
    simulator, y0s, args, sel, loss, plan = options.prepare(simulator, y0, args, loss)
    values, residuals, grad_norms, P, m = _ritz_per_horizon(
        simulator, loss, sel, args, y0s, plan, k, iterations, np.random.default_rng(seed), options.report
    )
    times = plan.times(simulator.dt)
    sharp, usable, fit, gfit, status = _sharpness_fits(values, grad_norms, times, plan, confidence, simulator.dtype)
    span = float(np.ptp(times[fit.mask])) if fit.mask.any() else 0.0
    regime, reason = curvature_regime(fit.rate, fit.low, fit.high, span)
    return CurvatureResult(
        horizons=times,
        horizon_steps=(plan.blocks * int(plan.b)).astype(np.int64),
        eigenvalues=values,
        residuals=residuals,
        sharpness=np.where(np.isfinite(sharp), sharp, np.nan),
        finite=usable,
        gradient_norms=grad_norms,
        rate=fit.rate,
        rate_low=fit.low,
        rate_high=fit.high,
        gradient_rate=gfit.rate,
        gradient_rate_low=gfit.low,
        gradient_rate_high=gfit.high,
        confidence=float(confidence),
        regime=regime,
        regime_reason=reason,
        fit_mask=fit.mask,
        reported=plan.reported.astype(bool),
        member_rates=fit.member_rates,
        dimension=P,
        iterations=m,
        wrt=sel.label,
        loss=loss.name,
        dtype=simulator.dtype,
        status=status,
        method=_lanczos_method(m, fit.method),
    )


def _roughness(losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Total variation over range, and turning points, of each row (NaN if any is non-finite)."""
    rough, turns = np.full(losses.shape[0], np.nan), np.zeros(losses.shape[0], np.int64)
    for h, row in enumerate(losses):
        if not np.isfinite(row).all():
            continue
        d = np.diff(row)
        span = float(row.max() - row.min())
        rough[h] = float(np.abs(d).sum() / span) if span > 0 else 1.0
        s = np.sign(d[d != 0])
        turns[h] = int(np.count_nonzero(s[1:] != s[:-1]))
    return rough, turns


@eqx.filter_jit
def _slice_losses(simulator, loss, sel, args, y_template, b, K, y0, x0, direction, offsets, nb):
    _, objective = flat_objective(simulator, loss, sel, args, y_template, b, K)
    return jax.vmap(lambda s: objective((x0 + s * direction).astype(x0.dtype), y0, nb))(offsets)


def _slice_direction(direction, P: int, seed: int) -> np.ndarray:
    """The slice's unit direction in the flattened ``wrt`` of size ``P``: the caller's,
    normalised, or a seeded random one (``+1`` for a scalar)."""
    if direction is None:
        d = np.ones(1) if P == 1 else np.random.default_rng(seed).standard_normal(P)
    else:
        d = np.asarray(direction, np.float64).reshape(-1)
        if d.size != P or not np.isfinite(d).all() or not np.any(d):
            raise bad_argument(
                "direction",
                f"has {d.size} entries (finite, not all zero needed); wrt has {P}",
                f"pass a non-zero vector of {P} numbers, or None for a random one",
            )
    d = d / np.linalg.norm(d)
    return d


@float64_scope
def loss_slice(
    simulator,
    y0,
    args=None,
    *,
    loss=None,
    horizons,
    wrt="args",
    direction=None,
    radius: float | None = None,
    points: int = 201,
    transient: float = 0.0,
    seed: int = 0,
) -> LossSliceResult:
    """``L_T(x0 + s d)`` for ``s`` in ``[-radius, radius]`` at each of the caller's horizons.

    Arguments:
        simulator, y0, args, loss, wrt, transient: as for :func:`~chaosgrad.gradient_growth`
            (one trajectory, from ``y0`` after ``transient``).
        horizons: one or more positive increasing horizons (time units), rounded to steps.
        direction: a vector of the flattened ``wrt``'s size, normalised here; default a
            seeded random unit vector (``+1`` for a scalar).
        radius: half-width of the slice in the units of ``wrt``; default 1% of ``|x0|``
            (0.01 when ``x0`` is zero).
        points: number of offsets (at least 3).
    """
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 3:
        raise bad_argument("points", f"{points!r} is not an int of at least 3", "pass e.g. 201")
    check_time("radius", radius, allow_none=True, allow_zero=False, example="0.5 (None: 1% of |x0|)")
    options = HorizonOptions(horizons=horizons, wrt=wrt, members=1, transient=transient, seed=seed)
    simulator, y0s, args, sel, loss, steps = options.prepare(simulator, y0, args, loss, plan=False)
    template = jax.tree_util.tree_map(lambda x: x[0], y0s)
    # Blocks of the steps' greatest common divisor: every horizon ends on a block boundary.
    b = int(np.gcd.reduce(steps))
    K = int(steps[-1]) // b
    user = (steps // b).astype(np.int64)
    statics = (simulator, loss, sel, args, template, b, K)
    x0 = _starts(*statics, y0s)[0]
    P = int(x0.shape[0])
    d = _slice_direction(direction, P, seed)
    x0_host = np.asarray(x0, np.float64)
    r = float(radius) if radius is not None else (0.01 * float(np.linalg.norm(x0_host)) or 0.01)
    offsets = np.linspace(-r, r, int(points))
    losses = np.stack(
        [
            np.asarray(
                _slice_losses(
                    *statics,
                    template,
                    x0,
                    jnp.asarray(d, x0.dtype),
                    jnp.asarray(offsets, x0.dtype),
                    jnp.asarray(int(nb), jnp.int32),
                ),
                np.float64,
            )
            for nb in user
        ]
    )
    losses = np.where(np.isfinite(losses), losses, np.nan)
    rough, turns = _roughness(losses)
    return LossSliceResult(
        offsets=offsets,
        horizons=(user * b * simulator.dt).astype(np.float64),
        horizon_steps=(user * b).astype(np.int64),
        losses=losses,
        roughness=rough,
        turning_points=turns,
        direction=d,
        center=x0_host,
        wrt=sel.label,
        loss=loss.name,
        dtype=simulator.dtype,
    )
