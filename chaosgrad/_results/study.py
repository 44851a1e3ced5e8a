"""A study: a diagnosis plus the extra figures and tables of one analysis (data only).

Each bundled system's analysis (a parameter sweep, a solver comparison, ...) returns a
:class:`Study`. Extra figures are described as data (:class:`Figure` of
:class:`Series`), so the report layer draws them from JSON without recomputing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._results.serialize import Result
from chaosgrad._spectra.result import LyapunovResult


@dataclass(frozen=True)
class Series(Result):
    """One line (or scatter, or bar set) of a figure.

    ``lower``/``upper`` give an optional band; ``style`` is ``"line"``, ``"marker"``,
    ``"line+marker"``, ``"bar"``, ``"hist"`` (``y`` unused, ``x`` are samples) or
    ``"hline"`` (a horizontal reference at ``y[0]``).
    """

    label: str
    x: np.ndarray
    y: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    style: str = "line"
    kind: str = "series"


@dataclass(frozen=True)
class Figure(Result):
    """A figure: axes labels, scales, series and a caption that says what to see."""

    title: str
    caption: str
    xlabel: str
    ylabel: str
    series: tuple
    xscale: str = "linear"
    yscale: str = "linear"
    kind: str = "figure"


@dataclass(frozen=True)
class Table(Result):
    """A table of strings/numbers with a caption."""

    title: str
    columns: tuple
    rows: tuple
    caption: str = ""
    kind: str = "table"


@dataclass(frozen=True)
class Section(Result):
    """A titled block of text with its figures and tables."""

    title: str
    text: str
    figures: tuple = ()
    tables: tuple = ()
    kind: str = "section"


@dataclass(frozen=True)
class Study(Result):
    """One system's analysis: the headline diagnosis plus study-specific sections.

    Attributes:
        system: registry name, e.g. ``"lorenz63"``.
        title: human title.
        summary: what the study shows, with its numbers (one paragraph).
        diagnosis: the diagnosis of the system's default configuration.
        sections: extra sections (sweeps, comparisons), in reading order.
        findings: short statements of what the study found (including surprises).
        mode: ``"fast"`` or ``"full"``.
        config: parameters and the command that regenerates the study.
        extra: other diagnoses keyed by label (e.g. one per sweep point's verdict). They
            are kept as summaries: everything but the arrays along the trajectory, the
            per-interval arrays of their Lyapunov results (``history`` is ``(0, k)``,
            ``finite_time_exponents`` ``(M, 0, k)``) and the backward cotangent profile
            of their gradients (``cotangent_times`` ``(0,)``, ``cotangent_norms``
            ``(M, 0)``). Exponents, uncertainties, member exponents, valid intervals,
            gradient norms at every horizon, fits, sketches and ablations stay. Reports
            read only their verdicts and rates; the arrays along the trajectory, some
            20 000 intervals per configuration, made a sweep's results file tens of
            megabytes. The headline ``diagnosis`` keeps every array; rerun a
            configuration to get them.
    """

    system: str
    title: str
    summary: str
    diagnosis: Diagnosis
    sections: tuple
    findings: tuple
    mode: str
    config: dict
    extra: dict
    kind: str = "study"

    def __post_init__(self):
        if isinstance(self.extra, dict):
            object.__setattr__(self, "extra", {k: _summary(v) for k, v in self.extra.items()})


def _without_intervals(res):
    """A Lyapunov result without its per-interval arrays (see ``Study.extra``)."""
    if not isinstance(res, LyapunovResult):
        return res
    hist, ftle = np.asarray(res.history), np.asarray(res.finite_time_exponents)
    if hist.ndim != 2 or ftle.ndim != 3 or (hist.shape[0] == 0 and ftle.shape[1] == 0):
        return res
    return dataclasses.replace(res, history=hist[:0], finite_time_exponents=ftle[:, :0])


def _without_profile(grad):
    """A gradient result without its cotangent profile (see ``Study.extra``)."""
    t, c = np.asarray(grad.cotangent_times), np.asarray(grad.cotangent_norms)
    if t.ndim != 1 or c.ndim != 2 or (t.size == 0 and c.shape[1] == 0):
        return grad
    return dataclasses.replace(grad, cotangent_times=t[:0], cotangent_norms=c[:, :0])


def _summary(value):
    """An extra diagnosis as ``Study.extra`` keeps it; anything else as it is."""
    if not isinstance(value, Diagnosis):
        return value
    parts = {
        "lambda_physical": _without_intervals(value.lambda_physical),
        "lambda_numerical": _without_intervals(value.lambda_numerical),
        "gradient": _without_profile(value.gradient),
    }
    if all(v is getattr(value, k) for k, v in parts.items()):
        return value
    return dataclasses.replace(value, **parts)
