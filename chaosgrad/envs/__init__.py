"""Adapters for the environments users have: gymnax and Brax, closed with a policy.

Each adapter returns an :class:`EnvironmentSimulator` whose state is a
:class:`RolloutState` (the environment's state, the return so far, the discount weight,
the key), whose ``args`` are the policy's parameters, and whose return is the built-in
loss :class:`~chaosgrad.ReturnLoss`::

    import gymnax, chaosgrad as cg
    env, env_params = gymnax.make("Pendulum-v1")
    sim = cg.envs.gymnax(env, env_params, policy, tangent=lambda s: (s.theta, s.theta_dot))
    d = cg.diagnose(sim, sim.initial_state(0), params, loss=cg.ReturnLoss(), wrt="args")

Neither gymnax nor Brax is imported here: the adapters work on the objects the user
passes (``pip install chaosgrad[envs]`` installs both).

Parts: ``_rollout`` (the simulator and its state), ``_gymnax`` and ``_brax`` (the
adapters), ``_options`` (the rules and the precision probe they share).
"""

from chaosgrad.envs._brax import brax, coordinates
from chaosgrad.envs._gymnax import gymnax
from chaosgrad.envs._rollout import EnvironmentSimulator, RolloutState

__all__ = ["EnvironmentSimulator", "RolloutState", "brax", "coordinates", "gymnax"]
