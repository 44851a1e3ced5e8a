"""The ``chaosgrad`` command: list, analyze, report and index.

    chaosgrad list
    chaosgrad analyze SYSTEM [--fast] [--out DIR] [--format html,pdf,json]
    chaosgrad analyze --simulator MODULE:FACTORY [--out DIR] [--format ...]
    chaosgrad report RESULTS.json [--out DIR] [--format html,pdf,json]
    chaosgrad index [DIR]

Exit codes are part of the interface (see ``EXIT_CODES``). The parser, the sub-commands
and what they write are in :mod:`chaosgrad._cli` (``parser``, ``commands``, ``output``);
this module runs them: float64 and the compilation cache for the commands that compute,
no JAX for the others, and interrupts and unexpected errors turned into exit codes.
"""

from __future__ import annotations

import sys
import traceback

from chaosgrad._cli import output
from chaosgrad._cli.commands import chaosgrad_version, cmd_analyze, cmd_index, cmd_list, cmd_report  # noqa: F401
from chaosgrad._cli.errors import (  # noqa: F401 (part of the command line's interface)
    EXIT_CODES,
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_IO,
    EXIT_MEANINGS,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
)
from chaosgrad._cli.factory import REQUIRED_KEYS, diagnose_simulator, safe_name  # noqa: F401
from chaosgrad._cli.parser import build_parser
from chaosgrad._runtime import interrupts as interrupts

# The sub-commands that compute (or import the studies that do). The others (report,
# index, help, a usage error) only read results files and write reports: they never
# import JAX, whose start-up was most of a re-render's time.
COMPUTING_COMMANDS = frozenset({"analyze", "list"})


def _command(argv) -> str | None:
    """The sub-command ``argv`` names: its first word that is not an option."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv=None) -> int:
    """Run the command line; return the exit code (see ``EXIT_CODES``). Everything it
    computes runs with float64 enabled in a scope (``chaosgrad._runtime.precision``); the
    sub-commands that do not compute (all but ``COMPUTING_COMMANDS``) run without JAX."""
    argv = list(sys.argv[1:] if argv is None else argv)
    computes = _command(argv) in COMPUTING_COMMANDS
    try:
        # An interrupt inside an extension module's initialisation (numpy's, jaxlib's)
        # can crash it: those imports finish first.
        with interrupts.deferred():
            import numpy  # noqa: F401

            if computes:
                import jax

                from chaosgrad._runtime.compilation_cache import cache_scope
    except KeyboardInterrupt:
        return _interrupted()
    if not computes:
        return _main(argv)
    with jax.enable_x64(True), cache_scope():
        return _main(argv)


def _main(argv) -> int:
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        if args.command == "list":
            return cmd_list(args)
        if args.command == "analyze":
            return cmd_analyze(args, argv)
        if args.command == "report":
            return cmd_report(args)
        return cmd_index(args)
    except CliError as exc:
        if interrupts.interrupted():  # e.g. a temporary folder an interrupt left busy
            return _interrupted()
        output.err(str(exc))
        if debug and exc.__cause__ is not None:
            traceback.print_exception(exc.__cause__)
        return exc.code
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except KeyboardInterrupt:
        return _interrupted()
    except Exception as exc:
        if interrupts.interrupted():  # an interrupt that surfaced as another exception
            return _interrupted()
        return _failed(exc, debug)


def _interrupted() -> int:
    """Say that the command was interrupted; its exit code."""
    output.err("interrupted; no partial report was written")
    return EXIT_INTERRUPTED


def _failed(exc: Exception, debug: bool) -> int:
    """Exit code and message for an exception the command did not expect."""
    from chaosgrad._errors import ChaosgradInputError

    if isinstance(exc, ChaosgradInputError):
        output.err(str(exc))
        return EXIT_USAGE
    if debug:
        traceback.print_exception(exc)
    output.err(
        f"the analysis failed: {type(exc).__name__}: {exc}"
        + ("" if debug else " (rerun with --debug for the traceback)")
    )
    return EXIT_FAILED


def entry(argv=None) -> None:
    """The ``chaosgrad`` command: :func:`main` with interrupts handled, then exit.

    Interrupts end the process at once with exit 130 (:mod:`chaosgrad._runtime.interrupts`)."""
    interrupts.install()
    try:
        code = main(argv)
    except KeyboardInterrupt:
        code = _interrupted()
    # An interrupt that arrived after the last checkpoint, when everything was written,
    # leaves a complete result: the command's own code stands. Leaving without the
    # interpreter's teardown also closes the window where it has restored the default
    # handlers and a late SIGTERM would kill a finished command.
    interrupts.exit_now(code)


if __name__ == "__main__":
    entry()
