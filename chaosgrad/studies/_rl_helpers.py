"""Helpers of the RL study: returns, gradient estimators at a contact discontinuity.

Gradient estimators of a return ``R(h)`` in one scalar ``h`` (here the initial height of
the bouncing ball), with ``eps_i ~ N(0, 1)``, ``i = 1..M``:

- autodiff (AD): ``R'(h)``, exact for the program, blind to jumps of ``R``;
- first-order randomised smoothing: ``(1/M) sum_i R'(h + sigma eps_i)``, the
  reparameterised gradient of the smoothed return ``R_sigma(h) = E R(h + sigma eps)``,
  unbiased only where ``R`` is continuous (Suh, Simchowitz, Zhang & Tedrake, ICML 2022);
- zeroth-order with antithetic sampling:
  ``(1/M) sum_i [R(h + sigma eps_i) - R(h - sigma eps_i)] eps_i / (2 sigma)``, an unbiased
  estimate of ``R_sigma'(h)`` even across jumps (Nesterov & Spokoiny 2017; the
  likelihood-ratio form of Metz et al. 2021). At a jump of height ``J`` its mean carries
  the extra term ``J phi(0) / sigma = J / (sigma sqrt(2 pi))``.
Error bars are standard errors over the ``M`` samples.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad.zoo import _rl as rl


def height_return(system, n_steps: int):
    """``R(h0)``: the return over ``n_steps`` of the closed loop from ``[h0, 0]``."""
    reward = rl.ENV_REWARDS[system.name]

    def ret(h0):
        y0 = jnp.stack([h0, jnp.zeros_like(h0)])
        return rl.rollout_return(system.simulator, reward, y0, system.args, n_steps)

    return ret


def estimators(ret, hs, *, sigma: float, samples: int, seed: int = 0) -> dict:
    """AD, first-order smoothed and zeroth-order (antithetic) estimates at every ``h``.

    Returns arrays of shape ``(len(hs),)``: ``value``, ``ad``, ``first``, ``first_se``,
    ``zeroth``, ``zeroth_se``. The same ``samples`` normal draws are used at every ``h``
    (common random numbers), so neighbouring estimates are comparable.
    """
    eps = jnp.asarray(np.random.default_rng(seed).standard_normal(samples))
    value_and_grad = jax.value_and_grad(ret)

    @jax.jit
    def at(h):
        value, ad = value_and_grad(h)
        grads = jax.vmap(jax.grad(ret))(h + sigma * eps)
        plus = jax.vmap(ret)(h + sigma * eps)
        minus = jax.vmap(ret)(h - sigma * eps)
        zo = (plus - minus) * eps / (2.0 * sigma)
        n = eps.shape[0]
        return (
            value,
            ad,
            jnp.mean(grads),
            jnp.std(grads, ddof=1) / math.sqrt(n),
            jnp.mean(zo),
            jnp.std(zo, ddof=1) / math.sqrt(n),
        )

    out = jax.lax.map(at, jnp.asarray(hs, jnp.float64))
    keys = ("value", "ad", "first", "first_se", "zeroth", "zeroth_se")
    return {k: np.asarray(v, dtype=np.float64) for k, v in zip(keys, out)}


def find_jumps(ret, lo: float, hi: float, *, points: int, threshold: float, bisections: int = 40):
    """Locations and heights of the jumps of ``R`` on ``[lo, hi]``.

    ``R`` is evaluated on a grid; a cell is flagged when the change of ``R`` differs from
    the trapezoid prediction ``(R'(a) + R'(b)) (b - a) / 2`` by more than ``threshold``
    (a smooth ``R`` misses it by ``O(R''' dh^3)``); each flagged cell is bisected down
    to round-off. Returns ``[(h_jump, J)]`` with ``J = R(h_jump+) - R(h_jump-)``.
    """
    value_and_grad = jax.jit(jax.vmap(jax.value_and_grad(ret)))
    f = jax.jit(ret)
    hs = np.linspace(lo, hi, points)
    r, g = (np.asarray(a) for a in value_and_grad(jnp.asarray(hs)))
    miss = np.diff(r) - 0.5 * (g[1:] + g[:-1]) * np.diff(hs)
    jumps = []
    for i in np.nonzero(np.abs(miss) > threshold)[0]:
        a, b = hs[i], hs[i + 1]
        ra, rb = r[i], r[i + 1]
        for _ in range(bisections):
            m = 0.5 * (a + b)
            rm = float(f(m))
            # Keep the half whose ends differ more: the jump is there.
            if abs(rm - ra) > abs(rb - rm):
                b, rb = m, rm
            else:
                a, ra = m, rm
        jumps.append((0.5 * (a + b), float(rb - ra)))
    return jumps


def farthest_from(jumps, lo: float, hi: float, points: int = 2001) -> float:
    """The point of ``[lo, hi]`` farthest from every jump location."""
    hs = np.linspace(lo, hi, points)
    if not jumps:
        return float(hs[points // 2])
    d = np.min(np.abs(hs[:, None] - np.asarray([j[0] for j in jumps])[None, :]), axis=1)
    return float(hs[int(np.argmax(d))])
