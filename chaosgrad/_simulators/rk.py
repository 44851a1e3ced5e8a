"""Straight-line Runge–Kutta steps from a diffrax solver's Butcher tableau.

diffrax evaluates Runge–Kutta stages in a ``while_loop`` (so that one compiled body serves
any number of stages). Inside a ``lax.scan`` of hundreds of thousands of tiny steps, as in
a Lyapunov computation, that inner loop dominates the run time. For explicit solvers we
read the same tableau ``(a, b, c)`` and unroll the stages in Python:

    k_i = f(t + c_i h, y + h sum_{j<i} a_ij k_j),   y_1 = y + h sum_i b_i k_i

which is the same numerical map as ``solver.step`` (checked in the tests), written as
straight-line code that XLA fuses and that ``jax.jvp`` goes through. Explicit Euler is
the one-stage case. Other solvers (implicit, exponential, symplectic) fall back to
``solver.step``.

:func:`variational_rk_step` applies the same tableau to the variational system
``u' = f(u), Q' = Df(u) Q``, which gives the tangent map of one step directly.
"""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._checks import check_strategy

# The values of diffrax's AbstractRungeKutta.scan_kind.
SCAN_KINDS = (None, "lax", "checkpointed", "bounded")


def _tableau(solver):
    if isinstance(solver, diffrax.Euler):
        return (), (1.0,), ()
    if isinstance(solver, diffrax.AbstractERK) and isinstance(solver.tableau, diffrax.ButcherTableau):
        tab = solver.tableau
        a = tuple(tuple(float(v) for v in row) for row in tab.a_lower)
        b = tuple(float(v) for v in np.asarray(tab.b_sol))
        c = tuple(float(v) for v in np.asarray(tab.c))
        return a, b, c
    return None


def has_unrolled_step(solver) -> bool:
    return _tableau(solver) is not None


def _axpy(y, h, coeffs, ks):
    """``y + h * sum_j coeffs[j] k_j`` on pytrees, skipping zero coefficients."""
    terms = [(c, k) for c, k in zip(coeffs, ks) if c != 0.0]
    if not terms:
        return y

    def leaf(y_leaf, *k_leaves):
        acc = terms[0][0] * k_leaves[0]
        for (c, _), k in zip(terms[1:], k_leaves[1:]):
            acc = acc + c * k
        return y_leaf + h * acc

    return jax.tree_util.tree_map(leaf, y, *[k for _, k in terms])


def unrolled_rk_step(solver, vector_field, t, h, y, args):
    """One explicit Runge–Kutta step of ``solver``'s tableau, stages unrolled."""
    a, b, c = _tableau(solver)
    ks = [vector_field(t, y, args)]
    for row, ci in zip(a, c):
        ks.append(vector_field(t + ci * h, _axpy(y, h, row, ks), args))
    return _axpy(y, h, b, ks)


def variational_rk_step(solver, flat_field, t, h, u, Q):
    """One step of ``solver``'s tableau on the variational system, and its tangent map.

    For the flat vector field ``flat_field(t, u) -> du/dt`` (``u`` of shape ``(n,)``) and
    tangent columns ``Q`` of shape ``(n, k)``, integrates

        u' = f(t, u),   Q' = Df(t, u) Q

    with the explicit Runge–Kutta tableau of ``solver``, stages unrolled as in
    :func:`unrolled_rk_step`. For an explicit Runge–Kutta method this is the same map as
    the Jacobian of one step applied to ``Q``: differentiating
    ``k_i = f(t + c_i h, u + h sum_j a_ij k_j)`` in ``u`` along ``Q`` gives
    ``K_i = Df(t + c_i h, u + h sum_j a_ij k_j) (Q + h sum_j a_ij K_j)`` and
    ``Q_1 = Q + h sum_i b_i K_i``, which is the tableau applied to ``Q' = Df Q`` along the
    same stages (Runge–Kutta methods commute with linearisation). The two differ by
    round-off only.

    The state and the tangents are stacked as the rows of one ``(k + 1, n)`` array
    ``W = [u; Q^T]``, so every stage update ``W + h sum_j a_ij K_j`` is one array
    operation; each stage evaluates ``f`` once at ``W[0]`` and its Jacobian-vector
    products (``jax.jvp``, vmapped) on the other rows. XLA fuses this into fewer, larger
    kernels than ``jax.jvp`` through the step, except for the smallest systems (see
    ``ODESimulator.tangent_step`` for when it is used).

    Returns ``(u_1, Q_1)``.
    """

    def field(t, W, _):
        f = lambda v: flat_field(t, v)
        fu, dQ = jax.vmap(lambda q: jax.jvp(f, (W[0],), (q,)), out_axes=(None, 0))(W[1:])
        return jnp.concatenate([fu[None], dQ], axis=0)

    W = jnp.concatenate([u[None], Q.T.astype(u.dtype)], axis=0)
    W1 = unrolled_rk_step(solver, field, t, h, W, None)
    return W1[0], W1[1:].T


class RK4(diffrax.AbstractERK):
    """The classical fourth-order Runge–Kutta method (Kutta 1901) as a diffrax solver.

    diffrax ships adaptive-pair tableaus (Tsit5, Dopri5, ...); this one is the fixed-step
    workhorse most hand-written simulators use, so it is here to compare like with like.
    """

    tableau = diffrax.ButcherTableau(
        c=np.array([0.5, 0.5, 1.0]),
        b_sol=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]),
        b_error=np.array([0.0, 0.0, 0.0, 0.0]),
        a_lower=(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.0, 0.0, 1.0])),
    )
    interpolation_cls = diffrax.ThirdOrderHermitePolynomialInterpolation.from_k

    def __check_init__(self):
        # scan_kind is diffrax's field (how its stage loop is scanned), checked here by name.
        check_strategy("scan_kind", self.scan_kind, (), words=SCAN_KINDS, example="None")

    def order(self, terms):
        return 4
