"""Peer computations and helpers for the Lyapunov benchmark.

Three ways of computing the same Lyapunov spectra, written as each tool is meant to be
used (and, for chaosgrad's own two tangent steps, a wrapper that forces one of them):

- lyapax (https://github.com/Ziaeemehr/lyapax): ``lyapax.lyapunov_spectrum`` on a
  ``state -> state`` RK4 step, and ``lyapax.sweep.sweep_lyapunov_spectrum`` (one
  ``jax.vmap``) for ensembles. Its documented call is eager (no ``jax.jit`` around the
  engine), so every call traces and compiles again; a user can wrap it in ``jax.jit``
  themselves, which caches the compiled program. Both forms are provided.
- chaotax (https://github.com/Ceyron/chaotax): ``chaotax.lyapunov_spectrum`` on the same
  step, QR after every step, eager as documented (it cannot be jitted); lyapynov
  (https://github.com/ThomasSavary08/Lyapynov): ``lyapynov.LCE``, NumPy with one Python
  iteration per step. Either may be missing; its rows then say why.
- scipy: ``solve_ivp`` (DOP853, Hairer, Norsett & Wanner 1993) on the 12-dimensional
  variational system ``u' = f(u), Q' = Df(u) Q`` of Lorenz-63, with a QR
  re-orthonormalisation after every interval (Benettin, Galgani, Giorgilli & Strelcyn,
  Meccanica 15, 1980; Shimada & Nagashima, Prog. Theor. Phys. 61, 1979):

      lambda_i = (1 / (N tau)) sum_j ln |R_j[i, i]|.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad import AbstractSimulator, ODESimulator

LORENZ63 = (10.0, 28.0, 8.0 / 3.0)
LORENZ63_LITERATURE = np.array([0.9056, 0.0, -14.5723])  # Sprott 2003, App. A


# ------------------------------------------------------------------------ vector fields


def lorenz63(t, y, args):
    """Lorenz (1963): x' = s (y - x), y' = x (r - z) - y, z' = x y - b z."""
    del t
    s, r, b = args
    x, yy, z = y[0], y[1], y[2]
    return jnp.stack([s * (yy - x), x * (r - z) - yy, x * yy - b * z])


def lorenz96(t, x, forcing):
    """Lorenz (1996): x_i' = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F, cyclic indices."""
    del t
    return (jnp.roll(x, -1) - jnp.roll(x, 2)) * jnp.roll(x, 1) - x + forcing


VAN_DER_POL = 1.0  # mu


def van_der_pol(t, y, mu):
    """van der Pol (1926): x' = v, v' = mu (1 - x^2) v - x."""
    del t
    return jnp.stack([y[1], mu * (1.0 - y[0] ** 2) * y[1] - y[0]])


# ------------------------------------------------------------------------------ lyapax


def lyapax_rk4_step(vector_field, args, dt):
    """lyapax's own fixed-step RK4 (``lyapax.integrators.rk4_step``) on ``state -> state``."""
    from lyapax.integrators import rk4_step

    return rk4_step(lambda y: vector_field(0.0, y, args), dt)


def lyapax_spectrum(step, y0, dt, n_steps, *, k=None, renorm_every, t_transient, seed=0):
    """``lyapax.lyapunov_spectrum`` exactly as documented (eager); returns the exponents."""
    import lyapax

    res = lyapax.lyapunov_spectrum(
        step, y0, dt, n_steps, k=k, renorm_every=renorm_every, t_transient=t_transient, seed=seed
    )
    return res.exponents


def lyapax_spectrum_jit(step, dt, n_steps, *, k=None, renorm_every, t_transient, seed=0):
    """The same call wrapped once in ``jax.jit`` (compiled on the first call, then cached)."""
    return jax.jit(
        lambda y0: lyapax_spectrum(
            step, y0, dt, n_steps, k=k, renorm_every=renorm_every, t_transient=t_transient, seed=seed
        )
    )


def lyapax_sweep(step_p, Y0, params_batch, dt, n_steps, *, k, renorm_every, t_transient, seed=0):
    """``lyapax.sweep.sweep_lyapunov_spectrum`` over initial states ``Y0`` (one ``vmap``).

    The sweep API takes a batch of parameters; every member gets the same values here
    and its own row of ``Y0``. Returns the ``(M, k)`` member exponents.
    """
    from lyapax.sweep import sweep_lyapunov_spectrum

    res = sweep_lyapunov_spectrum(
        step_p,
        Y0[0],
        params_batch,
        dt,
        n_steps,
        k=k,
        renorm_every=renorm_every,
        t_transient=t_transient,
        seed=seed,
        state0_batch=Y0,
    )
    return res.exponents


