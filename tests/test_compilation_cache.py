"""Compile once: programs shared across step sizes, and the persistent compilation cache
(``chaosgrad._runtime.compilation_cache``), whose programs must give the very same numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import pytest

import chaosgrad as cg
from chaosgrad._runtime.compilation_cache import ENV, cache_folder, compile_in_background
from chaosgrad._spectra import chunks as _lyapunov_chunks


def lorenz(t, y, a):
    return jnp.stack([10 * (y[1] - y[0]), y[0] * (a - y[2]) - y[1], y[0] * y[1] - 8 / 3 * y[2]])


def test_every_step_size_of_one_solver_runs_one_compiled_lyapunov_program():
    sim = cg.ODESimulator(lorenz, solver=cg.RK4(), dt=0.01)
    y0 = jnp.array([1.0, 1.0, 20.0])
    before = _lyapunov_chunks._chunk_single._cached._cache_size()
    # Different step sizes, times and transients, the same steps per interval: the step,
    # the count of intervals and the state are values of one program.
    runs = [
        (0.01, dict(time=5.0, interval=0.1)),
        (0.005, dict(time=5.0, interval=0.05)),
        (0.0025, dict(time=20.0, interval=0.025, transient=3.0)),
    ]
    results = [cg.lyapunov_spectrum(sim.with_step(dt), y0, 28.0, **kw) for dt, kw in runs]
    assert _lyapunov_chunks._chunk_single._cached._cache_size() - before <= 1
    assert all(r.status == "ok" for r in results)
    # The step really is the one given: the clock of each run ends where its own time does.
    assert [round(r.time, 9) for r in results] == [5.0, 5.0, 20.0]


def test_background_programs_trace_one_at_a_time_and_the_call_reuses_them():
    """Tracing holds the GIL: background lowerings take turns (their spans never
    overlap), and the real call of a program compiled in the background compiles
    nothing (JAX keeps the executable)."""
    compiled = []

    def listen(name, secs, **_):
        if name == "/jax/core/compile/backend_compile_duration":
            compiled.append(name)

    jax.monitoring.register_event_duration_secs_listener(listen)
    spans, programs = [], [jax.jit(lambda x, k=k: jnp.sin(x) * k + jnp.cos(x) ** k) for k in range(3)]
    x = jnp.linspace(0.0, 1.0, 7)

    def lower_of(f):
        def lower():
            start = time.perf_counter()
            lowered = f.lower(x)
            time.sleep(0.05)  # long enough to overlap another lowering, if they could
            spans.append((start, time.perf_counter()))
            return lowered

        return lower

    threads = [compile_in_background(lower_of(f)) for f in programs]
    for thread in threads:
        thread.join()
    spans.sort()
    assert len(spans) == 3 and all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    before = len(compiled)
    try:
        with jax.enable_x64(True):  # the scope the background compiled in
            for f in programs:
                f(x).block_until_ready()
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    assert len(compiled) == before


def test_cache_folder_rules(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_folder() == os.path.join(str(tmp_path), "chaosgrad", "jax")
    monkeypatch.setenv(ENV, str(tmp_path / "mine"))
    assert cache_folder() == str(tmp_path / "mine")
    for off in ("off", "0", "false", "NO"):
        monkeypatch.setenv(ENV, off)
        assert cache_folder() is None


_SCRIPT = r"""
import json, sys
import jax, jax.numpy as jnp
from jax import monitoring
hits = []
monitoring.register_event_listener(lambda name, **kw: hits.append(name) if name == "/jax/compilation_cache/cache_hits" else None)
if sys.argv[1] == "user":
    jax.config.update("jax_compilation_cache_dir", sys.argv[2])
import chaosgrad as cg
def lorenz(t, y, a):
    return jnp.stack([10 * (y[1] - y[0]), y[0] * (a - y[2]) - y[1], y[0] * y[1] - 8 / 3 * y[2]])
sim = cg.ODESimulator(lorenz, solver=cg.RK4(), dt=0.01)
y0 = jnp.array([1.0, 1.0, 20.0])
lam = cg.lyapunov_spectrum(sim, y0, 28.0, time=20.0, transient=2.0)
g = cg.gradient_growth(sim, y0, 28.0, horizons=(0.5, 1.0, 2.0), members=3)
print(json.dumps({"exponents": [float(x).hex() for x in lam.exponents],
                  "norms": [float(x).hex() for x in g.norms.ravel()],
                  "hits": len(hits), "dir": jax.config.jax_compilation_cache_dir}))
