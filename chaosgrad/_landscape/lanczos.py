"""Lanczos for a batch of symmetric operators known only through their products.

For each of ``M`` symmetric ``P x P`` operators ``A_m`` (here Hessians, applied by
Hessian-vector products), ``m`` steps of Lanczos build an orthonormal Krylov basis
``Q_m`` and the tridiagonal ``T_m = Q_m^T A Q_m``; the eigenvalues of ``T_m`` (Ritz
values) approximate the extreme eigenvalues of ``A``, and each lies within
``|beta_m s_{m,i}|`` of an eigenvalue of ``A`` (Parlett 1998, "The symmetric eigenvalue
problem", thm 11.4.1; ``s_i`` the Ritz vector in ``T_m``'s basis). Lanczos (1950);
full reorthogonalisation (twice, Parlett & Scott's "twice is enough") keeps ``Q_m``
orthonormal in floating point, which is affordable since ``m`` is small.

When ``beta_j`` vanishes the Krylov space is invariant: the basis continues with a
random vector orthogonal to it and ``T_m`` gets a zero off-diagonal, so the Ritz values
remain those of ``A`` on a larger invariant-plus-Krylov space. With ``m == P`` the basis
is the whole space and the Ritz values are ``A``'s eigenvalues (to round-off).

The operators are applied on the host in float64; a product that is non-finite marks its
member non-finite (NaN Ritz values), the others go on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# beta_j below this fraction of the largest |alpha|, |beta| so far is a breakdown: the
# Krylov space is invariant to working precision (float64, with room for the rounding of
# the products themselves).
BREAKDOWN = 1e-10


@dataclass(frozen=True)
class Ritz:
    values: np.ndarray  # (M, k) signed, in decreasing magnitude
    residuals: np.ndarray  # (M, k)
    finite: np.ndarray  # (M,)


def _orthogonalise(w, Q):
    """``w - Q Q^T w`` per member, twice; ``Q`` is ``(M, j, P)``."""
    for _ in range(2):
        w = w - np.einsum("mjp,mj->mp", Q, np.einsum("mjp,mp->mj", Q, w))
    return w


def lanczos(apply: Callable[[np.ndarray], np.ndarray], M: int, P: int, m: int, k: int, rng) -> Ritz:
    """``k`` Ritz values of largest magnitude of each of ``M`` operators after ``m`` steps.

    ``apply(V)`` maps ``(M, P)`` to ``(M, P)``, row ``i`` by operator ``i``. ``m <= P``.
    """
    Q = np.zeros((M, m, P))
    alpha, beta = np.zeros((M, m)), np.zeros((M, m))
    finite = np.ones(M, bool)
    v = rng.standard_normal((M, P))
    Q[:, 0] = v / np.linalg.norm(v, axis=1, keepdims=True)
    for j in range(m):
        w = np.asarray(apply(Q[:, j]), np.float64)
        finite &= np.isfinite(w).all(axis=1)
        w = np.where(finite[:, None], w, 0.0)
        alpha[:, j] = np.einsum("mp,mp->m", w, Q[:, j])
        w = _orthogonalise(w, Q[:, : j + 1])
        beta[:, j] = np.linalg.norm(w, axis=1)
        if j == m - 1:
            break
        scale = np.maximum(np.abs(alpha[:, : j + 1]).max(axis=1), beta[:, : j + 1].max(axis=1))
        broken = beta[:, j] <= BREAKDOWN * np.maximum(scale, np.finfo(float).tiny)
        if broken.any():
            r = _orthogonalise(rng.standard_normal((M, P)), Q[:, : j + 1])
            w = np.where(broken[:, None], r, w)
            beta[:, j] = np.where(broken, 0.0, beta[:, j])
        Q[:, j + 1] = w / np.linalg.norm(w, axis=1, keepdims=True)
    values, residuals = np.full((M, k), np.nan), np.full((M, k), np.nan)
    for i in np.nonzero(finite)[0]:
        T = np.diag(alpha[i]) + np.diag(beta[i, :-1], 1) + np.diag(beta[i, :-1], -1)
        theta, S = np.linalg.eigh(T)
        order = np.argsort(-np.abs(theta))[:k]
        values[i] = theta[order]
        # The residual of the last step is exactly zero when the basis spans everything.
        last = 0.0 if m == P else beta[i, -1]
        residuals[i] = np.abs(last * S[-1, order])
    return Ritz(values=values, residuals=residuals, finite=finite)
