"""What the learning systems share: the argument rules for counts, reals and choices, and
the divergence ``ln|det D step|`` of a map, computed by forward-mode AD."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from chaosgrad import _checks
from chaosgrad._errors import bad_argument
from chaosgrad._pytree import FlatState

# ---------------------------------------------------------------------------- checks


def check_int(name: str, value, minimum: int = 1) -> int:
    """The package's one rule for counts (``_checks.check_count``)."""
    return _checks.check_count(name, value, minimum=minimum, example=max(minimum, 1))


def check_real(name: str, value, *, positive: bool = False) -> float:
    """The package's one rule for reals (``_checks.check_real``)."""
    return _checks.check_real(name, value, positive=positive)


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise bad_argument(name, f"{value!r} is not one of {tuple(choices)}", f"pass one of {tuple(choices)}")
    return value


def log_abs_det_divergence(step):
    """``div(y, args) = ln|det D_y step(y, args)|`` by forward-mode AD on the float leaves.

    For a map, the sum of all Lyapunov exponents is the time average of this quantity.
    """

    def divergence(y, args):
        flat, u, rest = FlatState.from_template(y)
        J = jax.jacfwd(lambda v: flat.split(step(flat.combine(v, rest), args))[0])(u)
        return jnp.linalg.slogdet(J)[1]

    return divergence
