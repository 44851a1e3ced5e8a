"""``StepSizeMapSimulator``: a user's step with its own step size, as a refinable map.

A step written by others carries its step size inside it: a velocity-Verlet step of a
molecular-dynamics library, a backward-Euler step of a neuron simulator, a splitting step
of a spectral solver. Wrapped as ``MapSimulator(step, dt=h)`` its float64 twin is the
same step at the same ``h``, so the discretisation cause cannot be tested. Given instead
as a *step factory* ``h -> step``, the step can be rebuilt at any step size: the
simulator carries :class:`~chaosgrad.Refinable`, its reference halves the step until the
leading exponents stop moving, and the discretisation ablation runs the refined step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from chaosgrad._errors import bad_argument
from chaosgrad._simulators.arguments import _check_dt, _check_dtype, _check_tangent_arg
from chaosgrad._simulators.base import AbstractSimulator, replace_fields
from chaosgrad._simulators.capabilities import Refinable


class StepSizeMapSimulator(AbstractSimulator, Refinable):
    """A map ``y_{n+1} = step_factory(dt)(y_n, args)`` whose step size can be refined.

    Build it with :meth:`chaosgrad.MapSimulator.from_step_size`.

    Rules for the factory:

    1. ``step_factory(h)`` returns ``step(y, args) -> y``: one step of size ``h`` of a
       consistent discretisation of continuous-time physics (as ``h -> 0`` the steps
       converge to the flow), so halving ``h`` is a meaningful refinement.
    2. ``h`` is a JAX scalar, traced under ``jit`` (every step size of one factory shares
       one compiled program): use it in arithmetic, not in Python control flow. It is in
       the state's dtype (float32 for 16-bit states, which are rounded back after each
       step, as for ``ODESimulator``).
    3. The step is the same function of ``y`` and ``args`` at every ``h``: the state
       pytree does not change with the step size (capability rule 3 of ``Refinable``).

    Its reference (``accurate_twin``) is the same factory in float64 at the same step:
    no more accurate method of a user's step is known, so the reference is its step
    refined (halved until the leading exponents stop moving, ``_spectra.reference``).
    """

    step_factory: Callable
    # A value, not a static field: the step only enters the arithmetic, so the reference's
    # halvings and the step ablation share one compiled program (as ODESimulator's dt).
    dt: float
    dtype: str = eqx.field(static=True)
    tangent: Callable | None = eqx.field(static=True)
    step_function_name: ClassVar[str] = "step_factory"

    def __init__(self, step_factory: Callable, *, dt: float, dtype="float64", tangent: Callable | None = None):
        self.step_factory = step_factory
        # np.float64 is a Python float (host arithmetic, formatting) and an array to
        # equinox (traced under filter_jit).
        self.dt = np.float64(_check_dt(dt))
        self.dtype = _check_dtype(dtype)
        self.tangent = tangent

    def __check_init__(self):
        if not callable(self.step_factory):
            raise bad_argument(
                "step_factory",
                f"{self.step_factory!r} is not callable",
                "pass a function h -> step, where step(y, args) -> y takes one step of size h",
            )
        _check_tangent_arg(self.tangent)

    def _h(self):
        """The step size in the state's dtype (float32 for 16-bit states, rule 2)."""
        work = "float32" if jnp.dtype(self.dtype).itemsize < 4 else self.dtype
        return jnp.asarray(self.dt, work)

    def step(self, t, y, args):
        del t
        return self.prepare(self.step_factory(self._h())(y, args))

    def with_dtype(self, dtype):
        return replace_fields(self, dtype=dtype)

    def with_step(self, dt):
        """Capability rule 1 of :class:`~chaosgrad.Refinable`."""
        return replace_fields(self, dt=dt)

    def accurate_twin(self):
        """Capability rule 2 of :class:`~chaosgrad.Refinable`: the same factory in
        float64 at the same step (refined by halving)."""
        return replace_fields(self, dtype="float64")

    def describe(self) -> dict:
        name = getattr(self.step_factory, "__name__", type(self.step_factory).__name__)
        return {**super().describe(), "solver": f"the step of {name}"}
