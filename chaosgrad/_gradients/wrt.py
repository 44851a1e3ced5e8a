"""What a gradient is taken with respect to: the initial state or a part of ``args``.

``wrt="y0"`` is the initial state; ``wrt="args"`` is every floating leaf of ``args``;
any other string, int or tuple is a path into ``args`` whose steps are dict keys,
sequence indices or attribute names (an equinox module's fields): ``"rho"``, ``1``,
``"p.HH_gNa"``, ``"layers.0.weight"``, ``("policy", "w1")``. A dotted string is split at
its dots, except where a key holding the dots exists literally (``"a.b"`` selects
``args["a.b"]`` when that key exists, else ``args["a"]["b"]``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import equinox as eqx
import jax
import numpy as np

from chaosgrad._errors import bad_argument
from chaosgrad._pytree import float_leaves


def _child(node, key):
    if isinstance(node, dict):
        return node[key]
    if isinstance(node, (list, tuple)) and isinstance(key, int):
        return node[key]
    if isinstance(key, str) and not isinstance(node, (jax.Array, np.ndarray)) and hasattr(node, key):
        return getattr(node, key)
    raise KeyError(key)


def _split(text: str, node) -> tuple | None:
    """The path a dotted string names in ``node``; a literal key with dots wins."""
    parts = text.split(".")
    for i in range(len(parts), 0, -1):  # longest key first, so an existing "a.b" key is taken as is
        head, rest = ".".join(parts[:i]), ".".join(parts[i:])
        for key in (head, int(head)) if head.isdigit() else (head,):
            try:
                child = _child(node, key)
            except (KeyError, IndexError, TypeError):
                continue
            if not rest:
                return (key,)
            tail = _split(rest, child)
            if tail is not None:
                return (key, *tail)
    return None


def _children(node) -> list:
    if isinstance(node, dict):
        return list(node.items())
    if isinstance(node, (list, tuple)) and not hasattr(node, "_fields"):
        return list(enumerate(node))
    if hasattr(node, "_fields"):  # a namedtuple
        return [(f, getattr(node, f)) for f in node._fields]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):  # equinox modules too
        return [(f.name, getattr(node, f.name, None)) for f in dataclasses.fields(node)]
    return []


def selectable_paths(args, limit: int = 20) -> list[str]:
    """Dotted paths into ``args`` that hold floating-point values, shortest first."""
    out: list[str] = []
    queue: list[tuple[tuple, Any]] = [((), args)]
    while queue and len(out) <= limit:
        path, node = queue.pop(0)
        for key, child in _children(node):
            if float_leaves(child):
                out.append(".".join(str(k) for k in (*path, key)))
                queue.append(((*path, key), child))
    return out[:limit] + (["..."] if len(out) > limit else [])


@dataclass(frozen=True)
class Wrt:
    """A resolved selection: ``kind`` is ``"y0"`` or ``"args"``, ``path`` a key tuple."""

    kind: str
    path: tuple
    label: str

    def get(self, args):
        node = args
        for key in self.path:
            node = _child(node, key)
        return node

    def set(self, args, value):
        if not self.path:
            return value
        return eqx.tree_at(lambda a: self.get(a), args, value, is_leaf=lambda x: x is None)


def resolve_wrt(wrt: Any, args) -> Wrt:
    if isinstance(wrt, str) and wrt == "y0":
        return Wrt("y0", (), "y0")
    path: tuple
    if isinstance(wrt, str) and wrt == "args":
        path = ()
    elif isinstance(wrt, str):
        path = _split(wrt, args) or (wrt,)
    elif isinstance(wrt, int):
        path = (wrt,)
    elif isinstance(wrt, tuple) and all(isinstance(k, (str, int)) for k in wrt):
        path = wrt
    else:
        raise bad_argument(
            "wrt",
            f"{wrt!r} is not 'y0', 'args' or a path into args",
            "pass e.g. 'y0', 'rho', a dotted path such as 'p.rho', or a tuple of keys",
        )
    sel = Wrt("args", path, "args" if not path else "args" + "".join(f"[{k!r}]" for k in path))
    try:
        target = sel.get(args)
    except (KeyError, IndexError, TypeError):
        paths = selectable_paths(args)
        raise bad_argument(
            "wrt",
            f"{wrt!r} is not in args" + (f" (selectable paths: {', '.join(paths)})" if paths else ""),
            "name a parameter that args contains, as a dotted path such as 'p.rho' or a tuple of keys, or pass 'y0'",
        ) from None
    # Non-array leaves (an equinox module's activation functions, flags) are carried,
    # as equinox's filtered transformations do; only floating arrays are differentiated.
    if not float_leaves(target):
        raise bad_argument(
            "wrt",
            f"{wrt!r} selects no floating-point values",
            "select a float parameter (for an equinox module, a field holding arrays, e.g. 'layers')",
        )
    return sel
