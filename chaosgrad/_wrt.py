"""What a gradient is taken with respect to: the initial state or a part of ``args``.

``wrt="y0"`` is the initial state; ``wrt="args"`` is every floating leaf of ``args``;
any other string, int or tuple is a path into ``args`` (dict key, sequence index or
attribute name, e.g. ``"rho"``, ``1``, ``("policy", "w1")``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import equinox as eqx

from ._errors import bad_argument
from ._pytree import float_leaves


def _child(node, key):
    if isinstance(node, dict):
        return node[key]
    if isinstance(node, (list, tuple)) and isinstance(key, int):
        return node[key]
    if isinstance(key, str) and hasattr(node, key):
        return getattr(node, key)
    raise KeyError(key)


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
    if isinstance(wrt, str) and wrt == "args":
        path = ()
    elif isinstance(wrt, (str, int)):
        path = (wrt,)
    elif isinstance(wrt, tuple) and all(isinstance(k, (str, int)) for k in wrt):
        path = wrt
    else:
        raise bad_argument("wrt", f"{wrt!r} is not 'y0', 'args' or a path into args", "pass e.g. 'y0' or 'rho'")
    sel = Wrt("args", path, "args" if not path else "args" + "".join(f"[{k!r}]" for k in path))
    try:
        target = sel.get(args)
    except (KeyError, IndexError, TypeError):
        keys = list(args) if isinstance(args, dict) else None
        raise bad_argument(
            "wrt", f"{wrt!r} is not in args" + (f" (keys: {keys})" if keys else ""),
            "name a parameter that args contains, or pass 'y0'",
        ) from None
    # Non-array leaves (an equinox module's activation functions, flags) are carried,
    # as equinox's filtered transformations do; only floating arrays are differentiated.
    if not float_leaves(target):
        raise bad_argument(
            "wrt", f"{wrt!r} selects no floating-point values",
            "select a float parameter (for an equinox module, a field holding arrays, e.g. 'layers')",
        )
    return sel
