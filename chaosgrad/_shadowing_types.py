"""Result types of shadowing sensitivities (data only; JSON round-trip without loss)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._serialize import Result


@dataclass(frozen=True)
class ShadowingResult(Result):
    """The derivative of a long-time average with respect to parameters.

    Attributes:
        derivative: ``(P,)`` ``d<J>/d theta``, mean over the windows.
        standard_error, low, high: ``(P,)`` its standard error (spread of the windows over
            sqrt(windows)) and ``confidence`` Student-t interval (windows - 1 degrees of
            freedom); an unbounded interval with a single window.
        window_derivatives: ``(W, P)`` each window's value; ``window_averages`` ``(W,)``
            each window's ``<J>``.
        average: ``<J>`` over all windows.
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
