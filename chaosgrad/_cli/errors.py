"""Exit codes and the one error type of the command line (shared by its modules)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
EXIT_IO = 3
EXIT_FAILED = 4
EXIT_INTERRUPTED = 130

# The one table of exit codes: each code and what it means (printed by every --help).
EXIT_MEANINGS = {
    EXIT_OK: "success: the analysis ran and every requested file was written",
    EXIT_INCOMPLETE: "analyze only: files written, but the result is incomplete: the diagnosis status is "
    '"partial" or the verdict is "diverged", "no-gradient" or "inconclusive" (see the '
    "report: it says what would decide it)",
    EXIT_USAGE: "usage error: bad option or argument, unknown system, bad --format or --dpi, a --simulator "
    "factory that cannot be loaded (its module missing or raising on import), that raises, or "
    "that returns bad input",
    EXIT_IO: "input/output error: results file missing, unreadable or not a chaosgrad results file; "
    "output folder not writable; PDF printer unusable",
    EXIT_FAILED: "the analysis itself failed with an unexpected error (--debug shows the traceback)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); nothing half-written is left behind",
}


def _exit_codes_text() -> str:
    import textwrap

    lines = ["exit codes:"]
    for code, meaning in EXIT_MEANINGS.items():
        lines += textwrap.wrap(meaning, 80, initial_indent=f"  {code:<4} ", subsequent_indent=" " * 7)
    return "\n".join(lines)


EXIT_CODES = _exit_codes_text()


class CliError(Exception):
    """A failure with a one-line message and an exit code."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code
