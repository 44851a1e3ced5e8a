"""Covariant Lyapunov vectors: the eigenvectors of a linear map exactly, and on Lorenz-63
the central vector along the flow."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg
from chaosgrad.zoo._attractors import lorenz63_vector_field

E = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])  # not orthogonal: CLVs, not Lyapunov (QR) vectors
LAM = np.array([1.5, 0.9, 0.4])


def test_linear_map_vectors_are_its_eigenvectors():
    """y -> A y with A = E diag(1.5, 0.9, 0.4) E^-1: the covariant vectors are E's columns
    (up to sign) at every stored time, to 1e-10, and their exponents are ln 1.5, ln 0.9,
    ln 0.4 to 1e-6 (the backward pass starts from a random triangular matrix and its
    transient decays like (0.9/1.5)^n)."""
    A = E @ np.diag(LAM) @ np.linalg.inv(E)
    r = cg.covariant_vectors(cg.MapSimulator(lambda x, a: a @ x), np.array([1.0, 2.0, 3.0]), A, time=40.0)
    unit = E / np.linalg.norm(E, axis=0)
    cos = np.abs(np.einsum("tnk,nk->tk", r.vectors, unit))
    np.testing.assert_allclose(cos, 1.0, atol=1e-10)
    np.testing.assert_allclose(r.exponents, np.log(LAM), atol=1e-6)
    assert r.unstable == 1 and np.all(r.angles > 0.1)


@pytest.mark.slow
def test_lorenz_central_vector_is_the_flow_direction():
    """Lorenz-63: the second covariant vector is f(y)/|f(y)| at every stored time, within
    0.1 degree (RK4 at dt = 0.01 moves the discrete map's neutral direction off the exact
    field by O(dt^4)); the unstable and stable subspaces come close (near-tangencies) but
    stay apart: the smallest angle is positive and below 10 degrees over 50 time units."""
    s = cg.zoo.lorenz63()
    r = cg.covariant_vectors(s.simulator, s.y0, s.args, time=50.0)
    f = np.array([np.asarray(lorenz63_vector_field(0.0, jnp.asarray(y), s.args)) for y in r.states])
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    angle = np.degrees(np.arccos(np.clip(np.abs(np.sum(r.vectors[:, :, 1] * f, axis=1)), 0.0, 1.0)))
    assert angle.max() < 0.1
    assert r.unstable == 1 and 0 < np.degrees(np.nanmin(r.angles)) < 10
    assert abs(r.exponents[0] - 0.9056) < 0.15 and abs(r.exponents[1]) < 0.05


def test_bad_k_is_named():
    with pytest.raises(cg.ChaosgradInputError, match="k"):
        cg.covariant_vectors(cg.MapSimulator(lambda x, a: a @ x), np.ones(3), np.eye(3), k=4, time=10.0)
