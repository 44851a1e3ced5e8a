"""Shadowing sensitivities: the derivative of a long-time average through chaos.

For an ergodic chaotic system the finite-horizon gradient of ``<J>_T = (1/T) int J dt``
grows like ``exp(lambda_1 T)``, yet ``d<J>/ds`` of the infinite average exists (for
uniformly hyperbolic systems; in practice for Lorenz-63 and its kind). Shadowing methods
compute it from the tangent dynamics of the user's own step: a tangent solution ``v`` that
stays bounded (the shadowing direction), with a time dilation ``eta`` along the flow,

    v' = f_u v + f_s + eta f,     d<J>/ds = < dJ/du . v > + < eta (J - <J>) > + < dJ/ds >

(Wang, Hu & Blonigan, J. Comput. Phys. 267, 2014, eqs. 5-8). Here ``J`` depends on the state
only (``dJ/ds = 0``); an objective that also reads the parameters is not supported. Two
methods, strategy objects:

- :class:`NILSS` (Ni & Wang, J. Comput. Phys. 347, 2017): the shadowing direction is the
  inhomogeneous tangent ``v`` plus a combination of ``u`` homogeneous tangents ``W`` (``u``
  = number of positive exponents, from chaosgrad's own spectrum), chosen segment by
  segment to minimise ``int |v_perp|^2`` (``perp``: orthogonal to the flow direction ``f``)
  subject to continuity between segments. Memory grows with the number of segments
  (a few ``u x u`` and ``u x P`` matrices each), not with the steps.
- :class:`LSS`: least-squares shadowing over the whole window, ``min sum |v|^2 + alpha^2
  eta^2`` subject to the discrete tangent equation, a sparse KKT system over every step
  (memory grows with the steps).

NILSS's gradient, derived for this discretisation: with the neutral component of ``v``
reset to zero at each segment start and ``xi_i = f . v / |f|^2`` at segment ``i``'s end,

    d<J>/ds = (1/T) sum_i int_i dJ/du . v dt + (1/T) sum_i xi_i (<J> - J(t_{i+1}))

(the unprojected ``v`` in the integral; the second sum is the time dilation accumulated
segment by segment). For a system with no positive exponent and no neutral direction it is
the ordinary derivative of the window average, exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sparse
import scipy.sparse.linalg as sparse_linalg
from jax.flatten_util import ravel_pytree

from chaosgrad._checks import check_count, check_real, check_time
from chaosgrad._gradients.sweep import split_theta
from chaosgrad._simulators.base import AbstractSimulator


@dataclass(frozen=True)
class NILSS:
    """Non-intrusive least-squares shadowing (Ni & Wang 2017).

    Attributes:
        unstable: number of unstable directions ``u``; ``None``: the number of exponents of
            chaosgrad's spectrum whose 95% interval lies above zero.
        segment_time: length of a segment; ``None``: one Lyapunov time ``1 / lambda_1``,
            at most a tenth of the window (at least one step).
    """

    unstable: int | None = None
    segment_time: float | None = None
    name = "NILSS"

    def __post_init__(self):
        if self.unstable is not None:
            check_count("unstable", self.unstable, minimum=0, example=1)
        check_time("segment_time", self.segment_time, allow_none=True, allow_zero=False, example="1.0")


@dataclass(frozen=True)
class LSS:
    """Least-squares shadowing (Wang, Hu & Blonigan 2014), discrete over every step of the
    window; ``alpha`` weighs the time dilation against the tangent's size."""

    alpha: float = 10.0
    name = "LSS"

    def __post_init__(self):
        check_real("alpha", self.alpha, positive=True, example="10.0")


