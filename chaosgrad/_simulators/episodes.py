"""Measuring within the user's episode.

A simulator that carries :class:`~chaosgrad._simulators.capabilities.Episodic` (an environment whose
episode ends at a time limit) is measured only inside the episode that its start state is
in: a rollout past the end is frozen (rule 3 of ``Episodic``) and would measure nothing
(exponents of a frozen or clipped state, a flat gradient). The semantics, in one place:

- the caller's horizons, transient, measuring time and member spacing are refused,
  before anything runs, when together they reach past the episode's end; the error names
  the argument, the episode's length and the steps left from ``y0``, and the fix;
- the defaults that chaosgrad chooses itself stay inside the episode: no transient, a
  :class:`~chaosgrad.UntilConverged` measuring time whose budget ends at the episode's
  end (its ``convergence`` says so), and default horizons that end there (with a note).

A termination before the time limit cannot be known before the run: the rollout stops
there (identity step), which the results show as a zero exponent and a flat gradient.
"""

from __future__ import annotations

import math

import numpy as np

from chaosgrad._errors import bad_argument
from chaosgrad._simulators.capabilities import steps_left

__all__ = ["check_reach", "episode_horizons", "steps_left"]


def _episode_words(simulator, left: int) -> str:
    name = getattr(simulator, "name", type(simulator).__name__)
    return f"{name}'s episode ends after {simulator.episode_steps} steps ({left} left from y0)"


def check_reach(simulator, y0, steps: int, argument: str, what: str, fix: str) -> None:
    """Refuse ``argument`` when the measurement it sets reaches ``steps`` steps from ``y0``,
    past the end of ``y0``'s episode; ``what`` says what reaches there, ``fix`` what to
    pass instead. Nothing for simulators without a time limit."""
    left = steps_left(simulator, y0)
    if left is None or steps <= left:
        return
    raise bad_argument(
        argument, f"{what} reaches step {steps}, past the end of the episode: {_episode_words(simulator, left)}", fix
    )


def check_horizons_in_episode(simulator, y0, horizon_steps: int, transient_steps: int = 0) -> None:
    """The longest horizon (after ``transient_steps``) within ``y0``'s episode."""
    left = steps_left(simulator, y0)
    if left is None:
        return
    dt = simulator.dt
    check_reach(
        simulator,
        y0,
        horizon_steps,
        "horizons",
        f"the longest horizon ({horizon_steps} steps)",
        f"pass horizons of at most {left * dt:g} (the episode's remaining steps times dt = {dt:g})",
    )
    check_reach(
        simulator,
        y0,
        transient_steps + horizon_steps,
        "transient",
        f"the longest horizon ({horizon_steps} steps) after the transient ({transient_steps} steps)",
        f"pass transient=0.0, or at most {max(0, left - horizon_steps) * dt:g} with these horizons",
    )


def episode_horizons(simulator, y0, horizons) -> tuple[np.ndarray, str | None]:
    """Default horizons that end within ``y0``'s episode: the same log-spaced grid, moved
    to end at the episode's end when it went past; with a note saying so."""
    left = steps_left(simulator, y0)
    horizons = np.asarray(horizons, dtype=float)
    if left is None or horizons[-1] <= left * simulator.dt:
        return horizons, None
    end = left * simulator.dt  # at least 3 steps (check_diagnosis_in_episode)
    ratio = horizons[0] / horizons[-1]
    return (
        np.geomspace(max(ratio * end, 3 * simulator.dt), end, horizons.size),
        f"the default horizons end at the episode's end, T = {end:g} ({left} steps)",
    )


def check_members_in_episode(simulator, y0, *, gaps, horizon_steps: int, transient_steps: int, at_most) -> None:
    """Members sampled along the trajectory from ``y0`` (after ``transient_steps``,
    cumulative ``gaps`` in steps) each run the longest horizon: all within the episode.
    ``at_most(n)`` gives the gaps of ``n`` members, to say how many would fit."""
    left = steps_left(simulator, y0)
    if left is None:
        return
    reach = transient_steps + int(np.sum(gaps)) + horizon_steps
    if reach <= left:
        return
    fits = [n for n in range(len(gaps) - 1, 0, -1) if transient_steps + int(np.sum(at_most(n))) + horizon_steps <= left]
    check_reach(
        simulator,
        y0,
        reach,
        "members",
        f"the last of {len(gaps)} members, sampled along the trajectory one to two spacings apart, "
        f"starts {transient_steps + int(np.sum(gaps))} steps after y0 and its longest horizon",
        "pass start states from the episode's reset distribution (ensemble=True with a batch of "
        "simulator.initial_state(seed), or members=GivenStates(batch) in diagnose)"
        + (f", at most {fits[0]} members" if fits else "")
        + ", or a smaller spacing",
    )


