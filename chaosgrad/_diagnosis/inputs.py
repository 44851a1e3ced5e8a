"""The inputs of a diagnosis, every one checked before anything is computed.

:func:`check_diagnosis` takes ``diagnose``'s arguments as the caller gave them and
returns :class:`DiagnosisInputs`: the prepared simulator and state, the selected
parameter, the loss, the member strategy, the horizon plan (``None``: decided by the
spectra), the options of the spectra and the transient. A wrong argument raises
:class:`~chaosgrad.ChaosgradInputError` naming it and the fix, before anything runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from chaosgrad._checks import (
    check_callable,
    check_count,
    check_mapping,
    check_step_shapes,
    check_strategy,
    check_text,
    check_time,
)
from chaosgrad._diagnosis.causes import AbstractCause
from chaosgrad._diagnosis.testing import ablation_name
from chaosgrad._errors import bad_argument
from chaosgrad._gradients.horizons import HorizonPlan, plan_horizons
from chaosgrad._gradients.losses import as_loss, check_scalar_loss
from chaosgrad._gradients.members import as_members
from chaosgrad._gradients.options import checked_inputs
from chaosgrad._gradients.wrt import Wrt, resolve_wrt
from chaosgrad._simulators.episodes import check_diagnosis_in_episode, steps_left
from chaosgrad._simulators.probe import check_closed_tangent
from chaosgrad._spectra.lyapunov import warn_spectrum_cost
from chaosgrad._spectra.options import default_interval_steps, fixed_time_intervals
from chaosgrad._spectra.reference import check_reference
from chaosgrad._spectra.settings import SpectraSettings
from chaosgrad._spectra.strategies import UntilConverged

LOG2 = math.log(2.0)
# Default horizons: the longest is where the expected rate changes the gradient by e^25
# (~1e11): long enough to fit a rate, short enough not to overflow float64; within
# [50, 20000] steps.
E_FOLDINGS = 25.0
MIN_DEFAULT_STEPS, MAX_DEFAULT_STEPS = 50, 20000


@dataclass(frozen=True)
class DiagnosisInputs:
    """``diagnose``'s arguments, checked and prepared."""

    simulator: Any
    y0: Any
    args: Any
    wrt: Any  # as the caller wrote it (ablations resolve it again in their own args)
    sel: Wrt
    loss: Any
    reference: Any
    causes: tuple
    plan: HorizonPlan | None
    n: int  # the state's tangent dimension
    source: Any  # the member strategy (``_gradients.members``)
    seed: int
    lyap: SpectraSettings  # the spectra's options
    transient: float
    lyapunov_time: Any
    literature: dict | None
    shadowing: Any
    config: dict | None
    report: Callable


def check_causes(causes) -> tuple[AbstractCause, ...]:
    try:
        causes = tuple(causes)
    except TypeError:
        raise bad_argument(
            "causes", f"{causes!r} is not a sequence of causes", "pass e.g. chaosgrad.DEFAULT_CAUSES"
        ) from None
    for c in causes:
        if isinstance(c, type) and issubclass(c, AbstractCause):
            raise bad_argument("causes", f"{c.__name__} is a class, not an instance", f"pass {c.__name__}()")
        if not isinstance(c, AbstractCause):
            raise bad_argument("causes", f"{c!r} is not a chaosgrad cause", "subclass chaosgrad.AbstractCause")
    # One cause may be tested by several ablations; each ablation needs its own name.
    names = [ablation_name(c) for c in causes]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise bad_argument(
            "causes", f"ablation names {dup} appear more than once", "give every ablation a distinct ablation_name"
        )
    return causes


# The default wall-clock budget of a diagnosis's spectra together (``_spectra.budget``):
# they converge within seconds on every bundled system on 2 cores, so it binds only where
# lambda_1 fluctuates slowly on a costly step (a 1,024-dimensional field), which then gets
# the interval this time buys instead of minutes of waiting; the notes say when it binds.
SPECTRA_SECONDS = 30.0


def _lyapunov_options(simulator, n, lyapunov_time, k, t_max_hint, seed) -> SpectraSettings:
    dt = simulator.dt
    if lyapunov_time is None:
        # An error of a tenth of ln 2 over the longest horizon changes the predicted
        # gradient there by under 7%; without horizons, the longest default one.
        atol = 0.1 * LOG2 / t_max_hint
        time = UntilConverged(atol=atol, max_seconds=SPECTRA_SECONDS)
    else:
        time = lyapunov_time
    return SpectraSettings(
        k=min(n, 8) if k is None else k, interval=default_interval_steps(dt) * dt, time=time, seed=seed, transient=0.0
    )


def _numbers(values) -> bool:
    if isinstance(values, (str, bytes)):
        return False
    return all(
        isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
        for v in np.ravel(np.asarray(values, dtype=object))
    )