class _Problem(eqx.Module):
    """The flat view of the user's set-up: state ``y`` (any pytree), tangent vector ``u``
    (its tangent leaves), parameters ``theta`` (the flat float part of ``wrt``)."""

    simulator: AbstractSimulator
    objective: Callable = eqx.field(static=True)
    neutral: Callable = eqx.field(static=True)
    rebuild: Callable = eqx.field(static=True)

    def flat(self, y):
        return self.simulator.tangent_space(y)[0]

    def step_and_push(self, t, y, theta, tangents_u, tangents_theta):
        """``y_{k+1}`` and the pushed columns ``d step . (tu, tth)`` (one vmapped jvp)."""
        flat, u, rest = self.simulator.tangent_space(y)

        def F(u, th):
            return flat.split(self.simulator.step(t, flat.combine(u, rest), self.rebuild(th)))

        def push(tu, tth):
            return jax.jvp(F, (u, theta), (tu, tth), has_aux=True)

        u1, cols, rest1 = jax.vmap(push, in_axes=(1, 1), out_axes=(None, 1, None))(tangents_u, tangents_theta)
        return flat.combine(u1, rest1), cols

    def direction(self, t, y, theta):
        """The flow direction ``f`` (flat), or zeros without a neutral direction."""
        flat, u, _ = self.simulator.tangent_space(y)
        if self.neutral is None:
            return jnp.zeros_like(u)
        return flat.split(self.neutral(t, y, self.rebuild(theta)))[0]

    def value_and_grad(self, y):
        flat, u, rest = self.simulator.tangent_space(y)
        return jax.value_and_grad(lambda u: jnp.asarray(self.objective(flat.combine(u, rest)), jnp.float64))(u)


def _along(f, X):
    """The coefficients of ``X``'s columns along ``f`` (``xi = f . x / |f|^2``); zero
    without a neutral direction (``f = 0``)."""
    ff = jnp.dot(f, f)
    return jnp.where(ff > 0, f @ X / jnp.where(ff > 0, ff, 1.0), 0.0)


def _project(f, X):
    """``X`` without its component along ``f`` (columns); ``f = 0``: unchanged."""
    return X - jnp.outer(f, _along(f, X))


@eqx.filter_jit
def _nilss_window(problem, y0, theta, W0, m, K, dt, t0):
    """One window of ``K`` segments of ``m`` steps: per segment the integrals of NILSS.

    Returns the end state and, stacked over segments: ``C`` (u,u), ``D`` (u,P), ``R`` (u,u),
    ``B`` (u,P), ``gW`` (u,), ``gV`` (P,), ``acc`` (sum J dt), ``xiW`` (u,), ``xiV`` (P,),
    ``J_end``, and whether the segment stayed finite.
    """
    n, u = W0.shape
    P = theta.shape[0]
    dtheta = jnp.concatenate([jnp.zeros((P, u)), jnp.eye(P)], axis=1).astype(theta.dtype)

    def one_step(carry, k):
        t, y, W, V, C, D, gW, gV, acc = carry
        f = problem.direction(t, y, theta)
        Wp, Vp = _project(f, W), _project(f, V)
        Jy, dJ = problem.value_and_grad(y)
        C, D = C + Wp.T @ Wp * dt, D + Wp.T @ Vp * dt
        gW, gV, acc = gW + dJ @ W * dt, gV + dJ @ V * dt, acc + Jy * dt
        y1, cols = problem.step_and_push(t, y, theta, jnp.concatenate([W, V], axis=1).astype(dJ.dtype), dtheta)
        cols = cols.astype(W.dtype)  # the sums stay float64 whatever the state's dtype
        return (t + dt, y1, cols[:, :u], cols[:, u:], C, D, gW, gV, acc), None

    def segment(carry, i):
        t, y, W, V = carry
        zeros = (jnp.zeros((u, u)), jnp.zeros((u, P)), jnp.zeros(u), jnp.zeros(P), jnp.zeros(()))
        (t, y, W1, V1, C, D, gW, gV, acc), _ = jax.lax.scan(one_step, (t, y, W, V, *zeros), None, length=m)
        f = problem.direction(t, y, theta)
        xiW, xiV = _along(f, W1), _along(f, V1)
        Q, R = jnp.linalg.qr(_project(f, W1))
        V1p = _project(f, V1)
        B = Q.T @ V1p
        Jend, _ = problem.value_and_grad(y)
        ok = jnp.all(jnp.isfinite(R)) & jnp.all(jnp.isfinite(B)) & jnp.isfinite(acc)
        V_next = V1p - Q @ B
        return (t, y, Q, V_next), (C, D, R, B, gW, gV, acc, xiW, xiV, Jend, ok)

    V0 = jnp.zeros((n, P), W0.dtype)
    (_, y_end, _, _), out = jax.lax.scan(segment, (jnp.asarray(t0, jnp.float64), y0, W0, V0), jnp.arange(K))
    return y_end, out


