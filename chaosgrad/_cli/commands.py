"""The ``chaosgrad`` sub-commands: list, analyze (one system, every system, or the user's
simulator), report (re-render a results file) and index. Each returns its exit code and
raises :class:`~chaosgrad._cli.errors.CliError` for a failure it can name."""

from __future__ import annotations

import difflib
import sys
import traceback
from pathlib import Path

from chaosgrad._cli import output
from chaosgrad._cli.errors import EXIT_FAILED, EXIT_INCOMPLETE, EXIT_IO, EXIT_OK, EXIT_USAGE, CliError
from chaosgrad._cli.factory import diagnose_simulator, safe_name
from chaosgrad._runtime import interrupts


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
    study = output.with_provenance(study, output.command_line(argv))
    result = output.render(study, out_root / safe_name(name), formats, args, progress)
    index = output.refresh_index(out_root)
    print(output.summary(study, result.files.values(), [index]))
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
            output.err(f"{name}: {exc}")
            codes[name] = exc.code
        except Exception as exc:
            interrupts.raise_if_interrupted()
            if args.debug:
                traceback.print_exc()
            output.err(f"{name}: the analysis failed: {type(exc).__name__}: {exc}")
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

    formats = output.formats(args.format)
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
    output.check_dpi(args.dpi)
    known = studies.names()
    every = args.system is not None and args.system.lower() == "all" and "all" not in known
    if args.system is not None and not every:
        args.system = _match_system(args.system, known)
    spec = _load_spec(args.system) if args.system is not None and not every else None
    out_root = output.out_folder(args.out)
    output.check_writable_folder(out_root)

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


def _load_results(src: Path):
    """The study in ``src``, with one warning line if another chaosgrad version wrote it."""
    from chaosgrad import ChaosgradInputError, report
    from chaosgrad._results.serialize import SCHEMA_VERSION

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
    return study


def _report_destination(args, src: Path, study, formats) -> tuple[Path, Path, bool, tuple[str, ...]]:
    """(report folder, index folder, whether to refresh the index, formats to write): next
    to ``src`` without --out (not rewriting ``src`` itself), else DIR/NAME/."""
    if args.out is None:
        folder, index_root = src.resolve().parent, src.resolve().parent.parent
        refresh = (index_root / "index.html").is_file()
        if src.name == "results.json" and "json" in formats:
            formats = tuple(f for f in formats if f != "json")  # it is the input itself
    else:
        index_root = output.out_folder(args.out)
        output.check_writable_folder(index_root)
        folder, refresh = index_root / safe_name(study.system), True
    return folder, index_root, refresh, formats


def cmd_report(args) -> int:
    from chaosgrad._runtime.progress import StderrProgress

    formats = output.formats(args.format)
    output.check_dpi(args.dpi)
    src = Path(args.results)
    study = _load_results(src)
    folder, index_root, refresh, formats = _report_destination(args, src, study, formats)
    if not formats:
        print(f"nothing to write: {src} is already the results file")
        return EXIT_OK
    progress = StderrProgress(enabled=not args.quiet)
    result = output.render(study, folder, formats, args, progress)
    extra = [output.refresh_index(index_root)] if refresh else []
    print(output.summary(study, result.files.values(), extra))
    return EXIT_OK


def cmd_index(args) -> int:
    folder = Path(args.dir)
    if not folder.is_dir():
        raise CliError(f"no such reports folder: {folder}; pass the folder `chaosgrad analyze --out` wrote to", EXIT_IO)
    print(output.refresh_index(folder))
    return EXIT_OK
