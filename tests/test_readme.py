"""The README's examples run as written and say what they claim: every Python block is a
complete script, run by one test below, which checks the output its comments state."""

import ast
import builtins
import inspect
import re
import sys
from pathlib import Path

import numpy as np
import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _blocks(heading: str) -> list[str]:
    section = README.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


# The README's examples run as a user's script would: with JAX's default configuration.
pytestmark = pytest.mark.user_process

ALL_BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)

# Each Python block of the README, by the section it is in and its place there; each is
# run by the one test whose source names it.
EXAMPLES = {
    "own simulator": ("Your own simulator", 0),
    "other simulators": ("Your own simulator", 1),
    "environment": ("Environments and models written by others", 0),
    "neural ODE": ("Environments and models written by others", 1),
    "own cause": ("Your own cause", 0),
    "own loss": ("Your own loss", 0),
    "curvature": ("Curvature and gradient noise", 0),
    "monitor": ("Curvature and gradient noise", 1),
    "shadowing": ("Long-time averages: shadowing", 0),
}


def _example(key: str) -> str:
    heading, i = EXAMPLES[key]
    return _blocks(heading)[i]


def _run(key: str) -> dict:
    scope: dict = {}
    exec(compile(_example(key), f"README: {key}", "exec"), scope)
    return scope


def _free_names(source: str) -> set[str]:
    """Names a block reads but never binds (nor imports), other than builtins."""
    tree = ast.parse(source)
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return read - bound - set(dir(builtins))


@pytest.mark.parametrize("i", range(len(ALL_BLOCKS)))
def test_every_python_block_is_a_complete_script(i):
    assert not _free_names(ALL_BLOCKS[i]), (
        f"README's Python block {i + 1} uses undefined names: {sorted(_free_names(ALL_BLOCKS[i]))}\n{ALL_BLOCKS[i]}"
    )


def test_the_completeness_check_finds_a_fragment():
    assert _free_names("cg.RolloutSimulator(env_step, policy, observe=obs_fn)\n") == {
        "cg",
        "env_step",
        "policy",
        "obs_fn",
    }
    assert _free_names("import chaosgrad as cg\ndef f(x):\n    return cg.zoo.lorenz63(x)\n") == set()


def test_every_python_block_is_run_by_one_test():
    assert sorted(_example(k) for k in EXAMPLES) == sorted(ALL_BLOCKS)
    tests = {
        name: inspect.getsource(fn)
        for name, fn in vars(sys.modules[__name__]).items()
        if name.startswith("test_") and callable(fn) and "_run(" in inspect.getsource(fn)
    }
    for key in EXAMPLES:
        runners = [name for name, src in tests.items() if f'_run("{key}")' in src]
        assert len(runners) == 1, f"README example {key!r} is run by {runners or 'no test'}"


