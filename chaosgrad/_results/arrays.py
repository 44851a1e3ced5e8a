"""Arrays in a results file (the format is in ``_results.serialize``'s docstring): a bool or
numeric array of more than :data:`INLINE_ELEMENTS` elements as the base64 of its
little-endian bytes, smaller ones and text as lists, non-finite floats as strings; and
their checked decoding."""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

import numpy as np

# Array dtypes a results file may hold: bool, signed and unsigned integers, floats, and
# fixed-width text (studies keep label arrays); never Python objects.
_ARRAY_KINDS = "biufU"
# Arrays of more elements than this (and of a bool or numeric dtype) are written as
# base64 bytes; smaller ones as readable lists.
INLINE_ELEMENTS = 32
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def encode_float(x: float) -> Any:
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def decode_float(x: Any) -> float:
    return _NONFINITE[x] if isinstance(x, str) else float(x)


def flat_list(arr: np.ndarray) -> list:
    """The elements as Python scalars in C order; a float's non-finite values as their
    strings. ``tolist`` converts in bulk, exactly as ``float(x)`` does one by one, which
    matters for a report's millions of floats (``benchmarks/RESULTS_design.md``)."""
    if arr.dtype.kind == "f" and arr.dtype.itemsize > 8:
        arr = arr.astype(np.float64)  # a long double to a Python float, as float(x) does
    flat = arr.reshape(-1).tolist()
    if arr.dtype.kind == "f":
        for i in np.flatnonzero(~np.isfinite(arr.reshape(-1))).tolist():
            flat[i] = encode_float(flat[i])
    return flat


def same_bits(a, b) -> bool:
    """Whether two arrays have the same dtype, shape and bytes (NaN payloads and the
    sign of zero included)."""
    a, b = np.asarray(a), np.asarray(b)
    return (
        a.dtype == b.dtype
        and a.shape == b.shape
        and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()
    )


def encode_array(arr: np.ndarray) -> dict:
    if arr.dtype.kind in "biuf" and arr.size > INLINE_ELEMENTS and arr.dtype.itemsize <= 8:
        little = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
        return {
            "__ndarray__": base64.b64encode(little.tobytes()).decode("ascii"),
            "encoding": "base64",
            "dtype": str(arr.dtype),
            "shape": list(arr.shape),
        }
    return {"__ndarray__": flat_list(arr), "dtype": str(arr.dtype), "shape": list(arr.shape)}


def short_repr(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def decode_array(data: dict) -> np.ndarray:
    """An array from ``{"__ndarray__": [...], "dtype": ..., "shape": [...]}``, checked: a
    numeric, bool or text dtype, a shape of non-negative integers that the values fill, and
    values of the dtype's kind (numbers, or ``"nan"``/``"inf"``/``"-inf"`` for floats)."""
    name, values, shape = data.get("dtype"), data["__ndarray__"], data.get("shape")
    try:
        dtype = np.dtype(name) if isinstance(name, str) else None
    except (TypeError, ValueError):
        dtype = None
    if dtype is None or dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"array dtype {short_repr(name)} is not a bool, integer, float or text dtype")
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"array shape {short_repr(shape)} is not a list of non-negative integers")
    if "encoding" in data:
        return _decode_bytes(data, dtype, shape)
    if not isinstance(values, list) or len(values) != math.prod(shape):
        count = f"{len(values)} values" if isinstance(values, list) else f"a {type(values).__name__}"
        raise ValueError(f"array of shape {shape} holds {count}")
    kinds = {"b": (bool,), "i": (int,), "u": (int,), "f": (float, int), "U": (str,)}[dtype.kind]
    if not all(type(v) in kinds for v in values):
        for v in values:
            if type(v) not in kinds and not (dtype.kind == "f" and type(v) is str and v in _NONFINITE):
                raise ValueError(f"array of dtype {dtype} holds {type(v).__name__} {short_repr(v)}")
        values = [decode_float(v) for v in values]
    return np.asarray(values, dtype=dtype).reshape(shape)


def _decode_bytes(data: dict, dtype: np.dtype, shape: list) -> np.ndarray:
    """An array from its base64 little-endian bytes (see the module docstring), checked:
    the encoding is ``"base64"``, the dtype bool or numeric, the text valid base64 of
    exactly the bytes the shape needs, and a bool array's bytes 0 or 1."""
    encoding, text = data["encoding"], data["__ndarray__"]
    if encoding != "base64":
        raise ValueError(f"array encoding {short_repr(encoding)} is not base64")
    if dtype.kind not in "biuf":
        raise ValueError(f"an array of dtype {dtype} cannot be stored as bytes")
    if not isinstance(text, str):
        raise ValueError(f"base64 array holds a {type(text).__name__}, not text")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("array bytes are not valid base64") from None
    need = math.prod(shape) * dtype.itemsize
    if len(raw) != need:
        raise ValueError(f"array of shape {shape} and dtype {dtype} needs {need} bytes, holds {len(raw)}")
    arr = np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)
    if dtype.kind == "b" and not np.isin(np.frombuffer(raw, dtype=np.uint8), (0, 1)).all():
        raise ValueError("bool array holds bytes other than 0 and 1")
    return arr