def lyapax_sweep_jit(step_p, dt, n_steps, *, k, renorm_every, t_transient, seed=0):
    return jax.jit(
        lambda Y0, params_batch: lyapax_sweep(
            step_p,
            Y0,
            params_batch,
            dt,
            n_steps,
            k=k,
            renorm_every=renorm_every,
            t_transient=t_transient,
            seed=seed,
        )
    )


# ------------------------------------------------------------------- chaotax, lyapynov


def installed(name: str) -> str | None:
    """``None`` when ``name`` imports, else why not (the row is kept for the other tools)."""
    try:
        __import__(name)
    except Exception as exc:  # noqa: BLE001 - any failure to import is reported, not raised
        return f"{type(exc).__name__}: {exc}"
    return None


def chaotax_spectrum(step, dt, n_steps, *, n_transient, k=None):
    """``chaotax.lyapunov_spectrum`` (https://github.com/Ceyron/chaotax) on the same
    ``state -> state`` step, called as documented: eagerly (its ``lax.scan`` compiles
    inside the call). It cannot be wrapped in ``jax.jit``: it computes the state's size
    with ``jnp.prod``, a traced value under ``jit``, and reshapes with it. It
    re-orthonormalises after every step (its only choice); the frame evolves through the
    transient (``discard_steps``: those steps' logs are dropped), as chaosgrad's and
    lyapax's do. Returns ``fn(y0, key)``."""
    import chaotax

    fn = chaotax.lyapunov_spectrum(
        step, rollout_steps=n_steps, warmup_steps=0, discard_steps=n_transient, dt=dt, num_exponents=k
    )
    return lambda y0, key: fn(y0, key=key)


def lyapynov_lorenz63_spectrum(y0, params, *, dt, transient, time):
    """``lyapynov.LCE`` (https://github.com/ThomasSavary08/Lyapynov): NumPy, one Python
    iteration per step, RK4 for the state and for the tangent frame with the Jacobian
    frozen at the step's start, QR after every step, identity initial frame; the state
    alone over the transient. Returns the three exponents."""
    import lyapynov

    s, r, b = params
    f = lambda u, t: _lorenz63_np(t, u, s, r, b)
    jac = lambda u, t: np.array([[-s, s, 0.0], [r - u[2], -1.0, -u[0]], [u[1], u[0], -b]])
    ds = lyapynov.ContinuousDS(np.asarray(y0, dtype=float), 0.0, f, jac, dt)
    return np.asarray(lyapynov.LCE(ds, 3, int(round(transient / dt)), int(round(time / dt)), False))


# ------------------------------------------------- chaosgrad against itself: tangent steps


class ForcedTangents(AbstractSimulator):
    """An ``ODESimulator``'s own step with one tangent path forced: ``"jvp"`` (the
    default of the simulator contract) or ``"variational"`` (the solver's tableau on the
    variational system), whatever ``ODESimulator.tangent_step`` would pick."""

    inner: ODESimulator
    path: str = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    def __init__(self, inner, path):
        self.inner, self.path, self.dt, self.dtype = inner, path, inner.dt, inner.dtype

    def step(self, t, y, args):
        return self.inner.step(t, y, args)

    def tangent_step(self, t, y, Q, args):
        if self.path == "variational":
            return self.inner._variational_tangent_step(t, y, Q, args)
        return super().tangent_step(t, y, Q, args)

    def with_dtype(self, dtype):
        return ForcedTangents(self.inner.with_dtype(dtype), self.path)


def tangent_system(name, N):
    """Vector field, parameters and initial state of a system of the tangent-step table."""
    if name == "vdp":
        return van_der_pol, VAN_DER_POL, jnp.array([2.0, 0.0])
    if name == "l63":
        return lorenz63, LORENZ63, jnp.array([1.0, 1.0, 1.0])
    return lorenz96, 8.0, jnp.full((N,), 8.0).at[0].add(0.01)


# ------------------------------------------------------------------------------- scipy


def _lorenz63_np(t, u, s, r, b):
    x, y, z = u
    return np.array([s * (y - x), x * (r - z) - y, x * y - b * z])


