"""What the command line writes: its checks on the output options (formats, dpi, the
output folder), the report and the index, the summary table, and its error lines."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from chaosgrad._cli.errors import EXIT_IO, EXIT_USAGE, CliError


def err(message: str) -> None:
    sys.stderr.write(f"chaosgrad: error: {message}\n")
    sys.stderr.flush()


def formats(text: str) -> tuple[str, ...]:
    from chaosgrad import ChaosgradInputError, report

    try:
        return report.parse_formats(text)
    except ChaosgradInputError:
        raise CliError(
            f"--format {text!r}: use a comma-separated subset of {','.join(report.FORMATS)}, e.g. --format html,pdf",
            EXIT_USAGE,
        ) from None


def check_dpi(dpi: int) -> None:
    if dpi < 20 or dpi > 600:
        raise CliError(f"--dpi {dpi}: use a value between 20 and 600", EXIT_USAGE)


def out_folder(text: str) -> Path:
    """``--out DIR`` as a path; an empty DIR would silently mean the current folder."""
    if not text.strip():
        raise CliError("--out '': name a folder, e.g. --out reports", EXIT_USAGE)
    return Path(text)


def check_writable_folder(folder: Path) -> None:
    """Fail early (before a long analysis) if ``folder`` cannot be created and written."""
    from chaosgrad.report._atomic import check_writable

    try:
        check_writable(folder)
    except OSError as exc:
        raise CliError(
            f"cannot write to output folder {folder} ({exc.strerror or exc}); pass --out with a writable folder",
            EXIT_IO,
        ) from None


def with_provenance(study, command: str):
    from chaosgrad.report._provenance import with_provenance as record

    return record(study, command)


def command_line(argv) -> str:
    return "chaosgrad " + " ".join(shlex.quote(a) for a in argv)


def summary(study, files, extra_files=()) -> str:
    from chaosgrad.report._text import summary_table

    enc = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    return summary_table(study, list(files) + list(extra_files), ascii_only=not enc.startswith("utf"))


def render(study, out_dir: Path, formats, args, progress):
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


def refresh_index(folder: Path):
    from chaosgrad import report

    try:
        return report.write_index(folder)
    except OSError as exc:
        raise CliError(f"cannot write {folder / 'index.html'} ({exc.strerror or exc})", EXIT_IO) from None
