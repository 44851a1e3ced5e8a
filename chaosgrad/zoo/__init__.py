"""The bundled systems: flows, maps, recurrent and deep networks, control tasks.

Each factory returns a :class:`System` (simulator, default state and parameters,
equations, literature values with their source). ``SYSTEMS`` maps every registry name
to its factory; ``get(name, **overrides)`` builds one.

Parts: ``_system`` (the :class:`System` record and the numerics check); ``_build``
(parameters, default states on the attractor, a flow's assembly); the flows
``_attractors`` (Lorenz-63, Rössler, Lorenz-96), ``_double_pendulum``, ``_oscillators``
(damped, van der Pol) and ``_ks`` (Kuramoto–Sivashinsky), stepped where diffrax does not
suffice by ``_integrators``; the maps ``_maps``; the networks ``_recurrent`` (tanh, GRU,
LSTM) and ``_deep_network`` with ``_deep_diagnostics``, sharing ``_learning_build``; the
control tasks ``_mechanical_tasks`` (pendulum, cart-pole, acrobot) and ``_bouncing_ball``,
closed by ``_closed_loop`` with the policy, rewards and return of ``_rl``; the registries
``_physical_registry`` and ``_learning_registry``.
"""

from __future__ import annotations

from chaosgrad._errors import bad_argument
from chaosgrad._runtime.precision import float64_scope
from chaosgrad.zoo._attractors import lorenz63, lorenz96, rossler
from chaosgrad.zoo._bouncing_ball import bouncing_ball
from chaosgrad.zoo._deep_diagnostics import (
    dead_relu_fraction,
    jacobian_singular_values,
    layer_jacobian_norms,
    saturation_fraction,
)
from chaosgrad.zoo._deep_network import deep_network
from chaosgrad.zoo._double_pendulum import ImplicitMidpoint, double_pendulum, double_pendulum_energy
from chaosgrad.zoo._ks import (
    ETDRK4,
    KuramotoSivashinskyModel,
    etdrk4_coefficients,
    kuramoto_sivashinsky,
    kuramoto_sivashinsky_36,
)
from chaosgrad.zoo._learning_registry import LEARNING_SYSTEMS
from chaosgrad.zoo._maps import henon, logistic
from chaosgrad.zoo._mechanical_tasks import acrobot, cartpole, pendulum, pendulum_energy
from chaosgrad.zoo._oscillators import damped_oscillator, van_der_pol
from chaosgrad.zoo._physical_registry import PHYSICAL_SYSTEMS
from chaosgrad.zoo._recurrent import gru_rnn, lstm_rnn, tanh_rnn
from chaosgrad.zoo._rl import (
    ENV_REWARDS,
    acrobot_reward,
    bouncing_ball_reward,
    cartpole_reward,
    mlp_policy,
    pendulum_reward,
    policy_params,
    rollout_return,
)
from chaosgrad.zoo._system import System

# The factories and the analysis helpers build and measure in float64, inside the scope
# of chaosgrad._runtime.precision; the caller's JAX configuration is left as it is. Functions meant
# to run inside a user's step (vector fields, policies, rewards) are not wrapped: they
# follow the dtype of the arrays they are given.
PHYSICAL_SYSTEMS = {name: float64_scope(f) for name, f in PHYSICAL_SYSTEMS.items()}
LEARNING_SYSTEMS = {name: float64_scope(f) for name, f in LEARNING_SYSTEMS.items()}
SYSTEMS = {**PHYSICAL_SYSTEMS, **LEARNING_SYSTEMS}
for _name, _factory in SYSTEMS.items():
    globals()[_factory.__name__] = _factory
(dead_relu_fraction, jacobian_singular_values, layer_jacobian_norms, saturation_fraction, policy_params) = (
    float64_scope(f)
    for f in (dead_relu_fraction, jacobian_singular_values, layer_jacobian_norms, saturation_fraction, policy_params)
)


@float64_scope
def get(name: str, **overrides) -> System:
    """Build the bundled system ``name`` with parameter or numerics ``overrides``."""
    if name not in SYSTEMS:
        raise bad_argument("name", f"{name!r} is not a bundled system", f"use one of {sorted(SYSTEMS)}")
    return SYSTEMS[name](**overrides)


__all__ = [
    "ENV_REWARDS",
    "ETDRK4",
    "ImplicitMidpoint",
    "KuramotoSivashinskyModel",
    "LEARNING_SYSTEMS",
    "PHYSICAL_SYSTEMS",
    "etdrk4_coefficients",
    "SYSTEMS",
    "acrobot_reward",
    "bouncing_ball_reward",
    "cartpole_reward",
    "dead_relu_fraction",
    "jacobian_singular_values",
    "layer_jacobian_norms",
    "mlp_policy",
    "pendulum_energy",
    "pendulum_reward",
    "policy_params",
    "rollout_return",
    "saturation_fraction",
    "System",
    "acrobot",
    "bouncing_ball",
    "cartpole",
    "damped_oscillator",
    "deep_network",
    "double_pendulum",
    "double_pendulum_energy",
    "get",
    "gru_rnn",
    "henon",
    "kuramoto_sivashinsky",
    "kuramoto_sivashinsky_36",
    "logistic",
    "lorenz63",
    "lorenz96",
    "lstm_rnn",
    "pendulum",
    "rossler",
    "tanh_rnn",
    "van_der_pol",
]
