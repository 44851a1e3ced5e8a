"""Gradient growth: how the user's gradient ``dL_T/d(wrt)`` grows with the horizon ``T``.

For every horizon and ensemble member we compute the gradient the user would get (their
step, dtype and adjoint) and fit the growth rate ``gamma`` of ``ln ||dL_T/d wrt||`` in
``T``. With chaos ``gamma`` tends to lambda_1 (initial-state gradients) or max(lambda_1,
0) (parameter gradients); see Metz, Freeman, Schoenholz & Kachman (2021) and Wang (2014).

All horizons from one forward pass (discretise-then-optimise simulators). The longest
horizon is cut into ``K <= 128`` blocks of ``b`` steps, every horizon ending on a block
boundary. One forward scan stores the ``K + 1`` block-boundary states; then, for each
horizon ``T_h``, a backward loop seeds ``dL/dy(T_h)`` and applies the blocks' VJPs (each
recomputing its block from the stored boundary state) back to time 0. The loop's trip
count is traced, so one compilation serves every horizon and each costs only its own
length. With log-spaced horizons the total is a small multiple of one gradient at the
longest horizon (``sweep_horizons``); memory is ``K + 1`` states plus one block's
residuals, whatever the horizon.

Simulators whose ``evolve`` uses another adjoint (e.g. diffrax's ``BacksolveAdjoint``)
are differentiated horizon by horizon through ``evolve`` itself, so that adjoint's own
numerics (and instabilities) are what is measured.
"""

from __future__ import annotations

import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._diagnosis_types import GradientGrowthResult
from ._errors import bad_argument
from ._fit import fit_growth_rate
from ._losses import as_loss, check_scalar_loss
from ._lyapunov import check_finite_input, check_step_shapes
from ._pytree import all_finite, float_leaves, floats_as_arrays, is_float_array
from ._simulators import AbstractSimulator, ODESimulator, _replace, check_simulator
from ._wrt import Wrt, resolve_wrt

# At most this many blocks: fewer, longer blocks mean fewer iterations of the backward
# loops (benchmarks/bench_gradients.py: 256 blocks cost ~25% more than 64)
# while 128 still place the horizons finely enough to sample an oscillating gradient.
MAX_BLOCKS = 128


def _tree_norm(tree):
    leaves = [jnp.sum(jnp.square(x.astype(jnp.float64))) for x in float_leaves(tree)]
    return jnp.sqrt(sum(leaves)) if leaves else jnp.asarray(0.0)


def _split_theta(sel: Wrt, args):
    """The differentiable (float array) part of the selection, and a rebuild function."""
    if sel.kind != "args":
        return jnp.zeros(()), lambda theta: args
    dyn, static = eqx.partition(sel.get(args), is_float_array)
    return dyn, lambda theta: sel.set(args, eqx.combine(theta, static))


# Blocks up to this many steps keep every step's residuals for the block's VJP (one
# forward recomputation per block); longer blocks fall back to sqrt(b) checkpointing.
MAX_STORED_STEPS = 4096


def _block_fn(simulator, loss, rebuild, b):
    """One block of ``b`` steps: ``(t, y, theta) -> (y_end, sum of loss dt)``.

    A plain scan of ``step`` (the same map as ``evolve`` for these simulators): its VJP
    stores the block's residuals, so the sweep's backward pass recomputes each block
    once instead of twice.
    """

    through_steps = reverse_through_steps(simulator)

    def block(t, y, theta):
        a = rebuild(theta)
        if (b > MAX_STORED_STEPS or not through_steps) and not loss.time_averaged:
            return simulator.evolve(t, y, a, b), jnp.zeros((), jnp.float64)
        if not through_steps:
            # Adaptive steps are solves that reverse mode enters only through evolve.
            step = lambda t, y, a: simulator.evolve(t, y, a, 1)
        else:
            step = jax.checkpoint(simulator.step) if b > MAX_STORED_STEPS else simulator.step

        def body(carry, _):
            t, y, acc = carry
            if loss.time_averaged:
                acc = acc + loss.at_state(y, y).astype(jnp.float64) * simulator.dt
            return (t + simulator.dt, step(t, y, a), acc), None

        (_, y, acc), _ = jax.lax.scan(body, (t, y, jnp.zeros((), jnp.float64)), None, length=b)
        return y, acc

    return block