@pytest.mark.slow
def test_own_simulator_example(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scope = _run("own simulator")
    d = scope["d"]
    # The comment in the example: backsolve on the contracting Lorenz system at rho = 10.
    assert (d.verdict, d.causes) == ("numerical-explosion", ("adjoint",)), d.summary()
    assert (tmp_path / "diagnosis.json").is_file()


def test_other_simulators_example(capsys):
    scope = _run("other simulators")
    out = capsys.readouterr().out.splitlines()
    # The comment: the logistic map at r = 4 has lambda_1 = ln 2 exactly; 2000 steps of a
    # float32 orbit measure it within about 0.02 (the batch-means error is ~0.01).
    assert abs(float(out[0].strip("[]")) - np.log(2)) < 0.02
    g = scope["g"]
    assert out[1].startswith("args['K'] ") and g.wrt == "args['K']" and np.isfinite(g.rate)
    assert g.norms.shape[1] >= 4 and np.all(np.isfinite(g.norms))


def test_own_cause_example(capsys):
    scope = _run("own cause")
    d = scope["d"]
    # g = 0.5: the origin attracts, so the gradient vanishes physically and the units sit
    # in tanh's linear part: the saturation ablation is refuted, as the comment says.
    assert d.verdict == "intrinsic-vanishing" and d.causes == ()
    (ab,) = [a for a in d.ablations if a.cause == "saturation"]
    assert ab.status == "ok" and not ab.confirmed
    assert "intrinsic-vanishing" in capsys.readouterr().out


def test_own_loss_example(capsys):
    import jax
    import jax.numpy as jnp

    scope = _run("own loss")
    g, loss = scope["g"], scope["DiscountedReturn"]()
    assert g.loss == "discounted return minus a baseline" and g.loss in capsys.readouterr().out

    # The script runs in JAX's default configuration: its y0 is a float32 array (0.3
    # rounded), which the float64 simulator carries exactly; r is the Python float 3.7.
    y0 = float(np.float32(0.3))

    def direct(r, n):  # sum_{k < n} 0.95^k (y_k - 0.5), the loop the comment names
        ys = [jnp.array([y0])]
        for _ in range(n - 1):
            ys.append(r * ys[-1] * (1 - ys[-1]))
        return sum(0.95**k * (y[0] - 0.5) for k, y in enumerate(ys))

    with jax.enable_x64(True):
        for n, norm in zip((4, 8, 16, 32), g.norms[0, g.reported]):
            # The same chain rule in another order over at most 32 steps of the chaotic
            # logistic map (lambda_1 ~ 0.35): round-off of ~1e-16 grown by e^{0.35 * 32}
            # ~ 1e5 at most, so 1e-9 relative.
            np.testing.assert_allclose(norm, abs(float(jax.grad(direct)(3.7, n))), rtol=1e-9)
    assert loss.accumulates and not loss.long_time_average


@pytest.mark.slow
def test_environment_example(capsys):
    pytest.importorskip("gymnax")
    scope = _run("environment")
    d = scope["d"]
    assert d.verdict in scope["cg"].VERDICTS and d.gradient.norms.shape[0] == 4
    assert "chaosgrad diagnosis" in capsys.readouterr().out


@pytest.mark.slow
def test_neural_ode_example(capsys):
    scope = _run("neural ODE")
    d = scope["d"]
    assert d.verdict in scope["cg"].VERDICTS and d.physics in scope["cg"].PHYSICS
    assert d.verdict in capsys.readouterr().out


@pytest.mark.slow
def test_curvature_and_noise_example():
    """What the comments say: the sharpness grows at about 2 lambda_1 (its interval holds
    1.81), the slice is monotone at T = 1 and turns many times at T = 16, and the spread of
    the gradient over initial states grows by more than 100 while the mean stays below 10."""
    scope = _run("curvature")
    c, sl, n = scope["c"], scope["sl"], scope["n"]
    assert c.regime == "growing" and c.rate_low <= 2 * 0.9056 <= c.rate_high
    assert c.gradient_rate_low <= 0.9056 <= c.gradient_rate_high
    assert sl.turning_points[0] <= 1 < 20 < sl.turning_points[-1]
    assert n.noise[-1] > 100 * n.noise[0] and n.mean_norm[0] < 10


def test_monitor_example(capsys):
    scope = _run("monitor")
    # The comment: the printed list, word for word; the first step's update is the huge
    # one, the loss overflows after it and the gradients then turn NaN.
    assert capsys.readouterr().out == "['nan-gradient', 'overflow', 'huge-update']\n"
    steps = {s.name: list(s.steps) for s in scope["rec"].log().symptoms}
    assert steps["huge-update"] == [0] and min(steps["overflow"]) == 1 and min(steps["nan-gradient"]) > 1


@pytest.mark.slow
def test_shadowing_example():
    """The comments: d<z>/d rho about 1.01 (within 0.03 of 1), one unstable direction; the
    covariant vectors' exponents near the literature's 0.906, 0, -14.57."""
    scope = _run("shadowing")
    r, v = scope["r"], scope["v"]
    assert abs(r.derivative[0] - 1.0) < 0.03 and r.unstable == 1
    assert abs(v.exponents[0] - 0.906) < 0.15 and abs(v.exponents[1]) < 0.05 and abs(v.exponents[2] + 14.57) < 0.3
