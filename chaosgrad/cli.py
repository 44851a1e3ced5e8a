"""The ``chaosgrad`` command: list, analyze, report and index.

    chaosgrad list
    chaosgrad analyze SYSTEM [--fast] [--out DIR] [--format html,pdf,json]
    chaosgrad analyze --simulator MODULE:FACTORY [--out DIR] [--format ...]
    chaosgrad report RESULTS.json [--out DIR] [--format html,pdf,json]
    chaosgrad index [DIR]

Exit codes are part of the interface (see ``EXIT_CODES``).
"""

from __future__ import annotations

import argparse
import difflib
import shlex
import sys
import traceback
from pathlib import Path

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
from chaosgrad._runtime import interrupts as interrupts


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors that say where the help is."""

    def error(self, message):  # noqa: D401 (argparse API)
        raise CliError(f"{message}. See `{self.prog} --help`", EXIT_USAGE)

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but arguments left over after a sub-command are reported by that
        sub-command's parser (its help is where the options are), with close option names."""
        ns, extras = self.parse_known_args(args, namespace)
        if extras:
            owner = self._sub_command_parser(ns)
            options = [o for a in owner._actions for o in a.option_strings]
            close = [m for e in extras if e.startswith("-") for m in difflib.get_close_matches(e, options, 1)]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            owner.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
        return ns

    def _sub_command_parser(self, ns) -> argparse.ArgumentParser:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action.choices.get(getattr(ns, action.dest, None), self)
        return self


