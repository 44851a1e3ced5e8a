"""The options of :func:`chaosgrad.lyapunov_spectrum`, checked and normalised before anything runs.

Times become whole numbers of steps and of renormalisation intervals (``m`` steps each);
the measuring time is a fixed number of intervals or a strategy
(:mod:`chaosgrad._spectra.strategies`); the ensemble's axes and size, the tangent space's
dimension ``n`` and the number of exponents ``k`` are read from the inputs. Every check
raises :class:`~chaosgrad.ChaosgradInputError` naming the argument, in the order of
:func:`check_options` then :func:`check_inputs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from chaosgrad._checks import (
    as_count,
    check_callable,
    check_count,
    check_finite_input,
    check_flag,
    check_seed,
    check_state,
    check_step_shapes,
    leading_size,
)
from chaosgrad._errors import bad_argument
from chaosgrad._simulators.probe import check_closed_tangent
from chaosgrad._spectra.chunks import MAX_INTERVALS
from chaosgrad._spectra.strategies import UntilConverged, Within


def default_interval_steps(dt: float) -> int:
    """Steps per renormalisation interval by default: one for a map or rollout counted in
    steps (``dt >= 1``), else ten."""
    return 1 if dt >= 1 else 10


def interval_steps(dt: float, interval: float | None) -> int:
    """Steps per renormalisation interval: ``interval`` as a whole number of steps, or
    :func:`default_interval_steps` when it is ``None``."""
    return default_interval_steps(dt) if interval is None else as_count("interval", interval, dt, allow_zero=False)


def check_interval_count(name: str, n_int: int) -> None:
    """Every interval's logs come back to the host (k floats each): at most ``MAX_INTERVALS``."""
    if n_int > MAX_INTERVALS:
        raise bad_argument(
            name,
            f"asks for {n_int} renormalisation intervals, more than {MAX_INTERVALS}",
            "pass a shorter time, a longer interval, or time=UntilConverged()",
        )


def fixed_time_intervals(name: str, time, dt: float, m: int) -> int:
    """A fixed measuring ``time`` as a number of intervals of ``m`` steps, checked."""
    n_int = as_count(name, time, dt * m, allow_zero=False, unit="one renormalisation interval ({dt:g})")
    check_interval_count(name, n_int)
    return n_int


def check_k(k, n: int) -> int:
    """The number of leading exponents or vectors: ``n`` (all) for ``None``, else an int in ``[1, n]``."""
    k = n if k is None else k
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise bad_argument("k", f"{k!r} is not between 1 and the state dimension {n}", f"pass 1 <= k <= {n}")
    return int(k)


