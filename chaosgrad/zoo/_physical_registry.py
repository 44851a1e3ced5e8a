"""Registry of the bundled physical systems: name -> factory returning a ``System``.

Every factory takes keyword overrides for its parameters and numerics and returns a
:class:`~chaosgrad.zoo._system.System` whose ``name`` is its key here.
"""

from __future__ import annotations

from collections.abc import Callable

from chaosgrad.zoo._attractors import lorenz63, lorenz96, rossler
from chaosgrad.zoo._double_pendulum import double_pendulum
from chaosgrad.zoo._ks import kuramoto_sivashinsky, kuramoto_sivashinsky_36
from chaosgrad.zoo._maps import henon, logistic
from chaosgrad.zoo._oscillators import damped_oscillator, van_der_pol
from chaosgrad.zoo._system import System

PHYSICAL_SYSTEMS: dict[str, Callable[..., System]] = {
    "lorenz63": lorenz63,
    "rossler": rossler,
    "lorenz96": lorenz96,
    "double_pendulum": double_pendulum,
    "kuramoto_sivashinsky": kuramoto_sivashinsky,
    "kuramoto_sivashinsky_36": kuramoto_sivashinsky_36,
    "damped_oscillator": damped_oscillator,
    "van_der_pol": van_der_pol,
    "logistic": logistic,
    "henon": henon,
}
