"""Property-based tests of the public API: for any input, either a ChaosgradInputError
that names the argument (raised before any computation), or a result whose status tells
the truth; never another exception type.

The default profile is fast (the suite's); ``make test-long`` runs the long one
(``HYPOTHESIS_PROFILE=long``).
"""

from __future__ import annotations

import json
import math
import os
import re

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chaosgrad as cg

settings.register_profile("fast", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

NAMED = re.compile(r"^argument `[A-Za-z_][A-Za-z0-9_]*`: .+\. Fix: .+\.$", re.S)

# A contracting linear map: every exponent is ln 0.5 exactly, whatever the state's shape
# and the simulator's dtype.
HALF = {d: cg.MapSimulator(lambda y, a: 0.5 * y, dtype=d) for d in ("float16", "float32", "float64")}
sim_dtypes = st.sampled_from(sorted(HALF))

dtypes = st.sampled_from(["float16", "float32", "float64", "int32", "complex64", "bool"])
shapes = st.lists(st.integers(0, 3), min_size=0, max_size=2).map(tuple)


@st.composite
def states(draw):
    kind = draw(st.sampled_from(["array", "list", "dict", "scalar"]))
    if kind == "list":
        return draw(st.lists(st.floats(-2, 2), min_size=0, max_size=3))
    if kind == "scalar":
        return draw(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3)))
    arr = np.asarray(draw(st.lists(st.floats(-2, 2), min_size=1, max_size=1))[0]) * np.ones(draw(shapes))
    arr = arr.astype(draw(dtypes)) if draw(st.booleans()) else arr
    if draw(st.booleans()) and arr.size and arr.dtype.kind == "f":
        arr = arr.copy()
        arr.flat[0] = draw(st.sampled_from([np.nan, np.inf, 1.0]))
    return {"x": jnp.asarray(arr), "n": 0} if kind == "dict" else jnp.asarray(arr)


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 10**6),
    st.just("1"),
    st.just(None),
    st.booleans(),
)


def mostly(valid, invalid=numbers):
    """Valid values seven times in eight, so that results are exercised as much as errors."""
    return st.one_of(*([valid] * 7), invalid)


valid_states = st.one_of(
    st.integers(1, 4).map(lambda n: np.linspace(0.1, 1.0, n)),
    st.integers(1, 3).map(lambda n: {"x": np.ones(n), "count": 0}),
    st.sampled_from(["float16", "float32", "float64"]).map(lambda d: np.ones(2, d)),
)
valid_horizons = st.lists(st.integers(1, 40), min_size=3, max_size=6, unique=True).map(sorted)


def _outcome(call):
    """The call's result, or None when it raised a well-formed ChaosgradInputError."""
    try:
        return call()
    except cg.ChaosgradInputError as exc:
        assert NAMED.match(str(exc)), str(exc)
        return None


@given(
    y0=mostly(valid_states, states()),
    time=mostly(st.sampled_from([3.0, 20.0, 200.0])),
    k=mostly(st.none(), st.integers(-1, 5)),
    seed=mostly(st.integers(0, 2**63 - 1)),
    dtype=sim_dtypes,
)
def test_lyapunov_spectrum_input_or_truthful_status(y0, time, k, seed, dtype):
    res = _outcome(lambda: cg.lyapunov_spectrum(HALF[dtype], y0, None, time=time, k=k, seed=seed))
    if res is None:
        return
    assert res.status in ("ok", "nonfinite")
    if res.status == "ok":
        finite = np.isfinite(res.exponents)
        # The map is exactly linear with factor 1/2: ln 0.5 per step, up to the dtype's round-off.
        tol = {8: 1e-9, 4: 1e-5, 2: 2e-2}[jnp.dtype(res.dtype).itemsize]
        assert np.all(np.abs(res.exponents[finite] - math.log(0.5)) <= tol + 1e-12), res.exponents


@given(
    y0=mostly(valid_states, states()),
    horizons=mostly(valid_horizons, st.one_of(st.lists(numbers, min_size=0, max_size=5), numbers)),
    members=mostly(st.integers(1, 4)),
    seed=mostly(st.integers(0, 2**63 - 1)),
    wrt=st.sampled_from(["y0"] * 6 + ["args", "rho", 3, ("a", 0)]),
    dtype=sim_dtypes,
)
def test_gradient_growth_input_or_truthful_status(y0, horizons, members, seed, wrt, dtype):
    res = _outcome(
        lambda: cg.gradient_growth(
            HALF[dtype], y0, {"rho": 1.0}, horizons=horizons, members=members, seed=seed, wrt=wrt
        )
    )
    if res is None:
        return
    assert res.status in ("ok", "partial", "partial-nonfinite", "nonfinite", "zero")
    if res.status == "ok" and res.wrt == "y0" and res.dtype == "float64":
        # ||d (c . y_T) / d y0|| = 0.5^T exactly for this map: rate ln 0.5.
        assert abs(res.rate - math.log(0.5)) < 1e-6, res.rate


@given(
    text=st.one_of(
        st.text(max_size=40),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.text(max_size=5)),
            lambda inner: st.one_of(
                st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
            ),
            max_leaves=12,
        ).map(json.dumps),
    )
)
def test_malformed_results_json_is_refused_by_name(text, tmp_path_factory):
    from chaosgrad import report

    path = tmp_path_factory.mktemp("json") / "results.json"
    path.write_text(text)
    with pytest.raises(cg.ChaosgradInputError, match="argument `results`"):
        report.load(path)


@given(
    y0=valid_states,
    time=st.sampled_from([3.0, 20.0, 200.0]),
    seed=st.integers(0, 2**63 - 1),
    dtype=sim_dtypes,
    horizons=valid_horizons,
    members=st.integers(1, 4),
)
@pytest.mark.slow
def test_valid_inputs_give_the_exact_rates(y0, time, seed, dtype, horizons, members):
    """Only valid inputs: the results themselves are checked against ln 0.5."""
    test_lyapunov_spectrum_input_or_truthful_status.hypothesis.inner_test(y0, time, None, seed, dtype)
    test_gradient_growth_input_or_truthful_status.hypothesis.inner_test(y0, horizons, members, seed, "y0", dtype)


@given(p=st.floats(0.5, 1.0 - 1e-9), dof=st.one_of(st.integers(1, 10**6), st.floats(0.5, 1e4), st.just(math.inf)))
def test_t_quantile_is_scipy_stats_own(p, dof):
    # chaosgrad's intervals use scipy.special.stdtrit, the routine behind
    # scipy.stats.t.ppf, so as not to import scipy.stats (seconds): the same bits.
    from scipy import stats

    from chaosgrad._student_t import t_quantile

    assert t_quantile(p, dof) == float(stats.t.ppf(p, dof))
