"""Coverage of chaosgrad's 95% intervals on systems whose rates are known exactly.

Two experiments, shared by ``tests/test_calibration.py`` and
``benchmarks/calibration.py``:

- ``rate_coverage``: one gradient sweep over ``groups * members`` members (independent
  states one to two longest horizons apart on one long trajectory); each group of
  ``members`` is fitted exactly as ``gradient_growth`` fits its own members, and the
  fraction of groups whose interval contains the exact rate is the coverage;
- ``exponent_coverage``: one ensemble run of ``groups`` independent trajectories; each is
  summarised as a single trajectory (batch means and drift, as ``lyapunov_spectrum``
  does), and the fraction whose interval contains the exact lambda_1 is the coverage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

import chaosgrad as cg
from chaosgrad._gradients.fit import fit_growth_rate
from chaosgrad._gradients.members import make_members
from chaosgrad._spectra.result import summarise

LN2 = math.log(2.0)


def _random_triangular_step(y, a):
    """Products of i.i.d. random triangular matrices A_n = [[0.6 + 0.3 U, 0.2], [0, 0.3 + 0.1 U]],
    U uniform on [0, 1): the random numbers come from a PRNG key carried in the state (an
    integer leaf, outside the tangent space). The diagonal of a product of triangular
    matrices is the product of their diagonals, so lambda_1 = E ln(0.6 + 0.3 U) exactly,
    and the finite-time exponents are i.i.d.: they diffuse."""
    key, sub = jax.random.split(y["key"])
    u = jax.random.uniform(sub, dtype=y["u"].dtype)
    A = jnp.array([[0.6 + 0.3 * u, 0.2], [0.0, 0.3 + 0.1 * u]], dtype=y["u"].dtype)
    return {"key": key, "u": A @ y["u"]}


def _mean_log_uniform(a: float, b: float) -> float:
    """E ln(a + b U) for U uniform on [0, 1), in closed form."""
    F = lambda v: v * math.log(v) - v  # noqa: E731  (antiderivative of ln)
    return (F(a + b) - F(a)) / b


@dataclass(frozen=True)
class System:
    name: str
    simulator: object
    y0: object
    args: object
    truth: float
    why: str
    stochastic: bool  # members differ; otherwise every member is the same curve
    # The finite-time exponent diffuses (False for the logistic map, whose sum of
    # ln|f'| telescopes through the conjugacy to the tent map: a coboundary, error O(1/n)).
    diffusive: bool = True


def systems() -> list[System]:
    # Non-normal, eigenvalues -0.2 ± i: ||J^T c|| oscillates about e^{-0.2 T} along a
    # tilted ellipse, so the fit meets lack of fit, not a straight line.
    damped = jnp.array([[-0.2, 2.0], [-0.5, -0.2]])
    return [
        System(
            "logistic r=4",
            cg.MapSimulator(lambda y, a: 4.0 * y * (1 - y)),
            jnp.array(0.3),
            None,
            LN2,
            "ln 2 exactly",
            True,
            diffusive=False,
        ),
        System(
            "random triangular products",
            cg.MapSimulator(_random_triangular_step),
            {"key": jax.random.PRNGKey(1), "u": jnp.array([1.0, 1.0])},
            None,
            _mean_log_uniform(0.6, 0.3),
            "E ln(0.6 + 0.3 U), U uniform: closed form",
            True,
        ),
        System(
            "non-normal damped linear ODE (RK4, h = 0.05)",
            cg.ODESimulator(lambda t, y, A: A @ y, solver=cg.RK4(), dt=0.05),
            jnp.array([1.0, 0.0]),
            damped,
            math.log(abs(_rk4_amplification(0.05 * complex(-0.2, 1.0)))) / 0.05,
            "ln |R(h mu)| / h of RK4's stability function, mu = -0.2 + i",
            False,
        ),
    ]


def _rk4_amplification(z: complex) -> complex:
    """RK4's stability function R(z), the exact amplification of one step of y' = mu y."""
    return 1 + z + z * z / 2 + z**3 / 6 + z**4 / 24


def rate_coverage(system: System, horizons, *, groups: int, members: int = 8, seed: int = 0) -> dict:
    """Coverage of the gradient rate's 95% interval over ``groups`` independent groups."""
    g = cg.gradient_growth(
        system.simulator,
        system.y0,
        system.args,
        horizons=horizons,
        members=groups * members,
        transient=50.0 * system.simulator.dt,
        seed=seed,
    )
    eps = float(jnp.finfo(jnp.dtype(system.simulator.dtype)).eps)
    hits, widths, rates = 0, [], []
    for j in range(groups):
        sl = slice(j * members, (j + 1) * members)
        fit = fit_growth_rate(g.horizons, g.norms[sl], g.finite[sl], fit_mask=g.fit_mask, dtype_eps=eps)
        hits += fit.low <= system.truth <= fit.high
        widths.append(fit.high - fit.low)
        rates.append(fit.rate)
    rates = np.asarray(rates)
    return {
        "coverage": hits / groups,
        "width": float(np.mean(widths)),
        "bias": float(rates.mean() - system.truth),
        "sd": float(rates.std(ddof=1)),
        "groups": groups,
    }