def _forward_boundaries(simulator, y0, args, loss, sel: Wrt, b: int, K: int):
    """The ``K + 1`` block-boundary states of one member, and where they stay finite."""
    theta, rebuild = _split_theta(sel, args)
    block = _block_fn(simulator, loss, rebuild, b)

    def forward(y, k):
        y1, _ = block(k * (b * simulator.dt), y, theta)
        return y1, (y, all_finite(y1))

    y_last, (ys, block_ok) = jax.lax.scan(forward, y0, jnp.arange(K))
    ys = jax.tree_util.tree_map(lambda a, last: jnp.concatenate([a, last[None]]), ys, y_last)
    # The state is finite up to block boundary k if every boundary up to it is.
    return ys, jnp.cumprod(block_ok.astype(jnp.int32)).astype(bool)


def _backward_from(simulator, ys, args, loss, sel: Wrt, b: int, K: int, k_h):
    """Gradient norm at the horizon ending on boundary ``k_h`` (traced), one member.

    A ``fori_loop`` of ``k_h`` block VJPs from ``T_h`` back to 0: its trip count is
    dynamic, so one compilation serves every horizon and each horizon costs only its own
    length. Also returns ``||dL/dy(t)||`` at every block boundary (zero past ``T_h``).
    """
    theta, rebuild = _split_theta(sel, args)
    block = _block_fn(simulator, loss, rebuild, b)
    block_time = b * simulator.dt
    pick = lambda k: eqx.partition(jax.tree_util.tree_map(lambda a: a[k], ys), is_float_array)
    # Only the floating leaves carry cotangents; integer leaves (counters, layer
    # indices) ride along from the stored states.
    yf_end, rest_end = pick(k_h)
    if loss.time_averaged:
        cot_y = jax.tree_util.tree_map(jnp.zeros_like, yf_end)
        cot_s = 1.0 / (k_h * block_time)
    else:
        y_end = eqx.combine(yf_end, rest_end)
        cot_y = jax.grad(lambda yf: loss.at_state(eqx.combine(yf, rest_end), y_end))(yf_end)
        cot_s = jnp.zeros(())
    cot_theta = jax.tree_util.tree_map(jnp.zeros_like, theta)
    profile = jnp.zeros(K)

    def float_block(t, yf, rest, th):
        y1, acc = block(t, eqx.combine(yf, rest), th)
        return eqx.partition(y1, is_float_array)[0], acc

    def body(i, carry):
        cot_y, cot_theta, profile = carry
        k = k_h - 1 - i
        yf, rest = pick(k)
        _, vjp = jax.vjp(lambda yf, th: float_block(k * block_time, yf, rest, th), yf, theta)
        g_y, g_theta = vjp((cot_y, jnp.asarray(cot_s, jnp.float64)))
        cot_theta = jax.tree_util.tree_map(jnp.add, cot_theta, g_theta)
        return g_y, cot_theta, profile.at[k].set(_tree_norm(g_y))

    cot_y, cot_theta, profile = jax.lax.fori_loop(0, k_h, body, (cot_y, cot_theta, profile))
    return _tree_norm(cot_y if sel.kind == "y0" else cot_theta), profile


@eqx.filter_jit
def _sweep_ensemble(simulator, y0s, args, loss, sel, b, K, blocks):
    """Forward pass, then every horizon's backward loop, for every member, in one call."""

    def member(y0):
        ys, state_ok = _forward_boundaries(simulator, y0, args, loss, sel, b, K)
        norms, profiles = jax.lax.map(lambda kh: _backward_from(simulator, ys, args, loss, sel, b, K, kh), blocks)
        return norms, profiles[-1], state_ok[blocks - 1]

    return jax.vmap(member)(y0s)


def sweep_horizons(simulator, y0s, args, loss, sel: Wrt, b: int, blocks):
    """All horizons for all members: norms ``(M, H)``, the longest horizon's cotangent
    profile ``(M, K)`` and whether the state stayed finite ``(M, H)``.

    Cost: one forward pass over the longest horizon, then per horizon one recomputing
    backward pass of its own length (``lax.map`` runs them in turn inside one compiled
    call): with log-spaced horizons of ratio r the total is about ``r / (r - 1)``
    single gradients at the longest horizon (2.7 for r = 1.6), whatever their number.
    """
    blocks = np.asarray(blocks, dtype=np.int32)
    norms, profile, state = _sweep_ensemble(simulator, y0s, args, loss, sel, b, int(blocks[-1]), jnp.asarray(blocks))
    return np.asarray(norms, np.float64), np.asarray(profile, np.float64), np.asarray(state, bool)


