"""Bad input is caught before anything runs, with the argument named and the fix."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg

LOGISTIC = cg.MapSimulator(lambda x, r: r * x * (1 - x))
DECAY = cg.ODESimulator(lambda t, y, a: -y, dt=0.01)
X0 = jnp.array([0.3])

CALLS = {
    "lyapunov_spectrum": lambda **kw: cg.lyapunov_spectrum(LOGISTIC, kw.pop("y0", X0), 4.0, time=20.0, **kw),
    "gradient_growth": lambda **kw: cg.gradient_growth(LOGISTIC, kw.pop("y0", X0), 4.0, horizons=(2, 4, 8), **kw),
    "diagnose": lambda **kw: cg.diagnose(LOGISTIC, kw.pop("y0", X0), 4.0, horizons=(2, 4, 8), **kw),
}


@pytest.mark.parametrize("entry", sorted(CALLS))
@pytest.mark.parametrize("seed", [-1, 2**63, 2**70, True, 1.5, "0"])
def test_one_seed_rule_everywhere(entry, seed):
    with pytest.raises(cg.ChaosgradInputError, match="argument `seed`"):
        CALLS[entry](seed=seed)


@pytest.mark.parametrize("entry", sorted(CALLS))
@pytest.mark.parametrize(
    "y0,what",
    [
        (jnp.array([0.3 + 0.1j]), "complex"),
        (jnp.array([1, 2]), "no floating-point leaves"),
        ([0.3, 0.4], "Python list"),
    ],
)
def test_states_chaosgrad_cannot_use(entry, y0, what):
    with pytest.raises(cg.ChaosgradInputError, match=f"argument `y0`.*{what}"):
        CALLS[entry](y0=y0)


def test_ensemble_axes_of_the_wrong_length():
    with pytest.raises(cg.ChaosgradInputError, match="ensemble_axes"):
        cg.lyapunov_spectrum(LOGISTIC, jnp.array([[0.3]]), 4.0, time=10.0, ensemble_axes=(0,))


def test_a_reference_that_is_not_a_simulator_is_named_reference():
    with pytest.raises(cg.ChaosgradInputError, match="argument `reference`"):
        cg.diagnose(LOGISTIC, X0, 4.0, reference="x")


def test_a_time_shorter_than_one_interval_names_the_interval():
    with pytest.raises(cg.ChaosgradInputError, match="renormalisation interval"):
        cg.lyapunov_spectrum(DECAY, jnp.ones(2), None, time=0.05, interval=0.1)


@pytest.mark.parametrize(
    "literature", [{"exponents": "abc"}, {"exponents": [0.9, "x"]}, [0.9], {"exponents": [0.9], "source": 3}]
)
def test_literature_is_checked(literature):
    with pytest.raises(cg.ChaosgradInputError, match="argument `literature`"):
        cg.diagnose(LOGISTIC, X0, 4.0, literature=literature)


@pytest.mark.parametrize("horizons", [[0.001, 0.002, 0.003], [1.0, 1.2, 1.4]])
def test_horizons_that_collapse_to_too_few_steps(horizons):
    sim = DECAY if horizons[0] < 0.01 else LOGISTIC
    with pytest.raises(cg.ChaosgradInputError, match="argument `horizons`.*distinct step"):
        cg.gradient_growth(sim, jnp.ones(1) * 0.3, None if sim is DECAY else 4.0, horizons=horizons)


def test_a_diverged_ensemble_member_is_not_averaged_in():
    # Member 0 grows at ln 2 and stays finite; member 1 runs off to infinity (logistic r = 4
    # from x = 1.5 leaves [0, 1]). The ensemble's exponent is member 0's, not their mean.
    res = cg.lyapunov_spectrum(LOGISTIC, jnp.array([[0.3], [1.5]]), 4.0, time=2000.0, ensemble_axes=(0, None))
    assert res.status == "nonfinite"
    assert abs(res.exponents[0] - np.log(2)) < 0.05


def test_times_beyond_what_a_loop_counts_are_refused_by_name():
    """A time of 4.3e16 steps (or 1e8 intervals) is refused before anything runs, naming
    the argument: counts run as int32 inside compiled loops, and every interval's logs are
    kept on the host."""
    import chaosgrad as cg

    sim = cg.MapSimulator(lambda x, a: 0.5 * x)
    for kw, name in [({"time": 4.3e16}, "time"), ({"n_intervals": 10**8}, "n_intervals"), ({"time": 2e7}, "time")]:
        with pytest.raises(cg.ChaosgradInputError, match=name):
            cg.lyapunov_spectrum(sim, np.ones(2), None, **kw)
    with pytest.raises(cg.ChaosgradInputError, match="horizons"):
        cg.gradient_growth(sim, np.ones(2), None, horizons=[1, 2, 1e12])
    with pytest.raises(cg.ChaosgradInputError, match="lyapunov_time"):
        cg.diagnose(sim, np.ones(2), None, lyapunov_time=1e9, horizons=[1, 2, 3])


@pytest.mark.parametrize("n_batches", [0, -3, 1, 2.5, True, "20"])
def test_n_batches_is_a_count_of_at_least_two(n_batches):
    # One batch leaves no degree of freedom for the batch-means error: NaN, so it is refused too.
    with pytest.raises(cg.ChaosgradInputError, match=r"argument `n_batches`.*Fix: pass e.g. 20"):
        cg.lyapunov_spectrum(LOGISTIC, X0, 4.0, time=20.0, n_batches=n_batches)


@pytest.mark.parametrize("transient", [float("nan"), float("inf"), -1.0])
def test_gradient_growth_refuses_a_transient_that_is_not_a_finite_time(transient):
    with pytest.raises(cg.ChaosgradInputError, match="argument `transient`"):
        cg.gradient_growth(LOGISTIC, X0, 4.0, horizons=(2, 4, 8), transient=transient)


@pytest.mark.parametrize(
    "option, value, words",
    [
        ("config", "str", r"argument `config`: 'str' \(a str\) is not a dict"),
        ("config", [("a", 1)], r"argument `config`.*is not a dict"),
        (
            "progress",
            42,
            r"argument `progress`: 42 \(a int\) is not callable. Fix: pass a function progress\(label, done, total\)",
        ),
        ("shadowing", "maybe", r"argument `shadowing`: 'maybe' is not one of 'auto', None, NILSS, LSS"),
        ("shadowing", True, r"argument `shadowing`"),
    ],
)
def test_diagnose_checks_its_options_before_anything_runs(option, value, words):
    calls = []
    counted = cg.MapSimulator(lambda x, r: calls.append(1) or r * x * (1 - x))
    with pytest.raises(cg.ChaosgradInputError, match=words):
        cg.diagnose(counted, X0, 4.0, horizons=(2, 4, 8), **{option: value})
    assert calls == []  # refused before the step was even traced


class _BraxLike:
    """What chaosgrad.envs.brax reads of a Brax environment, and no more."""

    action_size = 1
    dt = 0.05

    def reset(self, key):
        return {"q": jnp.zeros(2)}

    def step(self, state, action):
        raise AssertionError("never stepped here")


@pytest.mark.parametrize("seed", [-1, 2**63, True, 1.5])
def test_environment_start_states_follow_the_one_seed_rule(seed):
    gymnax = pytest.importorskip("gymnax")
    env, env_params = gymnax.make("Pendulum-v1")
    sims = [
        cg.envs.gymnax(env, env_params, lambda p, obs: jnp.zeros(1)),
        cg.envs.brax(_BraxLike(), lambda p, obs: jnp.zeros(1), dtype="float32"),
    ]
    for sim in sims:
        with pytest.raises(cg.ChaosgradInputError, match="argument `seed`"):
            sim.initial_state(seed)
    assert sims[1].initial_state(0).env["q"].shape == (2,)  # a valid seed still starts


def _l96(t, y, F):
    """Lorenz-96, dy_i/dt = (y_{i+1} - y_{i-2}) y_{i-1} - y_i + F."""
    return (jnp.roll(y, -1) - jnp.roll(y, 2)) * jnp.roll(y, 1) - y + F


@pytest.mark.user_process
def test_a_zero_dimensional_float32_parameter_in_a_float32_process():
    # jnp.array(8.0) made without float64 is a weakly typed float32: chaosgrad's float64
    # scope must not promote its derivative direction to float64 (jax.jvp refuses that).
    sim = cg.ODESimulator(_l96, solver=cg.RK4(), dt=0.01)
    y0 = 8.0 + 0.01 * jnp.sin(jnp.arange(10.0))
    d = cg.diagnose(sim, y0, jnp.array(8.0), wrt="args", horizons=(0.5, 1, 2), lyapunov_time=20.0, members=3, causes=())
    # d(step)/dF = dt per component to first order: the probe sees F enter the step.
    assert d.step_derivatives["wrt"] > 0 and np.isfinite(d.gradient_rate)


_RAISES_WHILE_COMPILING = """
import threading
import jax.numpy as jnp
import chaosgrad as cg
from chaosgrad._runtime.compilation_cache import compiling_in_background