def exponent_coverage(system: System, *, groups: int, intervals: int, seed: int = 0) -> dict:
    """Coverage of lambda_1's 95% interval over ``groups`` independent single trajectories."""
    sim = system.simulator
    m = 1 if sim.dt >= 1 else 10
    # Members at least one run apart: runs from states fewer steps apart along one orbit
    # would share most of their future (a shifted copy of the same orbit).
    y0s = make_members(sim, sim.prepare(system.y0), system.args, groups, (intervals + 20) * m * sim.dt, seed=seed)
    res = cg.lyapunov_spectrum(
        sim,
        y0s,
        system.args,
        k=1,
        n_intervals=intervals,
        interval=m * sim.dt,
        transient=20 * m * sim.dt,
        ensemble_axes=(0, None),
        seed=seed,
    )
    hits, widths = 0, []
    for i in range(groups):
        # Each member as its own single trajectory: batch means and drift, as
        # lyapunov_spectrum summarises one run.
        one = summarise(
            res.finite_time_exponents[i : i + 1] * res.interval,
            np.ones((1, intervals), bool),
            simulator=sim,
            n=res.dimension,
            k=1,
            m=res.steps_per_interval,
            n_int=intervals,
            transient_steps=0,
            n_batches=20,
            seed=seed,
            ensemble=False,
            convergence="fixed",
        )
        lam, h = float(one.exponents[0]), float(one.uncertainty[0])
        hits += abs(lam - system.truth) <= h
        widths.append(2 * h)
    return {"coverage": hits / groups, "width": float(np.mean(widths)), "groups": groups}


def law_exponent_coverage(noise: str, *, groups: int, members: int = 8, p: float = 1.0, seed: int = 0) -> dict:
    """Coverage of the power-law exponent's 95% interval (``_gradients.laws``) on curves with
    an exact law: ``ln|g_m(T)| = a_m + p ln T + e_m(T)`` over 12 log-spaced horizons
    T = 5-160, ``e_m`` independent (sd 0.3) or a random walk (steps of sd 0.1): the two
    kinds of scatter a gradient shows (a bounded projection, accumulated finite-time
    fluctuations)."""
    from chaosgrad._gradients.laws import fit_growth_law

    t = np.geomspace(5.0, 160.0, 12)
    hits, widths, values = 0, [], []
    for j in range(groups):
        rng = np.random.default_rng(seed + j)
        e = (
            0.3 * rng.normal(size=(members, t.size))
            if noise == "independent"
            else np.cumsum(0.1 * rng.normal(size=(members, t.size)), axis=1)
        )
        n = np.exp(rng.normal(size=(members, 1)) + p * np.log(t)[None, :] + e)
        law = fit_growth_law(t, n, np.ones_like(n, bool), flat=False)
        lo, hi = law.exponent_interval
        hits += lo <= p <= hi
        widths.append(hi - lo)
        values.append(law.exponent)
    values = np.asarray(values)
    return {
        "coverage": hits / groups,
        "width": float(np.mean(widths)),
        "bias": float(values.mean() - p),
        "sd": float(values.std(ddof=1)),
        "groups": groups,
    }