# ---------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    from chaosgrad import report

    fmt_help = (
        f"comma-separated output formats out of {','.join(report.FORMATS)} "
        "(default: all three). html is one self-contained file; pdf is the same page printed "
        "by headless Chromium (matplotlib layout when Chromium is absent); json is the "
        "results file a report can be rebuilt from"
    )
    common = _Parser(add_help=False)
    common.add_argument("--format", default="html,pdf,json", metavar="FORMATS", help=fmt_help)
    common.add_argument(
        "--pdf-engine",
        default="auto",
        choices=("auto", "chromium", "matplotlib"),
        help="how to make the PDF: auto (Chromium if found, else matplotlib), chromium (fail "
        "without it) or matplotlib. CHAOSGRAD_CHROMIUM=/path/to/chromium picks the browser",
    )
    common.add_argument("--dpi", type=int, default=150, help="figure resolution in dots per inch (default 150)")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress output on stderr")
    common.add_argument("--debug", action="store_true", help="print the traceback of unexpected errors")

    parser = _Parser(
        prog="chaosgrad",
        description="Tell whether gradients through a long simulation explode or vanish because "
        "of true chaos or because of poor numerical conditioning, and write the evidence as an "
        "HTML/PDF report.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from chaosgrad import __version__

    parser.add_argument("--version", action="version", version=f"chaosgrad {__version__}")
    sub = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        parser_class=_Parser,
        help="what to do; `chaosgrad COMMAND --help` explains each",
    )

    sub.add_parser(
        "list",
        help="list the bundled systems",
        description="List the bundled systems (names to pass to `chaosgrad analyze`) with their titles.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    an = sub.add_parser(
        "analyze",
        parents=[common],
        help="analyse a bundled system or your own simulator",
        description="Run the analysis of a bundled system (or of your simulator with --simulator) "
        "and write DIR/NAME/results.json, report.html and report.pdf, then refresh DIR/index.html. "
        "A progress bar is drawn on stderr and a summary table printed at the end.",
        epilog=EXIT_CODES + "\n\nexamples:\n  chaosgrad analyze lorenz63 --fast\n  chaosgrad analyze all\n"
        "  chaosgrad analyze --simulator mysim:make --out results --format html,json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    an.add_argument(
        "system",
        nargs="?",
        metavar="SYSTEM",
        help="a bundled system (see `chaosgrad list`), or `all` for every one of them "
        "(the exit code is then the worst of theirs)",
    )
    an.add_argument(
        "--simulator",
        metavar="MODULE:FACTORY",
        help="analyse your own simulator instead: FACTORY() in MODULE (an importable module, or "
        "path/to/file.py) returns a dict with keys simulator, y0, args and optionally loss, "
        "horizons, wrt, name or any other keyword option of chaosgrad.diagnose (reference, "
        "members, seed, ...); chaosgrad.diagnose(simulator, y0, args, ...) runs on it and the "
        "report goes to DIR/NAME/",
    )
    an.add_argument(
        "--fast",
        action="store_true",
        help="bundled systems only: the quick version of the study (fewer horizons, "
        "members and sweep points) for a first look or CI",
    )
    an.add_argument(
        "--out", default="reports", metavar="DIR", help="reports folder (default ./reports); files go to DIR/NAME/"
    )

    rp = sub.add_parser(
        "report",
        parents=[common],
        help="re-render a report from results.json (no recomputation)",
        description="Rebuild report.html/report.pdf from a results.json without recomputing. "
        "Without --out the report is written next to RESULTS (and the index of the folder above "
        "is refreshed if it has one); with --out DIR it goes to DIR/NAME/ and DIR/index.html is "
        "refreshed. Every field is checked against the results schema first. A file written by "
        "another chaosgrad version (older or newer) renders if its schema number is this version's, "
        "with one warning line; a file of another schema is refused (exit 3).",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rp.add_argument("results", metavar="RESULTS.json", help="a results file written by chaosgrad")
    rp.add_argument("--out", default=None, metavar="DIR", help="reports folder to write DIR/NAME/ into")

    ix = sub.add_parser(
        "index",
        help="rebuild DIR/index.html from the results in DIR",
        description="Scan DIR/*/results.json and rewrite DIR/index.html listing every report with its verdict.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ix.add_argument("dir", nargs="?", default="reports", metavar="DIR", help="reports folder (default ./reports)")
    ix.add_argument("--debug", action="store_true", help="print the traceback of unexpected errors")
    return parser


# ---------------------------------------------------------------------------- helpers


def _err(message: str) -> None:
    sys.stderr.write(f"chaosgrad: error: {message}\n")
    sys.stderr.flush()


def _formats(text: str) -> tuple[str, ...]:
    from chaosgrad import ChaosgradInputError, report

    try:
        return report.parse_formats(text)
    except ChaosgradInputError:
        raise CliError(
            f"--format {text!r}: use a comma-separated subset of {','.join(report.FORMATS)}, e.g. --format html,pdf",
            EXIT_USAGE,
        ) from None


def _check_dpi(dpi: int) -> None:
    if dpi < 20 or dpi > 600:
        raise CliError(f"--dpi {dpi}: use a value between 20 and 600", EXIT_USAGE)


def _out_folder(text: str) -> Path:
    """``--out DIR`` as a path; an empty DIR would silently mean the current folder."""
    if not text.strip():
        raise CliError("--out '': name a folder, e.g. --out reports", EXIT_USAGE)
    return Path(text)


def _check_writable(folder: Path) -> None:
    """Fail early (before a long analysis) if ``folder`` cannot be created and written."""
    from chaosgrad.report._atomic import check_writable

    try:
        check_writable(folder)
    except OSError as exc:
        raise CliError(
            f"cannot write to output folder {folder} ({exc.strerror or exc}); pass --out with a writable folder",
            EXIT_IO,
        ) from None


def _with_provenance(study, command: str):
    from chaosgrad.report._provenance import with_provenance

    return with_provenance(study, command)


def _command_line(argv) -> str:
    return "chaosgrad " + " ".join(shlex.quote(a) for a in argv)


def _summary(study, files, extra_files=()) -> str:
    from chaosgrad.report._text import summary_table

    enc = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    return summary_table(study, list(files) + list(extra_files), ascii_only=not enc.startswith("utf"))


def _render(study, out_dir: Path, formats, args, progress):
    from chaosgrad import report

    if "html" in formats or "pdf" in formats:
        progress.message(f"rendering the report into {out_dir}")
    try:
        result = report.render(study, out_dir, formats, dpi=args.dpi, pdf_engine=args.pdf_engine)
    except report.PdfError as exc:
        raise CliError(
            f"cannot make the PDF: {exc}; use --pdf-engine matplotlib or --format html,json", EXIT_IO
        ) from None
    except OSError as exc:
        raise CliError(
            f"cannot write the report to {out_dir} ({exc.strerror or exc}); pass --out with a writable folder", EXIT_IO
        ) from None
    for w in result.warnings:
        sys.stderr.write(f"chaosgrad: warning: {w}\n")
    return result


def _refresh_index(folder: Path):
    from chaosgrad import report

    try:
        return report.write_index(folder)
    except OSError as exc:
        raise CliError(f"cannot write {folder / 'index.html'} ({exc.strerror or exc})", EXIT_IO) from None


# ---------------------------------------------------------------------------- commands


def _has_fast(spec) -> bool:
    import inspect

    try:
        return "fast" in inspect.signature(spec.run).parameters
    except (TypeError, ValueError):
        return False


def cmd_list(args) -> int:
    from chaosgrad import studies

    names = studies.names()
    if not names:
        print("no bundled systems are registered")
        return EXIT_OK
    rows = [("analysis", "--fast", "--fast on 2 cores", "title")]
    for name in names:
        seconds = studies.FAST_SECONDS.get(name)
        took = "not measured" if seconds is None else f"{seconds:.0f} s"
        try:
            spec = studies.get(name)
            rows.append((name, "yes" if _has_fast(spec) else "no", took, spec.title))
        except Exception as exc:  # list the rest even if one study cannot load
            rows.append((name, "?", took, f"(cannot load: {type(exc).__name__}: {exc})"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(f"{c:<{w}}" for c, w in zip(row, widths)) + f"  {row[3]}")
    print(f"\ntimes: {studies.FAST_SECONDS_MEASURED}")
    return EXIT_OK


def _match_system(name: str, known: list[str]) -> str:
    """The bundled system ``name`` means, ignoring case; else a usage error with close names."""
    if name in known:
        return name
    folded = {k.lower(): k for k in known}
    if name.lower() in folded:
        return folded[name.lower()]
    close = [folded[m] for m in difflib.get_close_matches(name.lower(), list(folded), 3, 0.75)]
    close.sort(key=lambda k: sorted(k) != sorted(name.lower()))  # a transposition first (lorenz36)
    if close:
        hint = "; did you mean " + " or ".join(repr(c) for c in close) + "?"
        raise CliError(f"unknown system {name!r}{hint} Run `chaosgrad list` to see the bundled systems", EXIT_USAGE)
    hint = f" (known: {', '.join(known)})" if known else " (none are registered)"
    raise CliError(f"unknown system {name!r}{hint}; run `chaosgrad list` to see the bundled systems", EXIT_USAGE)


def _load_spec(name: str):
    from chaosgrad import studies

    try:
        return studies.get(name)
    except Exception as exc:
        raise CliError(f"cannot load the study {name!r}: {type(exc).__name__}: {exc}", EXIT_FAILED) from exc


def _outcome(study) -> int:
    d = study.diagnosis
    undecided = d.verdict in ("diverged", "no-gradient", "inconclusive")
    return EXIT_INCOMPLETE if (d.status != "ok" or undecided) else EXIT_OK


def _finish(study, name, args, argv, out_root, formats, progress) -> int:
    """Record provenance, write DIR/NAME/ and the index, print the summary."""
    study = _with_provenance(study, _command_line(argv))
    result = _render(study, out_root / safe_name(name), formats, args, progress)
    index = _refresh_index(out_root)
    print(_summary(study, result.files.values(), [index]))
    return _outcome(study)


def _analyze_all(names, args, argv, out_root, formats, progress) -> int:
    """Every bundled system in turn; one failing system does not stop the others."""
    codes = {}
    for name in names:
        progress.message(f"analysing {name}")
        try:
            spec = _load_spec(name)
            try:
                study = spec.run(fast=args.fast, progress=progress)
            finally:
                progress.close()
            codes[name] = _finish(study, name, args, argv, out_root, formats, progress)
        except CliError as exc:
            interrupts.raise_if_interrupted()
            _err(f"{name}: {exc}")
            codes[name] = exc.code
        except Exception as exc:
            interrupts.raise_if_interrupted()
            if args.debug:
                traceback.print_exc()
            _err(f"{name}: the analysis failed: {type(exc).__name__}: {exc}")
            codes[name] = EXIT_FAILED
        print()
    failed = {n: c for n, c in codes.items() if c > EXIT_INCOMPLETE}
    print(
        f"analysed {len(codes)} systems: {sum(c == EXIT_OK for c in codes.values())} ok, "
        f"{sum(c == EXIT_INCOMPLETE for c in codes.values())} incomplete, {len(failed)} failed"
        + (f" ({', '.join(failed)})" if failed else "")
    )
    return max(failed.values()) if failed else max(codes.values(), default=EXIT_OK)


def cmd_analyze(args, argv) -> int:
    from chaosgrad import studies
    from chaosgrad._runtime.progress import StderrProgress

    formats = _formats(args.format)
    if (args.system is None) == (args.simulator is None):
        raise CliError(
            "give either a SYSTEM (see `chaosgrad list`) or --simulator MODULE:FACTORY, not "
            + ("both" if args.system else "neither"),
            EXIT_USAGE,
        )
    if args.simulator and args.fast:
        raise CliError(
            "--fast applies to bundled systems; for your simulator pass fewer horizons from the factory", EXIT_USAGE
        )
    _check_dpi(args.dpi)
    known = studies.names()
    every = args.system is not None and args.system.lower() == "all" and "all" not in known
    if args.system is not None and not every:
        args.system = _match_system(args.system, known)
    spec = _load_spec(args.system) if args.system is not None and not every else None
    out_root = _out_folder(args.out)
    _check_writable(out_root)

    progress = StderrProgress(enabled=not args.quiet)
    if every:
        return _analyze_all(known, args, argv, out_root, formats, progress)
    try:
        study = spec.run(fast=args.fast, progress=progress) if spec is not None else diagnose_simulator(args, progress)
    finally:
        progress.close()
    return _finish(study, args.system or study.system, args, argv, out_root, formats, progress)


def chaosgrad_version() -> str:
    from chaosgrad import __version__

    return __version__


def cmd_report(args) -> int:
    from chaosgrad import ChaosgradInputError, report
    from chaosgrad._results.serialize import SCHEMA_VERSION
    from chaosgrad._runtime.progress import StderrProgress

    formats = _formats(args.format)
    _check_dpi(args.dpi)
    src = Path(args.results)
    try:
        study, written_by = report.load_with_version(src)
    except FileNotFoundError:
        raise CliError(
            f"no such results file: {src}; pass the results.json that `chaosgrad analyze` wrote", EXIT_IO
        ) from None
    except IsADirectoryError:
        raise CliError(f"{src} is a folder; pass the results.json inside it", EXIT_IO) from None
    except OSError as exc:
        raise CliError(f"cannot read {src} ({exc.strerror or exc})", EXIT_IO) from None
    except ChaosgradInputError as exc:
        detail = str(exc).split(": ", 1)[-1].split(". Fix:")[0]
        raise CliError(f"{detail}; pass a results.json written by chaosgrad", EXIT_IO) from None
    if written_by != chaosgrad_version():
        # The schema number decides what can be read, not the version: a file of the same
        # schema from any chaosgrad (older or newer) was checked field by field above and
        # renders, with this one warning line.
        sys.stderr.write(
            f"chaosgrad: warning: {src} was written by "
            f"{'chaosgrad ' + written_by if written_by else 'an earlier chaosgrad'}; rendering with "
            f"chaosgrad {chaosgrad_version()} (same results schema {SCHEMA_VERSION})\n"
        )
    if args.out is None:
        folder, index_root = src.resolve().parent, src.resolve().parent.parent
        refresh = (index_root / "index.html").is_file()
        if src.name == "results.json" and "json" in formats:
            formats = tuple(f for f in formats if f != "json")  # it is the input itself
    else:
        index_root = _out_folder(args.out)
        _check_writable(index_root)
        folder, refresh = index_root / safe_name(study.system), True
    if not formats:
        print(f"nothing to write: {src} is already the results file")
        return EXIT_OK
    progress = StderrProgress(enabled=not args.quiet)
    result = _render(study, folder, formats, args, progress)
    extra = [_refresh_index(index_root)] if refresh else []
    print(_summary(study, result.files.values(), extra))
    return EXIT_OK


def cmd_index(args) -> int:
    folder = Path(args.dir)
    if not folder.is_dir():
        raise CliError(f"no such reports folder: {folder}; pass the folder `chaosgrad analyze --out` wrote to", EXIT_IO)
    print(_refresh_index(folder))
    return EXIT_OK


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
        _err(str(exc))
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
    _err("interrupted; no partial report was written")
    return EXIT_INTERRUPTED


def _failed(exc: Exception, debug: bool) -> int:
    """Exit code and message for an exception the command did not expect."""
    from chaosgrad._errors import ChaosgradInputError

    if isinstance(exc, ChaosgradInputError):
        _err(str(exc))
        return EXIT_USAGE
    if debug:
        traceback.print_exception(exc)
    _err(
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