def check_literature(literature) -> None:
    """``literature``: ``None`` or a dict whose ``"exponents"`` (if given and not ``None``)
    are numbers and whose ``"source"`` (if given) is a string; other keys are notes."""
    if literature is None:
        return
    fix = 'pass {"exponents": [0.9056, 0.0, -14.5723], "source": "Sprott 2003"} or None'
    if not isinstance(literature, dict):
        raise bad_argument("literature", f"{literature!r} is not a dict", fix)
    values = literature.get("exponents")
    if values is not None and not _numbers(values):
        raise bad_argument("literature", f"exponents {values!r} are not a list of numbers", fix)
    if "source" in literature and not isinstance(literature["source"], str):
        raise bad_argument("literature", f"source {literature['source']!r} is not a string", fix)


def _check_options(*, config, name, k, progress, shadowing) -> None:
    """The options that stand alone: the run's record, its name, ``k``, progress, shadowing."""
    from chaosgrad._shadowing.methods import LSS, NILSS

    check_mapping("config", config, example="{'experiment': 'baseline'}")
    check_text("name", name)
    if k is not None:
        check_count("k", k, example=3)
    check_callable("progress", progress, signature="progress(label, done, total)")
    check_strategy("shadowing", shadowing, (NILSS, LSS), words=("auto", None), example="'auto', NILSS(), LSS() or None")


def check_lyapunov_time(lyapunov_time, dt: float) -> None:
    """``lyapunov_time``: ``None``, an ``UntilConverged`` or a positive time that is a whole
    number of the spectra's intervals."""
    if (
        lyapunov_time is not None
        and not isinstance(lyapunov_time, UntilConverged)
        and (not isinstance(lyapunov_time, (int, float)) or not 0 < lyapunov_time < math.inf)
    ):
        raise bad_argument(
            "lyapunov_time", f"{lyapunov_time!r} is not a positive time", "pass e.g. 100.0, or UntilConverged()"
        )
    if isinstance(lyapunov_time, (int, float)):
        fixed_time_intervals("lyapunov_time", lyapunov_time, dt, default_interval_steps(dt))


def _check_step(simulator, y0, args, loss) -> None:
    """One step and the loss, tried on the user's state: shapes, a closed tangent map, a scalar loss."""
    check_step_shapes(simulator, y0, args)
    check_closed_tangent(simulator, y0, args)
    check_scalar_loss(loss, y0)


def _spectra_options(simulator, y0, n, plan, *, lyapunov_time, k, transient, seed) -> tuple[SpectraSettings, float]:
    """The spectra's options and the transient, with the spectra's cost estimated (and
    warned about)."""
    t_hint = float(plan.times(simulator.dt)[-1]) if plan is not None else MAX_DEFAULT_STEPS * simulator.dt
    lyap = _lyapunov_options(simulator, n, lyapunov_time, k, t_hint, int(seed))
    if transient is None and steps_left(simulator, y0) is not None:
        transient = 0.0  # the user's episode from its start (``_simulators.episodes``)
    warn_spectrum_cost(simulator, n, lyap.kwargs(), caller=f"diagnose: each of its spectra (k={lyap.k})")
    if transient is None:
        transient = 0.1 * (lyapunov_time if isinstance(lyapunov_time, (int, float)) else 20000 * simulator.dt)
    return lyap, float(transient)


def check_diagnosis(
    simulator,
    y0,
    args,
    *,
    loss,
    horizons,
    wrt,
    reference,
    members,
    transient,
    lyapunov_time,
    k,
    causes,
    seed,
    literature,
    config,
    shadowing,
    progress,
    name,
) -> DiagnosisInputs:
    """Every argument of ``diagnose``, checked before anything is computed; the cost of
    its spectra is estimated (and warned about) here too."""
    _check_options(config=config, name=name, k=k, progress=progress, shadowing=shadowing)
    simulator, y0, args, seed = checked_inputs(simulator, y0, args, seed)
    sel = resolve_wrt(wrt, args)
    loss = as_loss(loss)
    if reference is not None:
        reference = check_reference(reference, y0, args)
    source = as_members(members, y0)
    check_time("transient", transient, allow_none=True, example="10.0")
    check_lyapunov_time(lyapunov_time, simulator.dt)
    check_literature(literature)
    causes = check_causes(causes)
    _check_step(simulator, y0, args, loss)
    plan = plan_horizons(horizons, simulator.dt) if horizons is not None else None
    check_diagnosis_in_episode(
        simulator, y0, plan=plan, transient=transient, lyapunov_time=lyapunov_time, source=source, seed=seed
    )
    n = simulator.tangent_space(y0)[0].dim
    if k is not None and (not isinstance(k, (int, np.integer)) or not 1 <= k <= n):
        raise bad_argument("k", f"{k!r} is not between 1 and the state dimension {n}", f"pass 1 <= k <= {n}")
    lyap, transient = _spectra_options(
        simulator, y0, n, plan, lyapunov_time=lyapunov_time, k=k, transient=transient, seed=seed
    )
    return DiagnosisInputs(
        simulator=simulator,
        y0=y0,
        args=args,
        wrt=wrt,
        sel=sel,
        loss=loss,
        reference=reference,
        causes=causes,
        plan=plan,
        n=n,
        source=source,
        seed=seed,
        lyap=lyap,
        transient=transient,
        lyapunov_time=lyapunov_time,
        literature=literature,
        shadowing=shadowing,
        config=config,
        report=progress or (lambda *a: None),
    )
