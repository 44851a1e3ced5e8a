"""Registry of the bundled learning systems: recurrent and deep networks, control tasks.

``LEARNING_SYSTEMS[name](**options)`` builds the :class:`System`; called without options
it gives the documented defaults, and ``System.name`` equals the registry key.
"""

from __future__ import annotations

from collections.abc import Callable

from chaosgrad.zoo._bouncing_ball import bouncing_ball
from chaosgrad.zoo._deep_network import deep_network
from chaosgrad.zoo._mechanical_tasks import acrobot, cartpole, pendulum
from chaosgrad.zoo._recurrent import gru_rnn, lstm_rnn, tanh_rnn
from chaosgrad.zoo._system import System

LEARNING_SYSTEMS: dict[str, Callable[..., System]] = {
    "tanh_rnn": tanh_rnn,
    "gru": gru_rnn,
    "lstm": lstm_rnn,
    "deep_network": deep_network,
    "pendulum": pendulum,
    "cartpole": cartpole,
    "acrobot": acrobot,
    "bouncing_ball": bouncing_ball,
}