@eqx.filter_jit
def _gradient_through_adjoint(simulator, y0s, args, loss, sel, n_max, horizon):
    """Per-member gradient norm at one (traced) horizon, through one ``diffeqsolve``
    with the simulator's own adjoint; compiled once for every horizon up to ``n_max``."""

    def one(y0):
        theta, rebuild = _split_theta(sel, args)
        y0f, rest = eqx.partition(y0, is_float_array)

        def objective(yf, theta):
            y_T = simulator._diffeqsolve(0.0, eqx.combine(yf, rest), rebuild(theta), n_max, simulator.adjoint, t1=horizon)
            return loss.at_state(y_T, y0)

        g = jax.grad(objective, argnums=0 if sel.kind == "y0" else 1)(y0f, theta)
        return _tree_norm(g)

    return jax.vmap(one)(y0s)


def reverse_through_steps(simulator: AbstractSimulator) -> bool:
    """Whether reverse mode through ``evolve`` is reverse mode through ``step``."""
    return not isinstance(simulator, ODESimulator) or simulator.discretise_then_optimise


def horizon_blocks(horizons, dt):
    """Validate ``horizons`` and round them to whole blocks: ``(blocks per horizon, b)``."""
    try:
        h = np.asarray(horizons, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise bad_argument("horizons", f"{horizons!r} is not a sequence of numbers", "pass e.g. [1, 2, 4, 8]") from None
    if h.size < 3:
        raise bad_argument("horizons", f"has {h.size} value(s); a growth rate needs at least 3", "pass 3 or more horizons")
    if not np.all(np.isfinite(h)) or np.any(h <= 0) or np.any(np.diff(h) <= 0):
        raise bad_argument("horizons", f"{h.tolist()} are not positive and increasing", "pass e.g. np.geomspace(1, 20, 8)")
    steps = np.maximum(1, np.round(h / dt)).astype(np.int64)
    n_max = int(steps[-1])
    gcd = math.gcd(*[int(s) for s in steps])
    smallest = -(-n_max // MAX_BLOCKS)
    if gcd >= smallest:
        b = gcd  # every horizon is exact
    else:
        # Keep the longest horizon exact when a block length near the smallest one
        # divides it; the shorter horizons are rounded to whole blocks.
        b = next((d for d in range(smallest, 2 * smallest + 1) if n_max % d == 0), smallest)
    blocks = np.unique(np.maximum(1, np.round(steps / b)).astype(np.int64))
    return blocks, b


@eqx.filter_jit
def _along_trajectory(simulator, y0, args, members: int, spacing: int):
    def body(y, _):
        return simulator.evolve(0.0, y, args, spacing), y

    return jax.lax.scan(body, y0, None, length=members)[1]


def make_members(simulator, y0, args, members: int, spacing: float):
    """``members`` initial states along the trajectory from ``y0``, ``spacing`` apart.

    Sampling the attractor (rather than perturbing ``y0``) gives independent members
    once ``spacing`` exceeds the decorrelation time, and an unbiased growth rate: the
    median over nearby perturbations of one state inherits that state's finite-time
    exponent.
    """
    if not isinstance(members, (int, np.integer)) or members < 1:
        raise bad_argument("members", f"{members!r} is not a positive int", "pass e.g. 8")
    steps = max(1, int(round(spacing / simulator.dt)))
    return _along_trajectory(simulator, y0, args, int(members), steps)


def gradient_growth(
    simulator: AbstractSimulator,
    y0,
    args=None,
    *,
    loss=None,
    horizons,
    wrt="y0",
    members: int = 8,
    spacing: float | None = None,
    transient: float = 0.0,
    ensemble: bool = False,
    confidence: float = 0.95,
    seed: int = 0,
    progress=None,
) -> GradientGrowthResult:
    """Measure ``||dL_T / d wrt||`` over horizons and members, and its growth rate.

    Arguments:
        simulator, y0, args: as for :func:`lyapunov_spectrum`.
        loss: ``None`` (a unit linear readout of ``y(T)``), a function of the final state
            returning a scalar, ``FinalStateLoss(fn)`` or ``TimeAveragedLoss(fn)``.
        horizons: positive increasing horizons (time units); they are rounded to whole
            blocks of steps, and the horizons actually used are in the result.
        wrt: ``"y0"``, ``"args"`` or a path into ``args`` such as ``"rho"``.
        members: ensemble size; after ``transient``, the members are the states along
            the trajectory from ``y0`` every ``spacing`` time units (default: a quarter
            of the longest horizon). With ``ensemble=True``, ``y0`` already holds the
            members on axis 0.
        confidence: level of the interval on the growth rate.
        progress: optional ``progress(label, done, total)`` callback.

    Returns:
        A :class:`GradientGrowthResult`. Non-finite gradients are recorded with their
        horizon, never raised; the rate is fitted on the finite part.
    """
    simulator = check_simulator(simulator)
    if not 0 < confidence < 1:
        raise bad_argument("confidence", f"{confidence!r} is not in (0, 1)", "pass e.g. 0.95")
    y0 = simulator.prepare(y0)
    check_finite_input("y0", y0)
    check_finite_input("args", args)
    args = floats_as_arrays(args)
    sel = resolve_wrt(wrt, args)
    loss = as_loss(loss)
    blocks, b = horizon_blocks(horizons, simulator.dt)
    one = jax.tree_util.tree_map(lambda x: x[0], y0) if ensemble else y0
    check_step_shapes(simulator, one, args)
    check_scalar_loss(loss, one)
    if ensemble:
        y0s = y0
    else:
        if transient > 0:
            y0 = simulator.evolve(0.0, y0, args, max(1, int(round(transient / simulator.dt))))
        spacing = float(blocks[-1] * b * simulator.dt) / 4 if spacing is None else spacing
        y0s = make_members(simulator, y0, args, members, spacing)
    report = progress or (lambda *a: None)

    K = int(blocks[-1])
    through_steps = reverse_through_steps(simulator)
    if not through_steps:
        # The all-horizon sweep (cotangent profile, forward finiteness) goes through
        # diffrax's discretise-then-optimise adjoint; the norms below use the user's.
        sweep_sim = _replace(simulator, adjoint=diffrax.RecursiveCheckpointAdjoint())
    else:
        sweep_sim = simulator
    report("gradient sweep", 0, 1)
    norms, profile, state_ok = sweep_horizons(sweep_sim, y0s, args, loss, sel, b, blocks)
    report("gradient sweep", 1, 1)
    method_paths = "one forward pass, then each horizon's backward pass through the steps"
    if not through_steps and not loss.time_averaged:
        cols = []
        for i, nb in enumerate(blocks):
            report("gradient through the adjoint", i, len(blocks))
            horizon = jnp.asarray(float(nb * b * simulator.dt))
            cols.append(np.asarray(_gradient_through_adjoint(simulator, y0s, args, loss, sel, int(K * b), horizon)))
        norms = np.stack(cols, axis=1).astype(np.float64)
        method_paths = (
            f"each horizon through the simulator's own adjoint ({type(simulator.adjoint).__name__}); "
            "cotangent profile through the steps"
        )

    finite = np.isfinite(norms) & (norms > 0)
    norms = np.where(np.isfinite(norms), norms, np.nan)
    horizon_steps = blocks * b
    times = horizon_steps * simulator.dt
    fit = fit_growth_rate(times, norms, finite, confidence=confidence, seed=seed)
    first_bad = np.where(finite.all(axis=1), -1, np.argmin(finite, axis=1))
    if fit.status == "ok" and not finite.all():
        status = "partial-nonfinite"
    else:
        status = fit.status
    return GradientGrowthResult(
        horizons=times.astype(np.float64),
        horizon_steps=horizon_steps.astype(np.int64),
        norms=norms,
        finite=finite,
        first_nonfinite_horizon=first_bad.astype(np.int64),
        rate=fit.rate,
        rate_low=fit.low,
        rate_high=fit.high,
        confidence=float(confidence),
        fit_mask=fit.mask,
        cotangent_times=(np.arange(K + 1)[:-1] * b * simulator.dt).astype(np.float64),
        cotangent_norms=np.where(np.isfinite(profile), profile, np.nan),
        wrt=sel.label,
        loss=loss.name,
        status=status,
        method=f"{method_paths}; {fit.method}",
        dtype=simulator.dtype,
        adjoint=type(getattr(simulator, "adjoint", None)).__name__ if isinstance(simulator, ODESimulator) else "reverse mode through the steps",
        state_finite=state_ok.astype(bool),
    )
