"""Results files: bulk arrays as base64 bytes, derived fields, summarised extras.

Every results file must load back to the very result that wrote it, and stay small:
a bundled analysis's ``results.json`` is under 2 MB (``tests/test_studies_physics.py``
checks the maps study's)."""

from __future__ import annotations

import base64
import dataclasses
import json

import _synthetic as syn
import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg
from chaosgrad._results.arrays import INLINE_ELEMENTS
from chaosgrad._results.serialize import Result

LOGISTIC = cg.MapSimulator(lambda x, r: r * x * (1 - x))


@pytest.fixture(scope="module")
def lyap():
    return cg.lyapunov_spectrum(LOGISTIC, jnp.array([0.3]), 4.0, time=400.0)


@pytest.fixture(scope="module")
def ensemble():
    return cg.lyapunov_spectrum(LOGISTIC, jnp.array([[0.3], [0.41], [0.7]]), 4.0, time=100.0, ensemble_axes=(0, None))


def _arrays(node):
    """Every array object in a results file's JSON tree."""
    if isinstance(node, dict):
        if "__ndarray__" in node:
            yield node
        for v in node.values():
            yield from _arrays(v)
    elif isinstance(node, list):
        for v in node:
            yield from _arrays(v)


def test_bulk_arrays_are_base64_bytes_and_load_back_bit_for_bit(lyap, ensemble):
    grad = cg.gradient_growth(LOGISTIC, jnp.array([0.3]), 4.0, horizons=(2, 4, 8, 16))
    for result in (lyap, ensemble, grad, syn.lorenz_study()):
        text = result.to_json()
        arrays = list(_arrays(json.loads(text)))
        big = [a for a in arrays if np.prod(a["shape"]) > INLINE_ELEMENTS and "U" not in a["dtype"]]
        assert all(a.get("encoding") == "base64" and isinstance(a["__ndarray__"], str) for a in big)
        assert all(isinstance(a["__ndarray__"], list) for a in arrays if np.prod(a["shape"]) <= INLINE_ELEMENTS)
        syn.assert_same_result(result, Result.from_json(text))
    assert lyap.finite_time_exponents.size > INLINE_ELEMENTS  # the file above held bytes


def test_bytes_keep_non_finite_values_signed_zeros_and_every_dtype():
    arrays = {
        "float64": np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, 1.7976931348623157e308] * 8),
        "float32": np.linspace(-1, 1, 40, dtype=np.float32).reshape(4, 10),
        "float16": np.arange(64, dtype=np.float16),
        "int8": np.arange(-20, 20, dtype=np.int8),
        "uint64": np.arange(2**64 - 50, 2**64 - 10, dtype=np.uint64),
        "bool": np.arange(50) % 3 == 0,
        "big-endian": np.arange(40, dtype=">f8"),
    }
    lyap = syn.make_lyapunov(np.array([0.9, 0.0, -14.5]), n_intervals=40)
    for name, arr in arrays.items():
        result = dataclasses.replace(lyap, finite_time_exponents=arr)
        back = Result.from_json(result.to_json())
        got = back.finite_time_exponents
        assert got.shape == arr.shape and got.dtype == arr.dtype, name
        assert np.array_equal(got, arr, equal_nan=arr.dtype.kind == "f"), name
        if arr.dtype.kind == "f":
            assert np.array_equal(np.signbit(got), np.signbit(arr)), name


def test_the_history_is_written_as_derived_only_when_it_is_reproduced(lyap, ensemble):
    for result in (lyap, ensemble):
        data = json.loads(result.to_json())["result"]
        assert data["history"] == {"__derived__": "history"}
        syn.assert_same_result(result.history, Result.from_json(result.to_json()).history)
    changed = dataclasses.replace(lyap, history=lyap.history + 1e-15)
    data = json.loads(changed.to_json())["result"]
    assert data["history"]["encoding"] == "base64"
    syn.assert_same_result(changed, Result.from_json(changed.to_json()))


def _refusal(tmp_path, result, change) -> str:
    data = json.loads(result.to_json())
    change(data["result"])
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    with pytest.raises(cg.ChaosgradInputError) as info:
        cg.load_result(path)
    return str(info.value)


def test_damaged_bytes_and_markers_are_refused_by_name(tmp_path, lyap):
    ftle = "finite_time_exponents"

    def set_(key, value, field=ftle):
        return lambda r: r[field].__setitem__(key, value)

    good = json.loads(lyap.to_json())["result"][ftle]["__ndarray__"]
    cases = {
        "bytes, holds": set_("__ndarray__", good[:-8]),
        "not valid base64": set_("__ndarray__", good[:-4] + "!!!!"),
        "encoding 'zip'": set_("encoding", "zip"),
        "cannot be stored as bytes": set_("dtype", "<U3"),
        "holds a list, not text": set_("__ndarray__", [good]),
        "is marked derived": lambda r: r.__setitem__("exponents", {"__derived__": "exponents"}),
        "outside a result's fields": lambda r: r.__setitem__("simulator", {"__dict__": [["a", {"__derived__": "a"}]]}),
        "cannot be derived": lambda r: r.__setitem__(
            "valid_intervals", {"__ndarray__": [], "dtype": "int64", "shape": [0]}
        ),
    }
    for expected, change in cases.items():
        assert expected in _refusal(tmp_path, lyap, change), expected
    flags = dataclasses.replace(lyap, valid_intervals=np.ones(40, bool))
    two = base64.b64encode(bytes([2] * 40)).decode()
    assert "bytes other than 0 and 1" in _refusal(tmp_path, flags, set_("__ndarray__", two, "valid_intervals"))


def test_a_studys_extra_diagnoses_are_summaries_and_its_headline_is_whole():
    study = syn.lorenz_study()
    full = syn.float16_diagnosis()
    kept = study.extra["float16"]
    assert kept.lambda_physical.history.shape == (0, full.lambda_physical.history.shape[1])
    assert kept.lambda_physical.finite_time_exponents.shape[1] == 0
    assert kept.gradient.cotangent_norms.shape == (full.gradient.cotangent_norms.shape[0], 0)
    syn.assert_same_result(kept.lambda_physical.exponents, full.lambda_physical.exponents)
    syn.assert_same_result(kept.gradient.norms, full.gradient.norms)
    assert (kept.verdict, kept.causes, kept.gradient_rate) == (full.verdict, full.causes, full.gradient_rate)
    syn.assert_same_result(study.diagnosis, syn.lorenz_diagnosis())
    syn.assert_same_result(study, Result.from_json(study.to_json()))
    syn.assert_same_result(study, dataclasses.replace(study))  # summarising is idempotent