def l96(t, y, F):
    if threading.current_thread() is threading.main_thread() and compiling_in_background():
        raise RuntimeError("the step failed while chaosgrad compiled in the background")
    return (jnp.roll(y, -1) - jnp.roll(y, 2)) * jnp.roll(y, 1) - y + F

try:
    cg.diagnose(cg.ODESimulator(l96, solver=cg.RK4(), dt=0.01), 8.0 + 0.01 * jnp.sin(jnp.arange(10.0)),
                jnp.array([8.0]), wrt="args", horizons=(0.5, 1, 2))
finally:
    print("running:", [t.name for t in threading.enumerate() if t.name.startswith("chaosgrad-")], flush=True)
"""


@pytest.mark.slow
def test_an_error_in_diagnose_leaves_no_background_compilation_behind(tmp_path):
    """A daemon thread still inside XLA when the interpreter exits aborts it (exit 134,
    "FATAL: exception not rethrown"): the error must reach the caller with none running."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, CHAOSGRAD_COMPILATION_CACHE="off")  # real compilations, not cache reads
    out = subprocess.run(
        [sys.executable, "-c", _RAISES_WHILE_COMPILING],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )
    assert out.returncode == 1, out.stderr[-3000:]
    assert "Traceback (most recent call last)" in out.stderr
    assert "RuntimeError: the step failed while chaosgrad compiled in the background" in out.stderr
    assert out.stdout.strip().splitlines()[-1] == "running: []"


