"""``chaosgrad analyze --simulator MODULE:FACTORY``: load the user's factory, check what
it returns and diagnose it."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path

from chaosgrad._cli.errors import EXIT_FAILED, EXIT_USAGE, CliError

REQUIRED_KEYS = ("simulator", "y0", "args")


def safe_name(name: str) -> str:
    """A folder name made of letters, digits, dots, dashes and underscores."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip(".-")
    return cleaned or "simulator"


def _load_factory(spec: str):
    module_part, sep, attr = spec.rpartition(":")
    if not sep or not module_part or not attr:
        raise CliError(
            f"--simulator {spec!r}: expected MODULE:FACTORY, e.g. mysim:make or path/to/mysim.py:make", EXIT_USAGE
        )
    try:
        if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
            path = Path(module_part)
            if not path.is_file():
                raise CliError(f"--simulator: no file {path}; pass an existing path/to/file.py:FACTORY", EXIT_USAGE)
            mod_spec = importlib.util.spec_from_file_location(path.stem, path)
            if mod_spec is None or mod_spec.loader is None:  # a file Python cannot import (not .py)
                raise CliError(f"--simulator: {path} is not a Python file; pass path/to/file.py:FACTORY", EXIT_USAGE)
            module = importlib.util.module_from_spec(mod_spec)
            sys.modules.setdefault(path.stem, module)
            mod_spec.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_part)
    except CliError:
        raise
    except ImportError as exc:
        raise CliError(
            f"--simulator: cannot import {module_part!r} ({exc}); run from the folder that holds it, "
            "set PYTHONPATH, or pass path/to/file.py:FACTORY",
            EXIT_USAGE,
        ) from None
    except Exception as exc:
        raise CliError(
            f"--simulator: importing {module_part!r} raised {type(exc).__name__}: {exc}; fix the module "
            "so that it imports",
            EXIT_USAGE,
        ) from exc
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        what = "has no" if factory is None else "has a non-callable"
        raise CliError(
            f"--simulator: module {module_part!r} {what} {attr!r}; name a function that returns the dict", EXIT_USAGE
        )
    # The default report folder names the module and the factory: two factories of one
    # module never overwrite each other's report.
    stem = Path(module_part).stem if module_part.endswith(".py") else module_part.rsplit(".", 1)[-1]
    return factory, f"{stem}-{attr}"


def _factory_keys(diagnose) -> set:
    """Keys a factory may return: simulator, y0, args and diagnose's keyword options."""
    import inspect

    params = inspect.signature(diagnose).parameters
    return set(REQUIRED_KEYS) | {k for k, p in params.items() if p.kind == p.KEYWORD_ONLY and k != "progress"}


def _call_factory(factory, spec: str, allowed: set) -> dict:
    try:
        out = factory()
    except Exception as exc:
        raise CliError(
            f"--simulator: {spec}() raised {type(exc).__name__}: {exc}; fix the factory so that it returns the dict",
            EXIT_USAGE,
        ) from exc
    if not isinstance(out, dict):
        raise CliError(
            f"--simulator: {spec}() returned a {type(out).__name__}; return a dict with keys "
            "simulator, y0, args (and optionally loss, horizons, wrt, name)",
            EXIT_USAGE,
        )
    missing = [k for k in REQUIRED_KEYS if k not in out]
    unknown = sorted(set(out) - allowed)
    if missing or unknown:
        problem = (
            (f"lacks {', '.join(missing)}" if missing else "")
            + ("; " if missing and unknown else "")
            + (f"has unknown key(s) {', '.join(unknown)}" if unknown else "")
        )
        raise CliError(
            f"--simulator: the dict from {spec}() {problem}; allowed keys: {', '.join(sorted(allowed))}", EXIT_USAGE
        )
    return out


def diagnose_simulator(args, progress):
    import chaosgrad
    from chaosgrad import ChaosgradInputError, Study

    diagnose = getattr(chaosgrad, "diagnose", None)
    if diagnose is None:
        raise CliError("this chaosgrad installation has no chaosgrad.diagnose; reinstall chaosgrad", EXIT_FAILED)
    factory, default_name = _load_factory(args.simulator)
    spec = _call_factory(factory, args.simulator, _factory_keys(diagnose))
    name = str(spec.get("name") or default_name)
    kwargs = {k: v for k, v in spec.items() if k not in REQUIRED_KEYS and k != "name"}
    try:
        d = diagnose(spec["simulator"], spec["y0"], spec["args"], name=name, progress=progress, **kwargs)
    except ChaosgradInputError as exc:
        raise CliError(f"--simulator {args.simulator}: {exc}", EXIT_USAGE) from None
    return Study(
        system=safe_name(name),
        title=name,
        summary="",
        diagnosis=d,
        sections=(),
        findings=(),
        mode="full",
        config={"simulator": args.simulator},
        extra={},
    )
