"""The results loader under mutation: a results file that is damaged in any way either
loads or is refused with the one "not a chaosgrad results file" error, never another
exception (real results written by real measurements, then keys, values, types and
array dtypes changed at random)."""

from __future__ import annotations

import copy
import functools
import json

import _synthetic as syn
import jax.numpy as jnp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chaosgrad as cg

LOGISTIC = cg.MapSimulator(lambda x, r: r * x * (1 - x))


@functools.cache
def _originals() -> tuple:
    """Real results of tiny measurements on the logistic map, and a synthetic diagnosis
    (it carries the enumerated fields: verdict and physics), as JSON data."""
    lyap = cg.lyapunov_spectrum(LOGISTIC, jnp.array([0.3]), 4.0, time=60.0)  # bulk arrays as bytes
    grad = cg.gradient_growth(LOGISTIC, jnp.array([0.3]), 4.0, horizons=(2, 4, 8))
    return tuple(json.loads(r.to_json()) for r in (lyap, grad, syn.lorenz_diagnosis()))


def _paths(node, prefix=()):
    """Every place in a JSON tree: the keys and indices that lead to it."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(),
        st.text(max_size=6),
        st.sampled_from(["nan", "inf", "-inf", "ok", "chaotic", "stable", "LyapunovResult", "Diagnosis"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "__ndarray__",
                    "dtype",
                    "shape",
                    "encoding",
                    "__derived__",
                    "__tuple__",
                    "__dict__",
                    "__float__",
                    "__type__",
                    "x",
                ]
            ),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=8,
)
dtypes = st.sampled_from(
    [
        "object",
        "O",
        "float64",
        "float32",
        "float16",
        "int64",
        "int8",
        "uint8",
        "bool",
        "<U3",
        "complex128",
        "M8[s]",
        "V8",
        "S4",
        "f8,i4",
        "(2,)f8",
        "longdouble",
        "nonsense",
        "",
    ]
)
KINDS = ("replace", "delete", "rename", "dtype", "wrap", "stringify", "shape")


def _mutate(data, draw):
    """One random change somewhere in ``data`` (in place)."""
    places = list(_paths(data))[1:]
    path = draw(st.sampled_from(places))
    parent = functools.reduce(lambda node, key: node[key], path[:-1], data)
    key = path[-1]
    kind = draw(st.sampled_from(KINDS))
    if kind == "replace":
        parent[key] = draw(json_values)
    elif kind == "delete":
        del parent[key]
    elif kind == "rename" and isinstance(parent, dict):
        parent[draw(st.text(max_size=6))] = parent.pop(key)
    elif kind == "dtype" and isinstance(parent, dict) and "dtype" in parent:
        parent["dtype"] = draw(dtypes)
    elif kind == "shape" and isinstance(parent, dict) and "shape" in parent:
        parent["shape"] = draw(st.lists(st.integers(-2, 5), max_size=3))
    elif kind == "wrap":
        parent[key] = [parent[key]]
    else:
        parent[key] = str(parent[key])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 2), changes=st.integers(1, 3), data=st.data())
def test_a_damaged_results_file_loads_or_is_refused_by_name(which, changes, data, tmp_path_factory):
    mutated = copy.deepcopy(_originals()[which])
    for _ in range(changes):
        _mutate(mutated, data.draw)
    path = tmp_path_factory.mktemp("mutated") / "results.json"
    path.write_text(json.dumps(mutated))
    try:
        cg.load_result(path)
    except cg.ChaosgradInputError as exc:
        assert "argument `path`" in str(exc) and str(path) in str(exc)


def test_the_unchanged_results_load_as_they_were(tmp_path):
    for i, original in enumerate(_originals()):
        path = tmp_path / f"results{i}.json"
        path.write_text(json.dumps(original))
        assert json.loads(cg.load_result(path).to_json())["result"] == original["result"]
