"""Registry of the bundled analyses: one study per system.

Each study module registers a :class:`StudySpec` whose ``run(fast=..., progress=...)``
returns a :class:`chaosgrad.Study`. ``chaosgrad analyze NAME`` and the scripts under
``systems/`` run them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from .._study import Study


@dataclass(frozen=True)
class StudySpec:
    name: str
    title: str
    description: str
    run: Callable[..., Study]


# name -> module that defines `SPEC`; imported lazily so `chaosgrad list` is instant.
_MODULES: dict[str, str] = {
    "kuramoto_sivashinsky": "chaosgrad.studies.kuramoto_sivashinsky",
    "double_pendulum": "chaosgrad.studies.double_pendulum",
    "lorenz96": "chaosgrad.studies.lorenz96",
    "rossler": "chaosgrad.studies.rossler",
    "oscillators": "chaosgrad.studies.oscillators",
    "maps": "chaosgrad.studies.maps",
    "lorenz63": "chaosgrad.studies.lorenz63",
    "rnn": "chaosgrad.studies.rnn",
    "deep_network": "chaosgrad.studies.deep_network",
    "rl": "chaosgrad.studies.rl",
    "gymnax_pendulum": "chaosgrad.studies.gymnax_pendulum",
    "brax_inverted_pendulum": "chaosgrad.studies.brax_inverted_pendulum",
    "curvature": "chaosgrad.studies.curvature",
    "training": "chaosgrad.studies.training",
    "attention": "chaosgrad.studies.attention",
    "batch_norm": "chaosgrad.studies.batch_norm",
    "mixed_precision": "chaosgrad.studies.mixed_precision",
    "shadowing": "chaosgrad.studies.shadowing",
}


# Wall-clock seconds of `chaosgrad analyze NAME --fast -q` (all three formats, an empty
# compilation cache) on a 2-core x86-64 Linux machine shared with other work, measured
# once each at the chaosgrad commit that added this table; `chaosgrad list` shows them.
# A study missing here was not measured: the list says so rather than guessing.
FAST_SECONDS: dict[str, float] = {
}
FAST_SECONDS_MEASURED = ("`chaosgrad analyze NAME --fast` once, an empty compilation cache, 2 shared CPU "
                         "cores; expect more on a busy machine")


def register(name: str, module: str) -> None:
    _MODULES[name] = module


def names() -> list[str]:
    return sorted(_MODULES)


def title(name: str) -> str:
    return get(name).title


def get(name: str) -> StudySpec:
    if name not in _MODULES:
        raise KeyError(name)
    return importlib.import_module(_MODULES[name]).SPEC