def _nilss_solve(C, D, R, B):
    """Minimise ``sum_i a_i^T C_i a_i + 2 D_i^T a_i`` subject to ``a_{i+1} = R_i a_i + B_i``
    for every parameter column (a sparse KKT system, one factorisation); ``a`` is
    ``(K, u, P)``."""
    K, u, P = D.shape
    if u == 0:
        return np.zeros((K, 0, P))
    rows, cols, vals = [], [], []

    def put(r0, c0, M):
        rr, cc = np.nonzero(np.ones_like(M, bool))
        rows.extend(r0 + rr)
        cols.extend(c0 + cc)
        vals.extend(M[rr, cc])

    Ku = K * u
    for i in range(K):
        put(i * u, i * u, C[i])
    for i in range(K - 1):
        r = Ku + i * u
        put(r, i * u, R[i])
        put(r, (i + 1) * u, -np.eye(u))
        put(i * u, r, R[i].T)
        put((i + 1) * u, r, -np.eye(u))
    size = Ku + (K - 1) * u
    A = sparse.csc_matrix((vals, (rows, cols)), shape=(size, size))
    rhs = np.concatenate([-D.reshape(Ku, P), -B[:-1].reshape((K - 1) * u, P)], axis=0)
    sol = sparse_linalg.splu(A).solve(rhs)
    return sol[:Ku].reshape(K, u, P)


def nilss_window(problem, y0, theta, u, m, K, dt, rng, t0=0.0):
    """``(derivative (P,), <J>, end state, finite)`` of one NILSS window from time ``t0``."""
    n = int(problem.flat(y0).dim)
    f0 = np.asarray(problem.direction(jnp.asarray(t0), y0, theta))
    W0 = rng.standard_normal((n, u))
    if u:
        W0 = np.linalg.qr(np.asarray(_project(jnp.asarray(f0), jnp.asarray(W0))))[0]
    y_end, out = _nilss_window(
        problem, y0, theta, jnp.asarray(W0, jnp.float64), int(m), int(K), dt, jnp.asarray(t0, jnp.float64)
    )
    C, D, R, B, gW, gV, acc, xiW, xiV, Jend, ok = (np.asarray(x, np.float64) for x in out)
    T = K * m * float(dt)
    if not ok.all():
        return np.full(theta.shape[0], np.nan), float(np.sum(acc) / T), y_end, False
    a = _nilss_solve(C, D, R, B)
    Jbar = float(np.sum(acc) / T)
    integral = gV.sum(axis=0) + np.einsum("ku,kup->p", gW, a)
    xi = xiV + np.einsum("ku,kup->kp", xiW, a)
    dilation = np.einsum("kp,k->p", xi, Jbar - Jend)
    return (integral + dilation) / T, Jbar, y_end, True


