"""Every third-party package the library imports is declared: a core dependency in
pyproject.toml, or part of an extra and imported only behind a guard whose error names
``pip install 'chaosgrad[EXTRA]'``. Read from the source with ``ast``, nothing imported."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "chaosgrad"

# Import name -> distribution name on PyPI. A new third-party import must be added here,
# and declared in pyproject.toml, before this test passes.
DISTRIBUTION = {
    "jax": "jax",
    "jaxlib": "jaxlib",
    "diffrax": "diffrax",
    "equinox": "equinox",
    "numpy": "numpy",
    "scipy": "scipy",
    "matplotlib": "matplotlib",
    "tqdm": "tqdm",
    "optax": "optax",
    "gymnax": "gymnax",
    "brax": "brax",
    "flax": "flax",
}

_INSTALL = re.compile(r"pip install 'chaosgrad\[(\w+)\]'")
# The helper that imports a study's optional package by name and names the extra on failure.
_OPTIONAL_HELPER = "import_optional"


def _name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0).lower().replace("_", "-")


def _declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {_name(r) for r in project["dependencies"]}
    extras = {k: {_name(r) for r in v} for k, v in project.get("optional-dependencies", {}).items()}
    return core, extras


def _guard_extras(handlers: list[ast.ExceptHandler]) -> set[str]:
    """The extras named by handlers that catch ImportError (or ModuleNotFoundError)."""
    out = set()
    for h in handlers:
        caught = ast.unparse(h.type) if h.type is not None else "BaseException"
        if "ImportError" not in caught and "ModuleNotFoundError" not in caught:
            continue
        for node in ast.walk(h):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.update(_INSTALL.findall(node.value))
    return out


def third_party_imports(source: str, helper_extras: set[str]) -> list[tuple[int, str, set[str]]]:
    """``(line, top-level module, extras named by its guard)`` for each third-party import.

    An import counts as guarded when it sits in the body of a ``try`` whose ``except
    ImportError`` names the install command; a call ``import_optional("mod", ...)`` is
    guarded by the extras the helper's own message names (``helper_extras``).
    """
    found = []

    def visit(node, guards: frozenset[str]):
        mods = []
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            mods = [node.module]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == _OPTIONAL_HELPER
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.append((node.lineno, node.args[0].value.split(".")[0], set(helper_extras)))
        for m in mods:
            top = m.split(".")[0]
            if top not in sys.stdlib_module_names and top != "chaosgrad":
                found.append((node.lineno, top, set(guards)))
        if isinstance(node, ast.Try):
            inner = guards | _guard_extras(node.handlers)
            for child in node.body:
                visit(child, inner)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, guards)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, guards)

    visit(ast.parse(source), frozenset())
    return found


def _helper_extras() -> set[str]:
    tree = ast.parse((PACKAGE / "studies" / "_common.py").read_text())
    [fn] = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == _OPTIONAL_HELPER]
    extras = {
        e
        for n in ast.walk(fn)
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
        for e in _INSTALL.findall(n.value)
    }
    assert extras, f"{_OPTIONAL_HELPER} must name the install command pip install 'chaosgrad[EXTRA]'"
    return extras


def _problems(path: str, source: str, core: set[str], extras: dict[str, set[str]], helper: set[str]) -> list[str]:
    out = []
    for line, top, guards in third_party_imports(source, helper):
        dist = DISTRIBUTION.get(top)
        if dist is None:
            out.append(f"{path}:{line}: import of {top!r}: add its distribution to DISTRIBUTION and pyproject.toml")
        elif dist not in core and not any(dist in extras.get(g, set()) for g in guards):
            out.append(
                f"{path}:{line}: {top} ({dist}) is neither a core dependency nor imported behind a "
                f"guard naming an extra that holds it (guards: {sorted(guards) or 'none'})"
            )
    return out


def test_every_third_party_import_is_declared():
    core, extras = _declared()
    helper = _helper_extras()
    problems = []
    seen = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        problems += _problems(str(path.relative_to(ROOT)), source, core, extras, helper)
        seen |= {top for _, top, _ in third_party_imports(source, helper)}
    assert not problems, "\n".join(problems)
    # The scan really sees the imports (an empty scan would pass vacuously).
    assert {"jax", "numpy", "optax", "gymnax", "brax", "matplotlib"} <= seen


@pytest.mark.parametrize(
    "source, ok",
    [
        ("import optax\n", True),  # a core dependency
        ("import flax.linen as nn\n", False),  # in no extra, unguarded
        ("def f():\n    import gymnax\n", False),  # in an extra, but unguarded
        (
            "def f():\n    try:\n        import gymnax\n    except ImportError as e:\n"
            "        raise RuntimeError(\"pip install 'chaosgrad[envs]'\") from e\n",
            True,
        ),
        (
            "def f():\n    try:\n        import gymnax\n    except ImportError as e:\n"
            "        raise RuntimeError(\"pip install 'chaosgrad[bench]'\") from e\n",
            False,
        ),  # wrong extra
        (
            "def f():\n    try:\n        import gymnax\n    except ValueError as e:\n"
            "        raise RuntimeError(\"pip install 'chaosgrad[envs]'\") from e\n",
            False,
        ),  # not an import guard
        ("def f():\n    return import_optional('brax.envs', 'Brax')\n", True),
        ("import somethingunknown\n", False),
    ],
)
def test_the_scan_tells_declared_from_undeclared_imports(source, ok):
    core = {"jax", "numpy", "optax"}
    extras = {"envs": {"gymnax", "brax", "six"}, "bench": {"lyapax"}}
    assert (not _problems("x.py", source, core, extras, {"envs"})) is ok
