"""The reference dynamics for lambda_physical, and the uncertainty of an exponent.

For an ``ODESimulator`` the default reference is the same vector field in float64 with
an eighth-order Runge–Kutta method (Dormand–Prince 8(5,3), diffrax ``Dopri8``), at a
step no larger than the user's, halved until the leading exponents stop moving: two
successive estimates agree within their combined uncertainty. For maps and rollouts the
default reference is the same step in float64; pass ``reference=`` (for example the same
environment with finer substeps) to do better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import diffrax
import jax
import numpy as np

from ._errors import bad_argument
from ._lyapunov import LyapunovResult, lyapunov_spectrum
from ._simulators import AbstractSimulator, ODESimulator, _replace, check_simulator

MAX_HALVINGS = 4


def exponent_uncertainty(res: LyapunovResult, i: int = 0) -> float:
    """Uncertainty of ``lambda_i``: standard error combined with the drift of the running
    estimate over the second half of the run.

    The standard error misses the O(1/T) bias of finite-time estimates (a zero exponent
    of a limit cycle has a tiny standard error but a slowly decaying bias); the change of
    the running estimate between T/2 and T measures that bias from the data.
    """
    se = float(res.standard_error[i]) if np.isfinite(res.standard_error[i]) else 0.0
    hist = res.history[:, i]
    valid = np.nonzero(np.isfinite(hist))[0]
    if valid.size < 2:
        return se if se > 0 else math.inf
    end = valid[-1]
    drift = abs(hist[end] - hist[valid[len(valid) // 2]])
    return math.hypot(se, drift)


def agree(a: float, ua: float, b: float, ub: float, z: float = 2.0) -> bool:
    """Two estimates agree when their difference is within ``z`` combined uncertainties."""
    return abs(a - b) <= z * math.hypot(ua, ub)


@dataclass(frozen=True)
class ReferenceRun:
    simulator: AbstractSimulator
    result: LyapunovResult
    converged: bool
    note: str


def default_reference(simulator: AbstractSimulator) -> AbstractSimulator:
    if isinstance(simulator, ODESimulator):
        return _replace(
            simulator,
            solver=diffrax.Dopri8(),
            stepsize_controller=diffrax.ConstantStepSize(),
            adjoint=diffrax.RecursiveCheckpointAdjoint(),
            dtype="float64",
        )
    return simulator.with_dtype("float64")


def check_reference(reference, y0, args) -> AbstractSimulator:
    """The reference must step the caller's state: same structure and shapes."""
    reference = check_simulator(reference)

    def shapes(tree):
        return jax.tree_util.tree_structure(tree), [np.shape(x) for x in jax.tree_util.tree_leaves(tree)]

    try:
        out = jax.eval_shape(lambda y: reference.step(0.0, y, args), reference.prepare(y0))
    except Exception as exc:
        raise bad_argument(
            "reference", f"cannot step the simulator's state ({type(exc).__name__}: {exc})",
            "pass a reference simulator for the same state pytree and args",
        ) from exc
    if shapes(out) != shapes(y0):
        raise bad_argument(
            "reference", f"maps the state to {shapes(out)[1]}, not {shapes(y0)[1]}",
            "pass a reference simulator for the same state pytree (same structure and shapes)",
        )
    return reference


def reference_spectrum(simulator, reference, y0, args, *, lyap_kwargs: dict) -> ReferenceRun:
    """Spectrum of the reference dynamics, with a step-halving convergence check."""
    if reference is not None:
        res = lyapunov_spectrum(reference, y0, args, **lyap_kwargs)
        return ReferenceRun(reference, res, res.status == "ok", "reference supplied by the caller")
    ref = default_reference(simulator)
    if not isinstance(simulator, ODESimulator):
        res = lyapunov_spectrum(ref, y0, args, **lyap_kwargs)
        return ReferenceRun(ref, res, res.status == "ok", "the same step in float64")
    previous = None
    for _ in range(MAX_HALVINGS + 1):
        res = lyapunov_spectrum(ref, y0, args, **lyap_kwargs)
        if res.status == "ok" and previous is not None and previous.status == "ok":
            k = min(2, res.k)
            if all(
                agree(res.exponents[i], exponent_uncertainty(res, i), previous.exponents[i], exponent_uncertainty(previous, i))
                for i in range(k)
            ):
                note = f"Dopri8 in float64, converged at dt = {ref.dt:g} (halving the step moved the leading exponents by less than their uncertainty)"
                return ReferenceRun(ref, res, True, note)
        previous = res
        ref = _replace(ref, dt=ref.dt / 2)
    note = f"Dopri8 in float64 did not converge down to dt = {2 * ref.dt:g}; lambda_physical is the last estimate"
    return ReferenceRun(_replace(ref, dt=2 * ref.dt), previous, False, note)


def largest_safe_step(simulator, y0, args, lam1_phys, u_phys, t_max, *, lyap_kwargs, max_halvings=10, max_steps=4_000_000):
    """Largest ``dt / 2^j`` at which the user's solver reproduces the physical lambda_1.

    "Reproduces" means: within the combined uncertainty, or close enough that the gap
    changes the gradient by less than a factor of 2 over ``t_max``. Returns ``None`` when
    no halving (within the step budget) gets there, or for simulators without a step.
    """
    if not isinstance(simulator, ODESimulator):
        return None
    sim = simulator
    for _ in range(max_halvings):
        sim = _replace(sim, dt=sim.dt / 2)
        if lyap_kwargs["time"] / sim.dt > max_steps:
            return None
        res = lyapunov_spectrum(sim, y0, args, **dict(lyap_kwargs, k=1))
        if res.status != "ok":
            continue
        lam, u = float(res.exponents[0]), exponent_uncertainty(res, 0)
        if agree(lam, u, lam1_phys, u_phys) or abs(lam - lam1_phys) * t_max <= math.log(2.0):
            return sim.dt
    return None
