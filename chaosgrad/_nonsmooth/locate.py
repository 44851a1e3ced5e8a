"""Where a program is non-smooth: every antithetic pair's two trajectories compared step by step.

Where the non-smoothness sits: along the longest horizon every pair's two trajectories
``y+_k, y-_k`` are compared step by step. The central difference of the step across the
pair, ``step(y+_k) - step(y-_k)``, is set against the step's one-step derivative along
the same increment ``d = y+_k - y-_k`` (parameters included), integrated along the segment
by Simpson's rule: ``(D step(y+_k) + 4 D step(m_k) + D step(y-_k)) d / 6`` (three
``jvp`` s, ``m_k`` the midpoint). For a smooth step the two differ by at most
``|d|^5 |D^5 step| / 2880``, a relative error of about ``(|d| / l)^4 / 2880`` with ``l`` the
length over which the step's derivative changes; a jump between the pair's states
contributes the jump itself (not proportional to ``|d|``) and a kink a relative error of
order one. A step is flagged where the relative disagreement exceeds ``tolerance``
(default 0.1: a smooth step reaches it only when the pair's spread exceeds about
``4 l``, where it is far from linear across what the smoothing probes, so reporting it is
correct too). The loss at the final states is checked the same way.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from chaosgrad._gradients.sweep import split_theta


def simpson(f, plus, minus, tangent):
    """``integral_0^1 D f(minus + s (plus - minus)) ds`` applied to ``tangent`` (= ``plus -
    minus``) by Simpson's rule: the derivative along the segment at both ends and the
    midpoint, ``(D f(plus) + 4 D f(mid) + D f(minus)) tangent / 6``. For a smooth ``f`` it
    equals the secant ``f(plus) - f(minus)`` up to ``|d|^5 |D^5 f| / 2880``."""
    mid = jax.tree_util.tree_map(lambda a, b: (a + b) / 2, plus, minus)
    push = lambda at: jax.jvp(f, at, tangent)[1]
    return (push(plus) + 4 * push(mid) + push(minus)) / 6


@eqx.filter_jit
def disagreement(simulator, loss, sel, args, y0, eps, sigma, n_steps, tolerance):
    """Along ``n_steps`` steps of every pair's two trajectories: per step, the number of
    pairs whose central difference across the pair disagrees with the step's derivative
    along the segment between them (:func:`simpson`) by more than ``tolerance``
    (relative), and the largest disagreement; the same for the loss at the final states."""
    flat = simulator.tangent_space(y0)[0]
    theta, rebuild = split_theta(sel, args)
    th_flat, unravel = ravel_pytree(theta)
    feps = float(jnp.finfo(jnp.dtype(simulator.dtype)).eps)

    def starts(e):
        if sel.kind == "y0":
            u, rest = flat.split(y0)
            e = (sigma * e).astype(u.dtype)
            return (flat.combine(u + e, rest), th_flat), (flat.combine(u - e, rest), th_flat)
        e = (sigma * e).astype(th_flat.dtype)
        return (y0, th_flat + e), (y0, th_flat - e)

    def relative(fd, jd, d_norm, scale):
        # Round-off: each evaluation is good to about eps |value|; the floor keeps that
        # (and a derivative below sqrt(eps) of the increment, e.g. a saturated clip
        # where both are zero) from counting as a disagreement.
        floor = math.sqrt(feps) * d_norm + 4 * feps * scale / tolerance + 1e-300
        return jnp.linalg.norm(fd - jd) / jnp.maximum(jnp.maximum(jnp.linalg.norm(fd), jnp.linalg.norm(jd)), floor)

    def one_pair(e):
        (yp, tp), (ym, tm) = starts(e)
        dth = tp - tm

        def body(carry, k):
            yp, ym = carry
            t = k * simulator.dt
            up, rest = flat.split(yp)
            um = flat.split(ym)[0]

            def f(u, th):
                return flat.split(simulator.step(t, flat.combine(u, rest), rebuild(unravel(th))))[0]

            yp1 = simulator.step(t, yp, rebuild(unravel(tp)))
            ym1 = simulator.step(t, ym, rebuild(unravel(tm)))
            up1, um1 = flat.split(yp1)[0], flat.split(ym1)[0]
            du = up - um
            jd = simpson(f, (up, tp), (um, tm), (du, dth))
            d_norm = jnp.sqrt(jnp.sum(du.astype(jnp.float64) ** 2) + jnp.sum(dth.astype(jnp.float64) ** 2))
            scale = jnp.linalg.norm(up1) + jnp.linalg.norm(um1)
            r = relative((up1 - um1).astype(jnp.float64), jd.astype(jnp.float64), d_norm, scale)
            return (yp1, ym1), r

        (yp, ym), r = jax.lax.scan(body, (yp, ym), jnp.arange(n_steps))
        # The loss may read leaves outside the tangent space (a running return): its
        # check differentiates along every floating leaf of the final state.
        dp, static = eqx.partition(yp, eqx.is_inexact_array)
        dm = eqx.partition(ym, eqx.is_inexact_array)[0]
        lf = lambda d: pointwise(loss, n_steps * simulator.dt, eqx.combine(d, static), y0)
        lp, lm = lf(dp), lf(dm)
        diff = jax.tree_util.tree_map(lambda a, b: a - b, dp, dm)
        jd = simpson(lf, (dp,), (dm,), (diff,))
        d_norm = jnp.sqrt(sum(jnp.sum(x.astype(jnp.float64) ** 2) for x in jax.tree_util.tree_leaves(diff)))
        rl = relative(jnp.atleast_1d(lp - lm), jnp.atleast_1d(jd), d_norm, jnp.abs(lp) + jnp.abs(lm))
        return r, rl

    r, rl = jax.vmap(one_pair)(eps)
    r = jnp.where(jnp.isfinite(r), r, jnp.inf)
    return (
        jnp.sum(r > tolerance, axis=0),
        jnp.max(r, axis=0),
        jnp.sum(jnp.where(jnp.isfinite(rl), rl, jnp.inf) > tolerance),
    )


def pointwise(loss, t, y, template):
    """What the loss reads from the state ``y`` at time ``t``: its final part, plus its
    integrand when it has one (loss rule 2), in float64."""
    value = loss.final(y, template).astype(jnp.float64)
    return value + loss.integrand(t, y, template).astype(jnp.float64) if loss.accumulates else value
