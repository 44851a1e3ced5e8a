"""Registry of the bundled analyses: one study per system.

Each study module registers a :class:`StudySpec` whose ``run(fast=..., progress=...)``
returns a :class:`chaosgrad.Study`. ``chaosgrad analyze NAME`` and the scripts under
``systems/`` run them. A new study is one module here and one line in :data:`_MODULES`.

A study's own helper modules carry its name after an underscore: ``_contact_ball`` and
``_contact_brax`` (contact), ``_deep_layers`` and ``_deep_sweeps`` (deep_network),
``_rl_acrobot``, ``_rl_contact`` and ``_rl_helpers`` (rl); ``_euler`` serves oscillators
and ``_common`` every study.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from chaosgrad._results.study import Study


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
    "contact": "chaosgrad.studies.contact",
}


# Wall-clock seconds of `chaosgrad analyze NAME --fast -q` (html, pdf and json; each study
# with its own empty compilation cache, XDG_CACHE_HOME set to a new folder), measured once
# each, one after another, at commit dba8b90 on a 2-core x86-64 Linux machine shared with
# other work (load average 3-5). An earlier pass of the same commands on the same machine,
# under heavier load and sharing one cache, took from about half to six times these
# (deep_network 81 s, brax_inverted_pendulum 121 s, rl 73 s). `chaosgrad list` shows them;
# a study missing here was not measured, and the list says so rather than guessing.
FAST_SECONDS: dict[str, float] = {
    "attention": 9.3,
    "batch_norm": 36.4,
    "brax_inverted_pendulum": 102.0,
    "curvature": 14.2,
    "deep_network": 13.5,
    "double_pendulum": 21.0,
    "gymnax_pendulum": 11.6,
    "kuramoto_sivashinsky": 61.2,
    "lorenz63": 14.5,
    "lorenz96": 32.9,
    "maps": 6.7,
    "mixed_precision": 11.1,
    "oscillators": 13.5,
    "rl": 53.0,
    "rnn": 20.9,
    "rossler": 11.4,
    "shadowing": 27.1,
    "training": 21.3,
}
FAST_SECONDS_MEASURED = (
    "`chaosgrad analyze NAME --fast` measured once on 2 shared CPU cores with an empty "
    "compilation cache (chaosgrad.studies.FAST_SECONDS); expect more on a busy machine"
)


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
