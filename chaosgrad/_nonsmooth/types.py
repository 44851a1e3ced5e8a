"""Result type of the first-order against zeroth-order comparison of a smoothed loss's
gradient (data only; round-trips through JSON, ``chaosgrad.load_result``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chaosgrad._results.serialize import Result


@dataclass(frozen=True)
class SmoothedGradientResult(Result):
    """Two estimates of ``grad F_T(x)``, ``F_T(x) = E_eps[L_T(x + sigma eps)]``,
    ``eps ~ N(0, I)``, at each horizon (see :func:`chaosgrad.smoothed_gradients`).

    ``H`` horizons, ``P`` components of ``wrt`` (flattened), ``N`` antithetic pairs.

    Attributes:
        horizons, horizon_steps: ``(H,)`` time units and steps.
        first_order, zeroth_order: ``(H, P)`` the two estimates (means over the pairs).
        first_order_var, zeroth_order_var: ``(H, P)`` per-pair sample variances of each
            estimator (unbiased, ``ddof = 1``); the variance of the estimate itself is
            this over ``finite_pairs``.
        first_order_trace, zeroth_order_trace: ``(H,)`` ``tr Sigma`` per pair, the sums of
            the above over components (what the advice compares).
        covariance_trace: ``(H,)`` ``tr Cov(g1, g0)`` per pair (the samples are paired).
        zeroth_low, zeroth_high: ``(H, P)`` the zeroth-order estimate's interval.
        difference, difference_low, difference_high: ``(H, P)`` ``first - zeroth`` and its
            interval (paired samples).
        quantile: ``(H,)`` the Student-t quantile each horizon's intervals use (simultaneous over the
            ``P`` components by Bonferroni: ``t_{n-1}(1 - (1 - confidence) / (2 P))``, ``n`` finite pairs).
        first_outside: ``(H,)`` some component of the first-order estimate lies outside
            the zeroth-order interval.
        differ: ``(H,)`` some component's difference interval excludes 0.
        biased: ``(H,)`` both: the first-order estimate is not the smoothed gradient.
        worst_z: ``(H,)`` the largest ``|difference| / standard error`` over components.
        smoothed_loss, loss_at_center: ``(H,)`` ``mean of L_T(x +- sigma eps)`` (an
            estimate of ``F_T``) and ``L_T(x)``.
        finite_pairs: ``(H,)`` pairs whose losses and gradients are finite (the others
            are left out of every statistic).
        step_flags: ``(S,)`` along the longest horizon's ``S`` steps, the number of pairs
            whose step's central difference across the pair disagrees with its one-step
            derivative along the segment (see ``tolerance`` and ``chaosgrad._nonsmooth.estimators``).
        step_disagreement: ``(S,)`` the largest relative disagreement over pairs.
        loss_flags: pairs whose loss, at the longest horizon's final states, disagrees
            with its derivative in the same way.
        nonsmooth_steps: ``(F,)`` the flagged step indices (0-based, step ``k`` maps the
            state at ``k dt`` to ``(k + 1) dt``).
        tolerance: the relative disagreement above which a step is flagged.
        sigma, samples (= ``N``), confidence, seed, wrt, loss, dtype, method: the set-up.
    """

    horizons: np.ndarray
    horizon_steps: np.ndarray
    first_order: np.ndarray
    zeroth_order: np.ndarray
    first_order_var: np.ndarray
    zeroth_order_var: np.ndarray
    first_order_trace: np.ndarray
    zeroth_order_trace: np.ndarray
    covariance_trace: np.ndarray
    zeroth_low: np.ndarray
    zeroth_high: np.ndarray
    difference: np.ndarray
    difference_low: np.ndarray
    difference_high: np.ndarray
    quantile: np.ndarray
    first_outside: np.ndarray
    differ: np.ndarray
    biased: np.ndarray
    worst_z: np.ndarray
    smoothed_loss: np.ndarray
    loss_at_center: np.ndarray
    finite_pairs: np.ndarray
    step_flags: np.ndarray
    step_disagreement: np.ndarray
    loss_flags: int
    nonsmooth_steps: np.ndarray
    tolerance: float
    sigma: float
    samples: int
    confidence: float
    seed: int
    wrt: str
    loss: str
    dtype: str
    method: str

    @property
    def confirmed(self) -> bool:
        """Whether the first-order estimate is biased at some horizon."""
        return bool(np.any(self.biased))