@dataclass(frozen=True)
class SpectrumOptions:
    """The checked options of one call. Exactly one of ``strategy`` (until converged) and
    ``n_int`` (a fixed number of intervals) is set; ``deadline`` is a :class:`Within`'s
    (a fixed time that may stop early); ``argument`` names the measuring time's argument."""

    transient_steps: int
    m: int
    strategy: UntilConverged | None
    n_int: int | None
    deadline: float | None
    argument: str
    seed: int
    shard: bool
    n_batches: int
    unroll: int
    progress: Any

    @property
    def fixed_intervals(self) -> int:
        """``n_int``, of a fixed time (``strategy`` is ``None``)."""
        assert self.n_int is not None, "a run until converged has no fixed number of intervals"
        return self.n_int

    @property
    def transient_intervals(self) -> int:
        """The transient in whole intervals (rounded up)."""
        return -(-self.transient_steps // self.m)


def _measuring(time, n_intervals, dt: float, m: int) -> tuple[UntilConverged | None, int | None, float | None]:
    """``(strategy, n_int, deadline)`` of ``time`` or ``n_intervals`` (exactly one given)."""
    if (time is None) == (n_intervals is None):
        raise bad_argument("time", "give exactly one of `time` and `n_intervals`", "pass e.g. time=1000.0")
    deadline = time.deadline if isinstance(time, Within) else None
    if isinstance(time, Within):
        time = time.time
    if isinstance(time, UntilConverged):
        return time, None, deadline
    if time is not None:
        return None, fixed_time_intervals("time", time, dt, m), deadline
    if not isinstance(n_intervals, (int, np.integer)) or n_intervals < 1:
        raise bad_argument("n_intervals", f"{n_intervals!r} is not a positive int", "pass e.g. 1000")
    check_interval_count("n_intervals", int(n_intervals))
    return None, int(n_intervals), deadline


def check_options(
    simulator, transient, interval, time, n_intervals, seed, shard, n_batches, unroll, progress
) -> SpectrumOptions:
    """The options of :func:`chaosgrad.lyapunov_spectrum` that do not depend on the state."""
    dt = simulator.dt
    transient_steps = as_count("transient", transient, dt, allow_zero=True)
    m = interval_steps(dt, interval)
    strategy, n_int, deadline = _measuring(time, n_intervals, dt, m)
    seed = check_seed(seed)
    shard = check_flag("shard", shard)
    n_batches = check_count("n_batches", n_batches, minimum=2, example=20)  # batch means need two batches
    unroll = check_count("unroll", unroll, example=1)
    if progress is not False:
        check_callable("progress", progress, signature="progress(label, done, total), or False")
    argument = "time" if time is not None else "n_intervals"
    return SpectrumOptions(
        transient_steps, m, strategy, n_int, deadline, argument, seed, shard, n_batches, unroll, progress
    )


@dataclass(frozen=True)
class SpectrumInputs:
    """The checked state and parameters: ``members`` is the ensemble's size (``None`` for
    one trajectory), ``axes`` its ``(axis_of_y0, axis_of_args)``; ``n`` the tangent space's
    dimension, ``k`` the exponents measured, ``dtype`` the tangent frame's."""

    y0: Any
    args: Any
    axes: tuple
    members: int | None
    n: int
    k: int
    dtype: Any


def _check_axes(ensemble_axes) -> tuple:
    """``ensemble_axes`` as a pair ``(axis_of_y0, axis_of_args)``; ``(None, None)`` for none."""
    axes = (None, None) if ensemble_axes is None else ensemble_axes
    ok = isinstance(axes, (tuple, list)) and len(axes) == 2
    if ok and ensemble_axes is not None:
        y_axis, a_axis = axes
        ok = not (y_axis not in (0, None) or a_axis not in (0, None) or (y_axis is None and a_axis is None))
    if not ok:
        raise bad_argument(
            "ensemble_axes",
            f"{ensemble_axes!r} is not a pair of 0/None with at least one 0",
            "pass (0, None) for many initial states, (None, 0) for many parameter sets",
        )
    y_axis, a_axis = axes
    return y_axis, a_axis


def _members(y0, args, axes) -> int | None:
    """The ensemble's size: the leading axis of ``y0`` and/or ``args``, equal where both."""
    y_axis, a_axis = axes
    members = None
    if y_axis == 0:
        members = leading_size(y0, "y0")
    if a_axis == 0:
        m_args = leading_size(args, "args")
        if members is not None and m_args != members:
            raise bad_argument("args", f"has {m_args} members but y0 has {members}", "use equal ensemble sizes")
        members = m_args
    return members


def check_inputs(simulator, y0, args, ensemble_axes, k) -> SpectrumInputs:
    """The state, parameters, ensemble and ``k`` of :func:`chaosgrad.lyapunov_spectrum`; one
    member's step is checked for shapes and a closed tangent space."""
    axes = _check_axes(ensemble_axes)
    y0 = check_state("y0", y0, prepare=simulator.prepare)
    check_finite_input("args", args)
    members = _members(y0, args, axes)
    one_y = jax.tree_util.tree_map(lambda x: x[0], y0) if axes[0] == 0 else y0
    one_a = jax.tree_util.tree_map(lambda x: x[0], args) if axes[1] == 0 else args
    check_step_shapes(simulator, one_y, one_a)
    check_closed_tangent(simulator, one_y, one_a)
    flat = simulator.tangent_space(one_y)[0]
    n = flat.dim
    if n == 0:
        raise bad_argument("y0", "has no floating-point leaves", "pass a state with float arrays")
    return SpectrumInputs(y0, args, axes, members, n, check_k(k, n), flat.dtype)
