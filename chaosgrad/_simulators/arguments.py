"""Checks of the constructor arguments the simulator classes share (``dt``, ``dtype``,
``tangent``), raising :class:`~chaosgrad.ChaosgradInputError` by name."""

from __future__ import annotations

from chaosgrad._errors import bad_argument


def _check_dtype(dtype) -> str:
    from chaosgrad._checks import check_dtype  # _checks imports _simulators.base, which imports this module

    return check_dtype("dtype", dtype)


def _check_dt(dt) -> float:
    from chaosgrad._checks import check_time  # _checks imports _simulators.base, which imports this module

    return float(check_time("dt", dt, allow_zero=False, example="0.01"))


def _check_tangent_arg(tangent) -> None:
    if tangent is not None and not callable(tangent):
        raise bad_argument(
            "tangent",
            f"{tangent!r} is not callable",
            "pass a function from the state to the leaves that carry dynamics, e.g. lambda s: (s.theta, s.theta_dot)",
        )
