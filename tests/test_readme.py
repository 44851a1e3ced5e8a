"""The README's examples run as written and say what they claim."""

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _blocks(heading: str) -> list[str]:
    section = README.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def _block(heading: str) -> str:
    section = README.split(f"## {heading}\n", 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


# The README's examples run as a user's script would: with JAX's default configuration.
pytestmark = pytest.mark.user_process


@pytest.mark.slow
def test_own_simulator_example(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(_block("Your own simulator"), "README: Your own simulator", "exec"), scope)
    d = scope["d"]
    # The comment in the example: backsolve on the contracting Lorenz system at rho = 10.
    assert (d.verdict, d.causes) == ("numerical-explosion", ("adjoint",)), d.summary()
    assert (tmp_path / "diagnosis.json").is_file()


def test_own_cause_example(capsys):
    scope: dict = {}
    exec(compile(_block("Your own cause"), "README: Your own cause", "exec"), scope)
    d = scope["d"]
    # g = 0.5: the origin attracts, so the gradient vanishes physically and the units sit
    # in tanh's linear part: the saturation ablation is refuted, as the comment says.
    assert d.verdict == "intrinsic-vanishing" and d.causes == ()
    (ab,) = [a for a in d.ablations if a.cause == "saturation"]
    assert ab.status == "ok" and not ab.confirmed
    assert "intrinsic-vanishing" in capsys.readouterr().out


@pytest.mark.slow
def test_environment_example(capsys):
    pytest.importorskip("gymnax")
    scope: dict = {}
    exec(compile(_blocks("Environments and models written by others")[0], "README: environments", "exec"), scope)
    d = scope["d"]
    assert d.verdict in scope["cg"].VERDICTS and d.gradient.norms.shape[0] == 4
    assert "chaosgrad diagnosis" in capsys.readouterr().out


@pytest.mark.slow
def test_neural_ode_example(capsys):
    scope: dict = {}
    exec(compile(_blocks("Environments and models written by others")[1], "README: neural ODE", "exec"), scope)
    d = scope["d"]
    assert d.verdict in scope["cg"].VERDICTS and d.physics in scope["cg"].PHYSICS
    assert d.verdict in capsys.readouterr().out


@pytest.mark.slow
def test_curvature_and_noise_example():
    """What the comments say: the sharpness grows at about 2 lambda_1 (its interval holds
    1.81), the slice is monotone at T = 1 and turns many times at T = 16, and the spread of
    the gradient over initial states grows by more than 100 while the mean stays below 10."""
    scope: dict = {}
    exec(compile(_block("Curvature and gradient noise"), "README: curvature", "exec"), scope)
    c, sl, n = scope["c"], scope["sl"], scope["n"]
    assert c.regime == "growing" and c.rate_low <= 2 * 0.9056 <= c.rate_high
    assert c.gradient_rate_low <= 0.9056 <= c.gradient_rate_high
    assert sl.turning_points[0] <= 1 < 20 < sl.turning_points[-1]
    assert n.noise[-1] > 100 * n.noise[0] and n.mean_norm[0] < 10


def test_monitor_example(capsys):
    scope: dict = {}
    exec(compile(_blocks("Curvature and gradient noise")[1], "README: monitor", "exec"), scope)
    assert "huge-update" in capsys.readouterr().out


@pytest.mark.slow
def test_shadowing_example():
    """The comments: d<z>/d rho about 1.01 (within 0.03 of 1), one unstable direction; the
    covariant vectors' exponents near the literature's 0.906, 0, -14.57."""
    scope: dict = {}
    exec(compile(_block("Long-time averages: shadowing"), "README: shadowing", "exec"), scope)
    r, v = scope["r"], scope["v"]
    assert abs(r.derivative[0] - 1.0) < 0.03 and r.unstable == 1
    assert abs(v.exponents[0] - 0.906) < 0.15 and abs(v.exponents[1]) < 0.05 and abs(v.exponents[2] + 14.57) < 0.3