def check_spectrum_in_episode(
    simulator, y0, *, transient_steps: int, measured_steps: int | None, argument: str
) -> int | None:
    """A spectrum's transient (whole intervals, in steps) and fixed measuring time
    (``measured_steps``; ``None`` for :class:`~chaosgrad.UntilConverged`) within ``y0``'s
    episode. Returns the steps left for measuring (``None`` without a time limit)."""
    left = steps_left(simulator, y0)
    if left is None:
        return None
    dt = simulator.dt
    check_reach(
        simulator,
        y0,
        transient_steps + 1,
        "transient",
        f"the transient ({transient_steps} steps)",
        f"pass transient=0.0, or less than {left * dt:g}",
    )
    if measured_steps is not None:
        after = f" after the transient ({transient_steps} steps)" if transient_steps else ""
        check_reach(
            simulator,
            y0,
            transient_steps + measured_steps,
            argument,
            f"the measuring time ({measured_steps} steps){after}",
            f"pass {argument} of at most {(left - transient_steps) * dt:g} after this transient, "
            "or time=UntilConverged() (its budget then ends at the episode's end)",
        )
    return left - transient_steps


def check_diagnosis_in_episode(simulator, y0, *, plan, transient, lyapunov_time, source, seed: int) -> None:
    """``diagnose``'s caller-given horizons, transient, measuring time and members within
    ``y0``'s episode (its defaults are chosen inside it), before anything runs."""
    from chaosgrad._gradients.members import member_gaps
    from chaosgrad._spectra.options import default_interval_steps

    left = steps_left(simulator, y0)
    if left is None:
        return
    dt = simulator.dt
    interval_steps = default_interval_steps(dt)
    horizon_steps = int(plan.blocks[-1] * plan.b) if plan is not None else None
    if horizon_steps is not None:
        check_horizons_in_episode(simulator, y0, horizon_steps)
    elif left < 3:
        raise bad_argument(
            "y0",
            f"has {left} steps left in its episode, too few for a growth rate: {_episode_words(simulator, left)}",
            "start from an earlier state, e.g. simulator.initial_state(seed)",
        )

    def gaps(n, spacing):
        # Members along the reference are whole renormalisation intervals apart.
        return -(-member_gaps(n, spacing, seed) // interval_steps) * interval_steps

    tr = 0 if transient is None else -(-int(round(transient / dt)) // interval_steps) * interval_steps
    fixed = isinstance(lyapunov_time, (int, float)) and not isinstance(lyapunov_time, bool)
    measured = None
    if fixed:
        measured = int(math.ceil(round(lyapunov_time / dt, 9) / interval_steps)) * interval_steps
    check_spectrum_in_episode(simulator, y0, transient_steps=tr, measured_steps=measured, argument="lyapunov_time")
    if getattr(source, "ergodic", False):
        if horizon_steps is None:
            raise bad_argument(
                "members",
                f"{source.describe()} are spaced by the longest horizon, which is not known before the "
                f"spectra when horizons are not given: {_episode_words(simulator, left)}",
                "pass horizons= with these members, or members=<int> (the user's start and perturbations of it)",
            )
        n = source.count
        check_members_in_episode(
            simulator,
            y0,
            gaps=gaps(n, horizon_steps),
            horizon_steps=horizon_steps,
            transient_steps=tr,
            at_most=lambda k: gaps(k, horizon_steps),
        )
    states = getattr(source, "states", None)
    if states is not None and horizon_steps is not None:
        given = simulator.prepare(states)
        given_left = steps_left(simulator, given)
        if given_left is not None and horizon_steps > given_left:
            raise bad_argument(
                "members",
                f"the longest horizon ({horizon_steps} steps) reaches past the episode of a "
                f"given start state ({given_left} steps left)",
                f"pass start states earlier in their episodes, or horizons of at most {given_left * dt:g}",
            )
