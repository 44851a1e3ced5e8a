"""The settings a set of related spectra share (a diagnosis's reference, its halvings, the
user's spectrum, the members sampled along the reference).

One typed value instead of a dict of :func:`~chaosgrad.lyapunov_spectrum` keywords:
``k`` exponents, renormalised every ``interval`` time units, over ``time`` (a number,
:class:`~chaosgrad.UntilConverged` or a ``Within``), from a frame drawn with ``seed``, after
``transient`` time units. Derived runs change one field with :meth:`replace` (a halving
its interval, a later run its time).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SpectraSettings:
    k: int
    interval: float
    time: Any  # float | UntilConverged | Within
    seed: int = 0
    transient: float = 0.0

    def replace(self, **changes) -> SpectraSettings:
        return dataclasses.replace(self, **changes)

    def kwargs(self) -> dict:
        """The :func:`~chaosgrad.lyapunov_spectrum` keywords."""
        return dict(k=self.k, interval=self.interval, time=self.time, seed=self.seed, transient=self.transient)