def _lorenz63_variational(t, w, s, r, b):
    """``[f(u); Df(u) Q]`` for the state ``u = w[:3]`` and the 3x3 frame ``Q = w[3:]``."""
    x, y, z = w[0], w[1], w[2]
    Q = w[3:].reshape(3, 3)
    J = np.array([[-s, s, 0.0], [r - z, -1.0, -x], [y, x, -b]])
    out = np.empty(12)
    out[0] = s * (y - x)
    out[1] = x * (r - z) - y
    out[2] = x * y - b * z
    out[3:] = (J @ Q).ravel()
    return out


def scipy_lorenz63_spectrum(y0, params, *, transient, time, interval, rtol, atol):
    """Benettin/QR spectrum of Lorenz-63 with ``scipy.integrate.solve_ivp`` (DOP853).

    The state alone is integrated over ``transient``; then the 12-dimensional
    variational system is integrated over ``round(time / interval)`` intervals, starting
    from the identity frame, with a QR factorisation (non-negative ``diag R``) after
    each. Each interval starts with the step size the previous one ended with, so the
    solver does not re-select its initial step every interval.
    """
    from scipy.integrate import solve_ivp

    s, r, b = params
    u = np.asarray(y0, dtype=float)
    if transient > 0:
        u = solve_ivp(_lorenz63_np, (0.0, transient), u, method="DOP853", rtol=rtol, atol=atol, args=(s, r, b)).y[:, -1]
    w = np.concatenate([u, np.eye(3).ravel()])
    n = int(round(time / interval))
    logs = np.zeros(3)
    h = None
    nfev = 0
    for _ in range(n):
        sol = solve_ivp(
            _lorenz63_variational,
            (0.0, interval),
            w,
            method="DOP853",
            rtol=rtol,
            atol=atol,
            first_step=h,
            args=(s, r, b),
        )
        if sol.status != 0:
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        nfev += sol.nfev
        w = sol.y[:, -1].copy()
        q, R = np.linalg.qr(w[3:].reshape(3, 3))
        d = np.diag(R)
        logs += np.log(np.abs(d))
        w[3:] = (q * np.where(d < 0, -1.0, 1.0)).ravel()
        if sol.t.size > 2:  # the last step is cut to land on the interval's end
            h = float(min(interval, sol.t[-2] - sol.t[-3]))
    return np.sort(logs / (n * interval))[::-1], nfev


# ------------------------------------------------------------------------------ machine


def _version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                cwd=os.path.dirname(os.path.abspath(__file__)),
                check=False,
            ).stdout.strip()
            or "unknown"
        )
    except OSError:
        commit = "unknown"
    return {
        "cpu": model,
        "cores": f"{os.cpu_count()} logical ({usable} usable)",
        "jax devices": ", ".join(str(d) for d in jax.devices()),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "jax / jaxlib": f"{_version('jax')} / {_version('jaxlib')}",
        "lyapax": _version("lyapax"),
        "chaotax": _version("chaotax"),
        "lyapynov": _version("lyapynov"),
        "scipy": _version("scipy"),
        "numpy": _version("numpy"),
        "diffrax / equinox": f"{_version('diffrax')} / {_version('equinox')}",
        "chaosgrad commit": commit,
        "XLA_FLAGS": os.environ.get("XLA_FLAGS", "(unset)"),
        "CHAOSGRAD_COMPILATION_CACHE": os.environ.get("CHAOSGRAD_COMPILATION_CACHE", "(unset: the default folder)"),
    }


def previous_targets(path):
    """``(header line, {target: (wall ratio, CPU ratio or None)})`` from the results file
    about to be replaced, so that a new run shows the change; ``(None, {})`` if absent."""
    try:
        with open(path) as fh:
            text = fh.read()
    except OSError:
        return None, {}
    stamp = {}
    for line in text.splitlines():
        line = line.lstrip("- ")
        for key in ("Date", "chaosgrad commit"):
            if line.startswith(key + ":") and key not in stamp:
                stamp[key] = line.split(":", 1)[1].strip()
        if line.startswith("Load average") and "at start " in line:
            stamp["load"] = line.split("at start ", 1)[1].split(",", 1)[0]
    if "## Targets" not in text:
        return None, {}
    out = {}
    for line in text.split("## Targets", 1)[1].split("\n\n", 2)[1].splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        try:
            wall = float(cells[1])
        except (IndexError, ValueError):
            continue
        try:
            cpu = float(cells[2])
        except (IndexError, ValueError):
            cpu = None
        out[cells[0]] = (wall, cpu)
    header = (
        f"previous results file: {stamp.get('Date', '?')}, commit "
        f"{stamp.get('chaosgrad commit', '?')}, load average at start {stamp.get('load', '?')}"
    )
    return header, out
