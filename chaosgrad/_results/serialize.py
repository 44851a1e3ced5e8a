"""Lossless JSON for result objects.

Results are frozen dataclasses that inherit :class:`Result`. They round-trip through
JSON exactly: floats are written with ``repr`` precision, arrays keep dtype and shape,
and non-finite floats are written as the strings ``"nan"``, ``"inf"``, ``"-inf"`` so
the file stays strict JSON that any browser or tool can parse.

Bulk arrays stay compact: a bool or numeric array of more than
:data:`~chaosgrad._results.arrays.INLINE_ELEMENTS` elements is written as the base64 of its little-endian bytes in
C order, ``{"__ndarray__": "<base64>", "encoding": "base64", "dtype": ..., "shape":
[...]}`` (about 11 characters per float64 instead of about 20, and bit-exact), smaller
ones as a list of numbers. A field that a result class declares in ``DERIVED`` (a
function of its other fields, such as a Lyapunov result's running history) is written as
``{"__derived__": name}`` when that function reproduces it bit for bit, and recomputed
on reading; otherwise it is written as itself.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import stat
import types
import typing
from typing import Any, ClassVar

import numpy as np

from chaosgrad._errors import ChaosgradInputError, bad_argument
from chaosgrad._results.arrays import decode_array, decode_float, encode_array, encode_float, same_bits, short_repr

SCHEMA_VERSION = 1
# The largest results file the loaders read. The bundled analyses write under 2 MB (bulk
# arrays as bytes, other configurations summarised: ``Study.extra``); a results file of
# the lists of earlier versions could reach some 60 MB. A larger file, or a stream that
# never ends (a link to /dev/zero), is refused before it fills the memory.
MAX_RESULTS_BYTES = 512 * 2**20
_REGISTRY: dict[str, type[Result]] = {}


def _derivable(result, name: str) -> bool:
    """Whether field ``name`` of ``result`` is exactly what its class's ``DERIVED``
    function computes from the other fields."""
    try:
        with np.errstate(all="ignore"):
            derived = type(result).DERIVED[name]({f.name: getattr(result, f.name) for f in dataclasses.fields(result)})
    except Exception:  # a result the function cannot handle is written as it is
        return False
    return same_bits(derived, getattr(result, name))


def encode(value: Any) -> Any:
    """Turn a result, array, tuple or scalar into plain JSON data."""
    if isinstance(value, Result):
        out: dict[str, Any] = {"__type__": type(value).__name__}
        for f in dataclasses.fields(value):
            if f.name in type(value).DERIVED and _derivable(value, f.name):
                out[f.name] = {"__derived__": f.name}
            else:
                out[f.name] = encode(getattr(value, f.name))
        return out
    if isinstance(value, np.ndarray) or (hasattr(value, "__array__") and not np.isscalar(value)):
        return encode_array(np.asarray(value))
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"__float__": encode_float(value)}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[encode(k), encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"cannot serialise {type(value).__name__}: {value!r}")


def _registered(name: str) -> type[Result] | None:
    """Result classes register when their module is imported; import them all once."""
    import importlib

    for module in (
        "_spectra.result",
        "_diagnosis.types",
        "_landscape.types",
        "_shadowing.types",
        "_nonsmooth.types",
        "_results.study",
    ):
        importlib.import_module(f"chaosgrad.{module}")
    return _REGISTRY.get(name)


def _hints(cls) -> dict:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation that cannot be resolved is not checked
        return {}


def _hint_name(hint) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


_FLOAT_MAX_INT = int(np.finfo(np.float64).max)


def _conforms(value, hint) -> bool:
    """Whether a decoded value fits a field's annotation (the schema): numbers, strings,
    arrays, containers, nested results and ``X | None``; anything else is accepted."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        # An integer beyond a float's range (JSON allows 10**400) is no float value.
        return (
            isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_))
            and (not isinstance(value, int) or abs(value) <= _FLOAT_MAX_INT)
        )
    if hint is int:
        return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if hint is bool:
        return isinstance(value, (bool, np.bool_))
    if hint is str:
        return isinstance(value, str)
    if hint is np.ndarray:
        return isinstance(value, np.ndarray)
    if origin is not None:
        hint = origin
    if isinstance(hint, type):
        if hint is tuple:
            return isinstance(value, tuple)
        if hint in (dict, list):
            return isinstance(value, hint)
        if issubclass(hint, Result) or dataclasses.is_dataclass(hint):
            return isinstance(value, hint)
    return True


def _derive(cls, name: str, kwargs: dict):
    """Field ``name`` of ``cls`` computed from the other decoded fields."""
    try:
        with np.errstate(all="ignore"):
            return cls.DERIVED[name](kwargs)
    except Exception as exc:
        raise ValueError(
            f"field {cls.__name__}.{name} cannot be derived from the others ({type(exc).__name__}: {exc})"
        ) from None