def lss_window(problem, y0, theta, N, dt, alpha, t0=0.0):
    """``(derivative (P,), <J>, end state, finite)`` of one LSS window of ``N`` steps.

    Unknowns ``v_0..v_N`` and ``eta_0..eta_{N-1}``; constraints ``v_{k+1} = Phi_k v_k + b_k
    + dt eta_k f_{k+1}``; minimise ``sum |v_k|^2 + alpha^2 sum eta_k^2`` by the normal
    equations of the constraints (``(B B^T) w = b``, Wang et al. 2014, sec. 3)."""
    states, Phi, b, f, J, dJ = _lss_data(problem, y0, theta, int(N), jnp.asarray(t0, jnp.float64))
    states_end = jax.tree_util.tree_map(lambda x: x[-1], states)
    Phi, b, f, J, dJ = (np.asarray(x, np.float64) for x in (Phi, b, f, J, dJ))
    if not (np.isfinite(Phi).all() and np.isfinite(b).all()):
        return np.full(theta.shape[0], np.nan), float(np.mean(J)), states_end, False
    n, P = Phi.shape[1], b.shape[2]
    has_f = bool(np.any(f))
    k = np.arange(N)
    eye_r = (k[:, None] * n + np.arange(n)).ravel()
    rows = [eye_r, np.repeat(k * n, n * n) + np.tile(np.repeat(np.arange(n), n), N)]
    cols = [
        ((k + 1)[:, None] * n + np.arange(n)).ravel(),
        np.repeat(k * n, n * n) + np.tile(np.tile(np.arange(n), n), N),
    ]
    vals = [np.ones(N * n), -Phi.reshape(-1)]
    if has_f:
        rows.append(eye_r)
        cols.append(np.repeat((N + 1) * n + k, n))
        vals.append((-float(dt) * f[1:] / alpha).reshape(-1))
    width = (N + 1) * n + (N if has_f else 0)
    Bm = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(N * n, width))
    w = sparse_linalg.splu((Bm @ Bm.T).tocsc()).solve(b.reshape(N * n, P))
    x = Bm.T @ w
    v = x[: (N + 1) * n].reshape(N + 1, n, P)
    eta = x[(N + 1) * n :].reshape(N, P) / alpha if has_f else np.zeros((N, P))
    Jk = J[:-1]
    Jbar = float(Jk.mean())
    derivative = np.einsum("kn,knp->p", dJ[:-1], v[:-1]) / N + np.einsum("kp,k->p", eta, Jk - Jbar) / N
    return derivative, Jbar, states_end, True


@eqx.filter_jit
def _lss_data(problem, y0, theta, N, t0):
    """States, step Jacobians, parameter derivatives, flow directions and the objective's
    values and gradients along ``N`` steps (everything LSS needs, stored per step)."""
    n = int(problem.flat(y0).dim)
    P = theta.shape[0]
    dt = problem.simulator.dt
    tu = jnp.concatenate([jnp.eye(n), jnp.zeros((n, P))], axis=1)
    tth = jnp.concatenate([jnp.zeros((P, n)), jnp.eye(P)], axis=1).astype(theta.dtype)

    def body(carry, _):
        t, y = carry
        Jy, dJ = problem.value_and_grad(y)
        f = problem.direction(t, y, theta)
        y1, cols = problem.step_and_push(t, y, theta, tu.astype(dJ.dtype), tth)
        return (t + dt, y1), (y, cols[:, :n], cols[:, n:], f, Jy, dJ)

    (t, y_last), (ys, Phi, b, f, J, dJ) = jax.lax.scan(body, (t0, y0), None, length=N)
    J_last, dJ_last = problem.value_and_grad(y_last)
    f_last = problem.direction(t, y_last, theta)
    cat = lambda a, last: jnp.concatenate([a, last[None]])
    states = jax.tree_util.tree_map(cat, ys, y_last)
    return states, Phi, b, cat(f, f_last), cat(J, J_last), cat(dJ, dJ_last)


def make_problem(simulator, objective, sel, args, neutral):
    from chaosgrad._errors import bad_argument

    theta_tree, rebuild_tree = split_theta(sel, args)
    theta, unravel = ravel_pytree(theta_tree)
    if theta.size == 0:
        raise bad_argument(
            "wrt",
            f"{sel.label} holds no floating-point array to differentiate",
            "pass the parameter as a JAX or NumPy array (e.g. jnp.asarray(28.0))",
        )
    problem = _Problem(
        simulator=simulator, objective=objective, neutral=neutral, rebuild=lambda th: rebuild_tree(unravel(th))
    )
    return problem, jnp.asarray(theta)


def default_segment_steps(method: NILSS, lam1: float, steps: int, dt: float) -> int:
    """Steps per segment: the method's ``segment_time``, else one Lyapunov time, at most a
    tenth of the window, at least one step."""
    if method.segment_time is not None:
        return max(1, int(round(method.segment_time / dt)))
    span = 1.0 / lam1 if math.isfinite(lam1) and lam1 > 0 else steps * dt / 20.0
    return int(max(1, min(round(span / dt), steps // 10)))
