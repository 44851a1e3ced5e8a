"""Result types of the measurements beyond one gradient (data only): curvature, the
loss along a slice of the parameter, and gradient noise. Plain numbers, strings and
arrays; they round-trip through JSON without loss (``chaosgrad.load_result``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chaosgrad._results.serialize import Result


@dataclass(frozen=True)
class CurvatureResult(Result):
    """The top eigenvalues of the Hessian of the horizon-``T`` loss, against ``T``.

    Attributes:
        horizons, horizon_steps: ``(H,)`` horizons (time units, and steps).
        eigenvalues: ``(M, H, k)`` per member and horizon, the ``k`` Ritz values of largest
            magnitude (signed), in decreasing magnitude; NaN where non-finite.
        residuals: ``(M, H, k)`` Lanczos residual bounds ``|beta_m s_mi|``: an eigenvalue
            of the Hessian lies within this distance of each Ritz value (Parlett 1998,
            "The symmetric eigenvalue problem", thm 11.4.1). Zero when the Krylov
            space is the whole space (``iterations == dimension``): exact.
        sharpness: ``(M, H)`` the Hessian's spectral norm ``max |eigenvalue|``.
        finite: ``(M, H)`` usable sharpness (finite and non-zero).
        gradient_norms: ``(M, H)`` ``||dL_T/d wrt||`` at the same point (a by-product).
        rate, rate_low, rate_high: growth rate of ``ln sharpness`` in ``T`` and its
            interval (the gradient growth's estimator, ``chaosgrad._gradients.fit``).
        gradient_rate, gradient_rate_low, gradient_rate_high: the same for the gradient.
        regime: ``"growing"``, ``"settling"``, ``"decaying"`` or ``"undecided"`` (:func:`curvature_regime`),
            ``regime_reason`` the sentence behind it.
        fit_mask, reported: ``(H,)`` horizons fitted, and the caller's horizons.
        dimension, iterations: size of ``wrt`` and Lanczos steps per member and horizon.
    """

    horizons: np.ndarray
    horizon_steps: np.ndarray
    eigenvalues: np.ndarray
    residuals: np.ndarray
    sharpness: np.ndarray
    finite: np.ndarray
    gradient_norms: np.ndarray
    rate: float
    rate_low: float
    rate_high: float
    gradient_rate: float
    gradient_rate_low: float
    gradient_rate_high: float
    confidence: float
    regime: str
    regime_reason: str
    fit_mask: np.ndarray
    reported: np.ndarray
    member_rates: np.ndarray
    dimension: int
    iterations: int
    wrt: str
    loss: str
    dtype: str
    status: str
    method: str


@dataclass(frozen=True)
class LossSliceResult(Result):
    """The loss along a line ``x0 + s d`` through the parameter, at several horizons.

    Attributes:
        offsets: ``(S,)`` the values of ``s`` (in the units of ``wrt``; ``d`` is a unit vector).
        horizons, horizon_steps: ``(H,)``.
        losses: ``(H, S)`` ``L_T(x0 + s d)``; NaN where non-finite.
        roughness: ``(H,)`` total variation of the slice over its range,
            ``sum |L_{i+1} - L_i| / (max L - min L)``: 1 for a monotone slice, about the
            number of monotone pieces otherwise; it keeps growing with ``points`` where the
            landscape is fractal (Metz et al. 2021, fig. 1).
        turning_points: ``(H,)`` sign changes of the discrete slope.
        direction: ``(P,)`` the unit direction ``d`` in the flattened ``wrt``.
        center: ``(P,)`` ``x0``.
    """

    offsets: np.ndarray
    horizons: np.ndarray
    horizon_steps: np.ndarray
    losses: np.ndarray
    roughness: np.ndarray
    turning_points: np.ndarray
    direction: np.ndarray
    center: np.ndarray
    wrt: str
    loss: str
    dtype: str


@dataclass(frozen=True)
class GradientNoiseResult(Result):
    """How the gradient varies over the initial states (or episodes) of a batch.

    With per-example gradients ``g_i`` (``i = 1..N``), mean ``G`` and covariance
    ``Sigma`` (unbiased), per horizon:

    - ``mean_norm`` ``|G|`` (from the unbiased ``|G|^2 = |mean|^2 - tr Sigma / N``, zero when
      that is not positive: the mean is below what ``N`` examples resolve) and ``noise``
      ``sqrt(tr Sigma)``;
    - ``noise_scale`` ``B_simple = tr(Sigma) / |G|^2`` (infinite when ``|G|^2`` is not
      resolved; McCandlish, Kaplan, Amodei et al.
      2018, "An empirical model of large-batch training", eq. 2.8): the batch size at
      which the minibatch gradient's noise equals its signal;
    - ``snr`` ``|G|^2 / (tr(Sigma) / B)`` for minibatches of ``batch`` examples
      (``B / B_simple``): above 1 a step of that batch points mostly along ``G``.

    Intervals are ``confidence`` percentile intervals from ``resamples`` bootstrap
    resamples of the examples (Efron & Tibshirani 1993). ``noise_rate`` and
    ``mean_rate`` are growth rates in ``T`` of ``sqrt(tr Sigma)`` and ``|G|``, fitted
    with the gradient growth's estimator over ``groups`` disjoint groups of examples.
    """

    horizons: np.ndarray
    horizon_steps: np.ndarray
    examples: int
    batch: int
    mean_norm: np.ndarray
    noise: np.ndarray
    noise_scale: np.ndarray
    noise_scale_low: np.ndarray
    noise_scale_high: np.ndarray
    snr: np.ndarray
    snr_low: np.ndarray
    snr_high: np.ndarray
    finite_examples: np.ndarray
    noise_rate: float
    noise_rate_low: float
    noise_rate_high: float
    mean_rate: float
    mean_rate_low: float
    mean_rate_high: float
    confidence: float
    wrt: str
    loss: str
    dtype: str
    method: str


@dataclass(frozen=True)
class Symptom(Result):
    """One training symptom (``chaosgrad._training.symptoms``): its name, the steps where its rule
    fired, and what it means."""

    name: str
    steps: np.ndarray
    words: str


@dataclass(frozen=True)
class TrainingLog(Result):
    """Per-step statistics of a monitored training run (``chaosgrad.monitor``).

    Attributes: ``steps`` ``(S,)``; ``loss``; ``grad_norm`` (global); ``layer_norms``
    ``(S, L)`` per parameter leaf, named by ``layer_names``; ``max_abs_grad``;
    ``nan_count``, ``inf_count`` (gradient entries); ``update_norm``, ``param_norm`` and
    ``update_ratio`` (their quotient); ``clipped`` (gradient norm above the clip
    threshold); ``dtype`` of the gradients (the range overflow is judged in); ``symptoms``, a tuple of :class:`Symptom`.
    """

    steps: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    max_abs_grad: np.ndarray
    update_norm: np.ndarray
    param_norm: np.ndarray
    update_ratio: np.ndarray
    nan_count: np.ndarray
    inf_count: np.ndarray
    clipped: np.ndarray
    layer_norms: np.ndarray
    layer_names: tuple
    dtype: str
    symptoms: tuple

    def symptom(self, name: str):
        """The :class:`Symptom` called ``name``, or ``None`` if its rule never fired."""
        return next((s for s in self.symptoms if s.name == name), None)
