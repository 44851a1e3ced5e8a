"""The gradient sweep's compiled program: one program for every plan that fits its layout,
compiled before the plan is known, and the same gradients as reverse mode through evolve."""

import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import monitoring

import chaosgrad as cg
from chaosgrad._diagnosis.expectation import default_horizons
from chaosgrad._gradients.horizons import MAX_BLOCKS, plan_horizons
from chaosgrad._gradients.losses import LinearReadout, TimeAveragedLoss
from chaosgrad._gradients.sweep import sweep_horizons, sweep_layout
from chaosgrad._gradients.sweep_blocks import DEFAULT_CAPACITY, MIN_HORIZON_LANES, StoredSteps, WholeBlock
from chaosgrad._gradients.wrt import resolve_wrt


def lorenz(t, y, a):
    x, yy, z = y
    return jnp.stack([a["sigma"] * (yy - x), x * (a["rho"] - z) - yy, x * yy - a["beta"] * z])


# Arrays, as diagnose passes them (a Python float is not a differentiable leaf).
ARGS = {"sigma": jnp.asarray(10.0), "rho": jnp.asarray(28.0), "beta": jnp.asarray(8.0 / 3.0)}


class _Events:
    """JAX's trace and compile events of one function name, by thread."""

    def __init__(self, name):
        self.name, self.seen = name, []
        monitoring.register_event_duration_secs_listener(self._on)

    def _on(self, event, secs, **kw):
        if self.name in str(kw.get("fun_name", "")) and event.endswith(
            ("jaxpr_trace_duration", "backend_compile_duration")
        ):
            self.seen.append((event.rsplit("/", 1)[-1], threading.current_thread().name))

    def count(self, event, thread=None):
        return sum(e == event and (thread is None or t == thread) for e, t in self.seen)


@pytest.mark.parametrize("dt", [0.001, 0.01, 0.05, 0.2])
def test_every_default_plan_fits_the_shared_program(dt):
    # Default horizons depend on the measured rate only through the longest horizon, from
    # 50 to 20000 steps: every such plan fits the layout compiled before the rate is known.
    for rate in np.geomspace(1e-4, 1e3, 400):
        plan = plan_horizons(default_horizons(rate, dt), dt, exact=False)
        assert plan.b <= DEFAULT_CAPACITY and plan.blocks[-1] <= MAX_BLOCKS
        assert len(plan.blocks) <= MIN_HORIZON_LANES


def test_the_layout_is_chosen_by_the_simulator_and_the_block_length():
    sim = cg.ODESimulator(lorenz, dt=0.01, solver=cg.RK4())
    y0s, loss, sel = jnp.zeros((4, 3)), LinearReadout(), resolve_wrt("y0", ARGS)
    assert sweep_layout(sim, y0s, ARGS, loss, sel, 7, 5).block == StoredSteps(DEFAULT_CAPACITY)
    assert sweep_layout(sim, y0s, ARGS, loss, sel, 7, 5) == sweep_layout(sim, y0s, ARGS, loss, sel, 300, 16)
    assert sweep_layout(sim, y0s, ARGS, loss, sel, 1000, 5).block == StoredSteps(1024)
    assert sweep_layout(sim, y0s, ARGS, loss, sel, 10_000, 5).block == WholeBlock(10_000)
    assert sweep_layout(sim, y0s, ARGS, loss, sel, 7, 17).max_horizons == 24


# With respect to a parameter, tests/test_gradients.py::test_all_horizons_match_separate_gradients
# checks the same sweep through the public API.
@pytest.mark.slow
@pytest.mark.parametrize("wrt,loss", [("y0", LinearReadout()), ("y0", TimeAveragedLoss(lambda y: y[2]))])
def test_one_program_serves_two_plans_with_the_gradients_of_evolve(wrt, loss):
    sim = cg.ODESimulator(lorenz, dt=0.01, solver=cg.RK4())
    sel = resolve_wrt(wrt, ARGS)
    y0s = jnp.array([[-8.0, 7.0, 27.0], [1.0, 2.0, 20.0], [3.0, -4.0, 30.0]])
    events = _Events("_sweep_ensemble")
    for b, blocks in ((7, [3, 5, 10, 20]), (13, [1, 2, 4, 6, 9])):
        norms = sweep_horizons(sim, y0s, ARGS, loss, sel, b, np.asarray(blocks))[0]
        for h, nb in enumerate(blocks):
            n = nb * b

            def objective(y, a):
                # The map the sweep differentiates: n steps (contract: the same as evolve).
                y_end, ys = jax.lax.scan(lambda y, _: (sim.step(0.0, y, a), y), y, None, length=n)
                return jnp.mean(ys[:, 2]) if loss.accumulates else loss.final(y_end, y)

            for m in range(len(y0s)):
                g = jax.jit(jax.grad(objective, argnums=0 if wrt == "y0" else 1))(y0s[m], ARGS)
                direct = float(jnp.linalg.norm(g if wrt == "y0" else g["rho"]))
                # The same chain rule in another order: equal to round-off over at most
                # 1.2 time units of Lorenz-63. A small gradient (0.09 wrt rho) is a sum of
                # terms up to ~10^2 that cancel, so its round-off is absolute, ~1e-9
                # measured: 1e-8 absolute, 1e-10 of the largest gradients here.
                np.testing.assert_allclose(norms[m, h], direct, rtol=1e-10, atol=1e-8)
    # Both plans ran one compiled program (traced and compiled once).
    assert events.count("jaxpr_trace_duration") == 1


def test_diagnose_compiles_the_sweep_in_the_background_before_its_plan():
    # An unusual member count, so that no earlier test traced this sweep.
    s = cg.zoo.lorenz63()
    events = _Events("_sweep_ensemble")
    d = cg.diagnose(s.simulator, s.y0, s.args, members=5, lyapunov_time=40.0)
    assert d.verdict == "intrinsic-explosion"
    # Traced once, in the background thread, and never again for the default plan.
    assert events.count("jaxpr_trace_duration", "chaosgrad-compile") == 1
    assert events.count("jaxpr_trace_duration", "MainThread") == 0
