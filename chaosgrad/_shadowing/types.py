"""Result types of shadowing sensitivities (data only; JSON round-trip without loss)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chaosgrad._results.serialize import Result


@dataclass(frozen=True)
class ShadowingResult(Result):
    """The derivative of a long-time average with respect to parameters.

    Attributes:
        derivative: ``(P,)`` ``d<J>/d theta``, mean over the windows.
        standard_error, low, high: ``(P,)`` its standard error (spread of the windows over
            sqrt(windows)) and ``confidence`` Student-t interval (windows - 1 degrees of
            freedom); an unbounded interval with a single window.
        window_derivatives: ``(W, P)`` each finite window's value; ``window_averages``
            ``(W,)`` those windows' ``<J>``.
        average: ``<J>`` over those windows.
        unstable: the number of unstable directions used, ``unstable_source`` where it
            came from (``"spectrum"`` or ``"given"``), ``exponents`` the spectrum read.
        neutral: how the flow direction was taken (or ``"none"``).
        method, segments, segment_steps, window_time: the method and its settings.
        parameters: names of the ``P`` entries; ``wrt``, ``objective``: what was asked.
        status: ``"ok"``, ``"partial-nonfinite"`` (some windows failed, left out) or
            ``"nonfinite"``; ``notes``: what to know about the number.
    """

    derivative: np.ndarray
    standard_error: np.ndarray
    low: np.ndarray
    high: np.ndarray
    confidence: float
    window_derivatives: np.ndarray
    window_averages: np.ndarray
    average: float
    unstable: int
    unstable_source: str
    exponents: np.ndarray
    neutral: str
    method: str
    segments: int
    segment_steps: int
    window_time: float
    parameters: tuple
    wrt: str
    objective: str
    status: str
    notes: tuple
    kind: str = "shadowing"


@dataclass(frozen=True)
class CovariantVectorsResult(Result):
    """Covariant Lyapunov vectors at stored times (``chaosgrad.covariant_vectors``).

    Attributes:
        times: ``(N,)`` the stored times; ``states`` ``(N, n)`` the flat tangent state there.
        vectors: ``(N, n, k)`` unit covariant vectors, in order of their exponents.
        exponents: ``(k,)`` the exponents their growth gives (a check on the spectrum).
        unstable: how many leading vectors span the unstable subspace; ``angles`` ``(N,)``
            the smallest principal angle between it and the span of the others (radians;
            NaN without both).
        interval: time between QR steps; ``status``: ``"ok"`` or ``"nonfinite"``.
    """

    times: np.ndarray
    vectors: np.ndarray
    exponents: np.ndarray
    unstable: int
    angles: np.ndarray
    states: np.ndarray
    interval: float
    status: str
    method: str
    kind: str = "covariant-vectors"
