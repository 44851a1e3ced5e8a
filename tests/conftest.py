"""Test-wide settings.

chaosgrad runs its own computations with float64 enabled in a scope and leaves the
process's JAX configuration alone (``chaosgrad._runtime.precision``). Many tests here check
internal functions against float64 truths directly, outside any public entry point, so
every test runs inside ``jax.enable_x64(True)`` as well, except those marked
``user_process``: they run as a user's script would, with JAX's defaults (float32), to
check that the public API works there and changes nothing.
"""

import gc

import jax
import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "user_process: runs with the process's own JAX configuration (no float64 scope)")


# The tiers (README, "Quick start"): `make test-fast` leaves out `slow` and `studies`,
# `make test` leaves out `studies`, `make test-studies` runs them; CI runs `make test`
# and `make test-studies`. Whole files belong to a tier here, single tests by their
# own `@pytest.mark.slow`.
STUDIES_FILES = {
    "test_studies_physics.py",  # each bundled study run once (module fixtures)
    "test_studies_learning.py",
    "test_envs.py",  # gymnax and Brax environments compiled and diagnosed
    "test_soak_faults.py",  # reports rendered under seeded kills
    "test_distributed.py",  # two processes
    "test_ablation_conformance.py",  # each ablation against diffrax and jax.grad on real solvers
}
STUDIES_TESTS = {"test_nonsmooth.py::test_contact_study_brax_part_concludes_from_its_numbers"}
SLOW_FILES = {
    "test_conformance.py",  # every simulator contract rule on every bundled simulator
    "test_verdict_benchmark.py",  # the verdict benchmark's cases
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.path.name
        if name in STUDIES_FILES or item.nodeid.split("/")[-1].split("[")[0] in STUDIES_TESTS:
            item.add_marker(pytest.mark.studies)
        if name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _float64_for_internal_checks(request):
    if request.node.get_closest_marker("user_process") is not None:
        assert not jax.config.jax_enable_x64, "importing chaosgrad must not enable float64 for the process"
        yield
        return
    with jax.enable_x64(True):
        yield


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Free every compiled program after each test module.

    Each XLA:CPU executable holds about three memory mappings, and the suite compiles
    tens of thousands of programs: one process would pass the kernel's limit on mappings
    (vm.max_map_count, 65530 by default) and XLA's compiler would crash mid-suite.
    """
    yield
    jax.clear_caches()
    gc.collect()
