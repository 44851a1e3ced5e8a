"""Fault injection: SIGINT and SIGTERM at random points of `chaosgrad analyze`, each in a
subprocess. The command exits 130 (or 0 if it finished first), the report written
before survives unchanged, and no temporary file is left."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

FACTORY = textwrap.dedent("""
    import jax.numpy as jnp
    import chaosgrad as cg

    def make():
        sim = cg.MapSimulator(lambda x, r: r * x * (1 - x))
        return {"simulator": sim, "y0": jnp.array([0.3]), "args": 4.0, "horizons": (4, 8, 16), "members": 3,
                "name": "interrupted map"}
""")


def _launch(tmp_path: Path, out: Path) -> subprocess.Popen:
    """The real command line, as a user starts it."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chaosgrad",
            "analyze",
            "--simulator",
            "interrupted_map:make",
            "--out",
            str(out),
            "--format",
            "html,pdf,json",
            "--dpi",
            "40",
            "-q",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
@pytest.mark.user_process
def test_interrupts_never_corrupt_a_report(tmp_path):
    (tmp_path / "interrupted_map.py").write_text(FACTORY)
    out = tmp_path / "reports"
    start = time.monotonic()
    first = _launch(tmp_path, out)
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-2000:]
    full = time.monotonic() - start
    before = _digest(out)
    assert any(name == "report.pdf" for name in before)
    rng = np.random.default_rng(0)
    # Start-up, computation and rendering: delays spread over the whole run.
    for i, sig in enumerate([signal.SIGINT, signal.SIGTERM] * 3):
        launched = time.time()
        proc = _launch(tmp_path, out)
        time.sleep(float(rng.uniform(0.02, 0.95)) * full)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=600)
        assert proc.returncode in (0, 130), (sig, proc.returncode, err[-2000:])
        if proc.returncode == 130:
            assert "interrupted" in err and "Traceback" not in err, err[-2000:]
            now = _digest(out)
            if now != before:
                # A signal during the final renames is raised once they are all done: then
                # the report's folder holds only this run's files, never a mix.
                folders = {p.parent for p in out.rglob("report.html")}
                for folder in folders:
                    fresh = {p.name: p.stat().st_mtime >= launched for p in folder.iterdir() if p.is_file()}
                    assert len(set(fresh.values())) == 1, f"try {i}: an interrupted run half-wrote a report: {fresh}"
                before = now
        else:
            before = _digest(out)  # it finished before the signal: a complete new report
        leftovers = [p for p in out.rglob("*") if ".tmp" in p.name]
        assert not leftovers, leftovers


def test_an_interrupt_during_imports_is_raised_after_them():
    """While deferred (the command imports its runtime), a signal is recorded and raised on
    leaving, never inside the block; outside, it raises at once."""
    import os

    from chaosgrad._runtime import interrupts as _interrupts

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _interrupts.install()
        reached = []
        with pytest.raises(KeyboardInterrupt):
            with _interrupts.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)  # the handler has run by now
                reached.append("end of block")
        assert reached == ["end of block"] and _interrupts.interrupted()
        _interrupts.install()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        _interrupts._STATE["interrupted"] = False  # later tests in this process were not interrupted