@pytest.mark.parametrize("dtype", ["float32", jnp.float32, np.dtype("float32"), np.float32])
def test_one_dtype_rule_accepts_every_spelling_of_a_float_dtype(dtype):
    """The dtype rule is the same in a bundled system and in a simulator's constructor."""
    assert cg.zoo.henon(dtype=dtype).simulator.dtype == "float32"
    assert cg.MapSimulator(lambda x, a: x, dtype=dtype).dtype == "float32"


@pytest.mark.parametrize("make", [cg.zoo.henon, cg.zoo.van_der_pol])
def test_a_bundled_system_takes_the_states_the_engines_take(make):
    """A float array is taken as the state, cast to the system's dtype; a complex one is
    refused by name instead of losing its imaginary part with a ComplexWarning."""
    system = make(y0=np.array([0.5, -0.25]), dtype="float32")
    assert system.y0.dtype == jnp.float32 and np.allclose(system.y0, [0.5, -0.25])
    with pytest.raises(cg.ChaosgradInputError, match="argument `y0`.*complex"):
        make(y0=np.array([0.5 + 1j, 0.0]))
    # 1e39 is finite in float64 and overflows float32: refused once cast, by name.
    with pytest.raises(cg.ChaosgradInputError, match="argument `y0`.*non-finite"):
        make(y0=np.array([1e39, 0.0]), dtype="float32")


def test_kaplan_yorke_dimension_takes_a_collapsed_direction_and_refuses_nan():
    # -inf (a direction that collapsed exactly) contributes nothing: D = 1 + 0.5 / 1.0.
    assert cg.kaplan_yorke_dimension([0.5, -1.0, -np.inf]) == pytest.approx(1.5, abs=0)
    with pytest.raises(cg.ChaosgradInputError, match="argument `exponents`.*NaN"):
        cg.kaplan_yorke_dimension([0.5, np.nan])
