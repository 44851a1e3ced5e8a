"""A study: a diagnosis plus the extra figures and tables of one analysis (data only).

Each bundled system's analysis (a parameter sweep, a solver comparison, ...) returns a
:class:`Study`. Extra figures are described as data (:class:`Figure` of
:class:`Series`), so the report layer draws them from JSON without recomputing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._diagnosis_types import Diagnosis
from ._serialize import Result


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
        extra: other diagnoses keyed by label (e.g. one per sweep point's verdict).
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