def decode(data: Any) -> Any:
    """Inverse of :func:`encode`."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "__type__" in data:
        cls = _REGISTRY.get(data["__type__"]) or _registered(data["__type__"])
        if cls is None:
            raise ValueError(f"unknown result type {data['__type__']!r} in JSON")
        kwargs, derived = {}, []
        for k, v in data.items():
            if k == "__type__":
                continue
            if isinstance(v, dict) and "__derived__" in v:
                if v != {"__derived__": k} or k not in cls.DERIVED:
                    raise ValueError(f"field {cls.__name__}.{k} is marked derived, which it cannot be")
                derived.append(k)
            else:
                kwargs[k] = decode(v)
        rest = dict(kwargs)
        for name in derived:
            kwargs[name] = _derive(cls, name, rest)
        fields = dataclasses.fields(cls)
        names = {f.name for f in fields}
        # A field added later with a default may be absent from an older file.
        required = {
            f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        missing = required - set(kwargs)
        if missing:
            raise ValueError(f"{cls.__name__} JSON lacks fields {sorted(missing)}")
        hints = _hints(cls)
        for name, value in kwargs.items():
            if name in names and name in hints and not _conforms(value, hints[name]):
                raise ValueError(
                    f"field {cls.__name__}.{name} holds {type(value).__name__} {short_repr(value)}, not {_hint_name(hints[name])}"
                )
        for name, allowed in cls.CHOICES.items():
            if name in kwargs and kwargs[name] not in allowed:
                raise ValueError(
                    f"field {cls.__name__}.{name} holds {short_repr(kwargs[name])}, not one of {', '.join(allowed)}"
                )
        return cls(**{k: v for k, v in kwargs.items() if k in names})
    if "__derived__" in data:
        raise ValueError("a derived value appears outside a result's fields")
    if "__ndarray__" in data:
        return decode_array(data)
    if "__float__" in data:
        return decode_float(data["__float__"])
    if "__tuple__" in data:
        return tuple(decode(v) for v in data["__tuple__"])
    if "__dict__" in data:
        return {decode(k): decode(v) for k, v in data["__dict__"]}
    raise ValueError(f"unrecognised JSON object with keys {sorted(data)}")


class Result:
    """Mixin for frozen-dataclass results: ``to_json`` / ``from_json`` without loss."""

    # Every result class is a dataclass (what dataclasses.fields needs); a subclass that
    # names its kind makes it a field, written to and read from its files.
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]
    kind: str = "result"
    # Fields that hold one of a fixed set of strings: ``{field: allowed values}``.
    CHOICES: ClassVar[dict] = {}
    # Fields that are a function of the others: ``{field: f(fields as a dict) -> value}``;
    # written as a marker when ``f`` reproduces them bit for bit (module docstring).
    DERIVED: ClassVar[dict] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def to_dict(self) -> dict:
        from chaosgrad import __version__

        return {"schema": SCHEMA_VERSION, "chaosgrad": __version__, "result": encode(self)}

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict):
        if not isinstance(data, dict) or "result" not in data or "schema" not in data:
            raise ValueError("not a chaosgrad results file: expected keys 'schema' and 'result'")
        schema = data["schema"]
        if isinstance(schema, bool) or not isinstance(schema, int):
            raise ValueError(f"its schema {schema!r} is a {type(schema).__name__}, not the integer {SCHEMA_VERSION}")
        if schema != SCHEMA_VERSION:
            raise ValueError(f"its schema {schema} is not the supported {SCHEMA_VERSION}")
        out = decode(data["result"])
        if cls is not Result and not isinstance(out, cls):
            raise ValueError(f"expected a {cls.__name__}, found {type(out).__name__}")
        return out

    @classmethod
    def from_json(cls, text: str):
        return cls.from_dict(json.loads(text))


_FIX = "pass a results.json written by chaosgrad (Result.to_json)"


def _not_results(name: str, path, reason: str) -> ChaosgradInputError:
    return bad_argument(name, f"{path} is not a chaosgrad results file ({reason})", _FIX)


def _read_bounded(path, name: str) -> bytes:
    """The bytes of ``path``, at most :data:`MAX_RESULTS_BYTES`: a larger regular file is
    refused from its size, a stream (a pipe, a device) after that many bytes or at once
    when its first byte cannot begin a JSON text."""
    limit = f"the {MAX_RESULTS_BYTES / 2**20:g} MiB a results file may hold (chaosgrad._results.serialize.MAX_RESULTS_BYTES)"
    with open(path, "rb") as fh:
        info = os.fstat(fh.fileno())
        if stat.S_ISREG(info.st_mode) and info.st_size > MAX_RESULTS_BYTES:
            raise _not_results(name, path, f"it holds {info.st_size} bytes, more than {limit}")
        chunks, total, begun = [], 0, False
        while chunk := fh.read(min(16 * 2**20, MAX_RESULTS_BYTES + 1 - total)):
            head = b"" if begun else chunk.lstrip()[:1]
            if head and head not in b'{["-0123456789tfn':
                raise _not_results(name, path, f"it begins with byte {head!r}, which no JSON text begins with")
            begun = begun or bool(head)
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_RESULTS_BYTES:
                raise _not_results(name, path, f"it goes on past {limit}")
    return b"".join(chunks)


def read_result(path, name: str = "path") -> tuple[Result, str | None]:
    """A result read from ``path`` and the chaosgrad version that wrote it (``None`` for
    files before versions were recorded). Anything that is not a results file this
    version can read, whatever is wrong with it, raises :class:`ChaosgradInputError`
    naming the field at fault; ``OSError`` when the file cannot be read."""
    try:
        data = json.loads(_read_bounded(path, name).decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_argument(name, f"{path} is not valid JSON ({exc})", _FIX) from None
    except RecursionError:
        raise bad_argument(name, f"{path} is nested too deeply to be a chaosgrad results file", _FIX) from None
    try:
        result = Result.from_dict(data)
    except RecursionError:
        raise bad_argument(name, f"{path} is nested too deeply to be a chaosgrad results file", _FIX) from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError) as exc:
        raise _not_results(name, path, str(exc).removeprefix("not a chaosgrad results file: ")) from None
    version = data.get("chaosgrad")
    return result, version if isinstance(version, str) else None


def load_result(path) -> Result:
    """Read any chaosgrad result from a JSON file written by ``Result.to_json``.

    Raises :class:`chaosgrad.ChaosgradInputError` (a ``ValueError``) naming what is wrong
    when the file is not a chaosgrad results file, ``OSError`` when it cannot be read."""
    return read_result(path)[0]