"""


def _run(cache, mode="default", user_dir=""):
    env = dict(os.environ, **{ENV: cache})
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode, user_dir], capture_output=True, text=True, env=env, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_cached_programs_give_bit_identical_numbers(tmp_path):
    folder = str(tmp_path / "cache")
    uncached = _run("off")
    filled = _run(folder)
    cached = _run(folder)
    assert uncached["dir"] is None and cached["dir"] == folder  # off is off; the folder is the one named
    assert os.listdir(folder)  # the first process wrote its programs
    assert cached["hits"] > 0  # ...and the second loaded them instead of compiling
    for key in ("exponents", "norms"):
        assert uncached[key] == filled[key] == cached[key]  # bit for bit (float.hex)


@pytest.mark.slow
def test_a_cache_the_user_configured_is_left_as_it_is(tmp_path):
    mine = str(tmp_path / "users-own")
    out = _run(str(tmp_path / "chaosgrads"), mode="user", user_dir=mine)
    assert out["dir"] == mine and not os.path.exists(tmp_path / "chaosgrads")


def test_compile_policies_resolve_to_options_xla_accepts_here():
    """Rule 4 of ``chaosgrad._runtime.compile_policy``: the options are given only where they apply."""
    from chaosgrad._runtime.compile_policy import COMPILE_BOUND, RUN_BOUND, CompilePolicy

    assert RUN_BOUND.resolved() == {}
    expected = COMPILE_BOUND.options if jax.default_backend() == "cpu" else {}
    assert COMPILE_BOUND.resolved() == expected
    assert CompilePolicy("elsewhere", dict(COMPILE_BOUND.options), backend="no-such-backend").resolved() == {}
    assert CompilePolicy("unknown", {"xla_no_such_option_anywhere": True}).resolved() == {}


def test_a_policy_jit_is_made_at_first_use_and_its_options_reach_every_compile(monkeypatch):
    from chaosgrad._runtime import compile_policy as _compile_policy
    from chaosgrad._runtime.compile_policy import COMPILE_BOUND, CompilePolicy, policy_jit

    def f(x):
        return jnp.sin(x) * jnp.exp(-x) + x**3

    x = jnp.linspace(0.0, 2.0, 33)
    wrapped = policy_jit(COMPILE_BOUND)(f)
    assert wrapped._jit is None and wrapped.__wrapped__ is f  # nothing made at decoration (import)
    # Another code generator may contract into fused multiply-adds differently (rule 3):
    # the same values to a few ulps, not bit for bit.
    assert jnp.allclose(wrapped(x), jax.jit(f)(x), rtol=1e-13, atol=0.0)
    assert wrapped._jit is not None
    assert jnp.array_equal(wrapped.lower(x).compile()(x), wrapped(x))  # ahead of time: the same program

    # An option XLA does not know, let through resolution on purpose: both the call and
    # the ahead-of-time compile must hand it to XLA, which then refuses it.
    monkeypatch.setattr(_compile_policy, "_accepted", lambda backend, items: True)
    bogus = policy_jit(CompilePolicy("bogus", {"xla_no_such_option_anywhere": True}))(f)
    with pytest.raises(Exception, match="xla_no_such_option_anywhere"):
        bogus(x)
    with pytest.raises(Exception, match="xla_no_such_option_anywhere"):
        bogus.lower(x).compile()


_SMALL = """
import jax.numpy as jnp
import chaosgrad as cg
cg.lyapunov_spectrum(cg.MapSimulator(lambda x, r: r * x * (1 - x)), jnp.array([0.3]), 4.0, time=20.0)
print("done")
"""


@pytest.mark.slow
def test_cut_short_cache_entries_are_removed_once_and_written_again(tmp_path):
    folder = tmp_path / "cache"
    env = dict(os.environ, **{ENV: str(folder)})

    def run():
        out = subprocess.run([sys.executable, "-c", _SMALL], capture_output=True, text=True, env=env, check=False)
        assert out.returncode == 0 and out.stdout.strip() == "done", out.stderr[-3000:]
        return out.stderr

    assert "warning" not in run()
    entries = sorted(folder.glob("*-cache"))
    assert entries
    sizes = {p.name: p.stat().st_size for p in entries}
    assert all(size > 1 for size in sizes.values())  # so that half of each is cut off
    old = time.time() - 3600  # written long ago, then cut short (not a write in progress)
    for p in entries:
        with open(p, "r+b") as fh:
            fh.truncate(p.stat().st_size // 2)
        os.utime(p, (old, old))
    err = run()
    assert "Error reading persistent compilation cache" not in err, err
    lines = [ln for ln in err.splitlines() if "compilation cache" in ln]
    assert len(lines) == 1 and lines[0].startswith(f"chaosgrad: warning: removed {len(entries)} unreadable entr"), err
    # Written again, whole: every entry is back and decompresses (an executable's bytes may
    # differ by a few from one compile to the next, so sizes are not compared exactly).
    from jax._src.compilation_cache import decompress_executable

    assert sorted(p.name for p in folder.glob("*-cache")) == sorted(sizes)
    for p in folder.glob("*-cache"):
        decompress_executable(p.read_bytes())
    err = run()
    assert "compilation cache" not in err and "warning" not in err.lower(), err
