"""Ensembles across processes: two local processes (coordinator on 127.0.0.1), each with
two forced host devices, run an ensemble spectrum and an ensemble gradient sweep sharded
over the four global devices; the numbers equal the single-process run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

WORKER = textwrap.dedent("""
    import json, sys
    import jax
    process_id, port, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    if process_id >= 0:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=process_id)
    import numpy as np
    import chaosgrad as cg
    from chaosgrad import zoo

    system = zoo.lorenz63()
    members = np.asarray(system.y0)[None] + 0.1 * np.arange(6)[:, None]
    spec = cg.lyapunov_spectrum(system.simulator, members, system.args, time=20.0, k=2, ensemble_axes=(0, None))
    grad = cg.gradient_growth(system.simulator, members, system.args, horizons=(0.5, 1.0, 2.0), ensemble=True)
    if process_id <= 0:
        json.dump({"devices": jax.device_count(), "member_exponents": spec.member_exponents.tolist(),
                   "norms": grad.norms.tolist()}, open(out, "w"))
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.user_process
def test_two_processes_give_the_single_process_numbers(tmp_path):
    (tmp_path / "worker.py").write_text(WORKER)
    single = subprocess.run(
        [sys.executable, "worker.py", "-1", "0", "single.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, JAX_PLATFORMS="cpu"),
    )
    assert single.returncode == 0, single.stderr[-3000:]
    port = str(_free_port())
    env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    procs = [
        subprocess.Popen(
            [sys.executable, "worker.py", str(i), port, "multi.json"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (0, 1)
    ]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n".join(e[-2000:] for e in errors)
    one, two = (json.loads((tmp_path / f).read_text()) for f in ("single.json", "multi.json"))
    assert one["devices"] == 1 and two["devices"] == 4
    # The same members through the same compiled arithmetic on other devices: equal to
    # round-off (XLA may fuse the per-device programs differently).
    np.testing.assert_allclose(two["member_exponents"], one["member_exponents"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(two["norms"], one["norms"], rtol=1e-10)
