"""Function and module lengths against the house limits.

The house rule: no function longer than 80 lines and no module longer than 400 lines
outside the tests, counted after ``ruff format`` (line length 120). A function's length is
``end_lineno - lineno + 1`` from :mod:`ast`, docstring included; a module's length is its
number of lines. Run from the repository root::

    python benchmarks/house_metrics.py [PACKAGE_DIR] [--max-function N] [--max-module N]

It prints every offender, longest first, and the totals; the exit status is 0 either way,
since the listing is a measurement, not a gate.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

MAX_FUNCTION = 80
MAX_MODULE = 400


def function_lengths(path: Path) -> list[tuple[str, int, int]]:
    """(qualified name, first line, length) of every function and method in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                found.append((name, child.lineno, child.end_lineno - child.lineno + 1))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", nargs="?", default="chaosgrad", help="folder to measure (default: chaosgrad)")
    parser.add_argument("--max-function", type=int, default=MAX_FUNCTION, help="longest allowed function, lines")
    parser.add_argument("--max-module", type=int, default=MAX_MODULE, help="longest allowed module, lines")
    args = parser.parse_args(argv)

    root = Path(args.package)
    files = sorted(p for p in root.rglob("*.py") if "tests" not in p.parts)
    long_functions: list[tuple[int, str]] = []
    long_modules: list[tuple[int, str]] = []
    n_functions = 0
    n_lines = 0
    for path in files:
        lines = len(path.read_text(encoding="utf-8").splitlines())
        n_lines += lines
        if lines > args.max_module:
            long_modules.append((lines, str(path)))
        for name, lineno, length in function_lengths(path):
            n_functions += 1
            if length > args.max_function:
                long_functions.append((length, f"{path}:{lineno} {name}"))

    print(f"functions over {args.max_function} lines:")
    for length, where in sorted(long_functions, reverse=True):
        print(f"  {length:5d}  {where}")
    print(f"modules over {args.max_module} lines:")
    for lines, where in sorted(long_modules, reverse=True):
        print(f"  {lines:5d}  {where}")
    print(
        f"totals: {len(files)} modules, {n_lines} lines, {n_functions} functions; "
        f"{len(long_functions)} functions over {args.max_function}, {len(long_modules)} modules over {args.max_module}"
    )


if __name__ == "__main__":
    main()
