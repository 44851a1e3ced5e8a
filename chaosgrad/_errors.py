"""Errors raised for caller mistakes (never for a simulation that blows up)."""

from __future__ import annotations


class ChaosgradInputError(ValueError):
    """A caller passed an argument chaosgrad cannot use.

    The message always names the argument and says how to fix it.
    """


def bad_argument(name: str, problem: str, fix: str) -> ChaosgradInputError:
    """Build the standard message: ``argument `name`: problem. Fix: fix.``"""
    return ChaosgradInputError(f"argument `{name}`: {problem}. Fix: {fix}.")
