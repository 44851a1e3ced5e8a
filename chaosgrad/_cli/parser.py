"""The ``chaosgrad`` command line's parser: its sub-commands, their options and help.

Usage errors are :class:`~chaosgrad._cli.errors.CliError` with exit code ``EXIT_USAGE``,
one line that says where the help is.
"""

from __future__ import annotations

import argparse
import difflib

from chaosgrad._cli.errors import EXIT_CODES, EXIT_USAGE, CliError


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
                return action.choices.get(getattr(ns, action.dest, None) or "", self)
        return self


def _common_options() -> argparse.ArgumentParser:
    """The options every rendering sub-command (analyze, report) shares."""
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
    return common


def build_parser() -> argparse.ArgumentParser:
    """The ``chaosgrad`` parser with its sub-commands list, analyze, report and index."""
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
    common = _common_options()
    _add_analyze(sub, common)
    _add_report(sub, common)
    _add_index(sub)
    return parser


def _add_analyze(sub, common: argparse.ArgumentParser) -> None:
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


def _add_report(sub, common: argparse.ArgumentParser) -> None:
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


def _add_index(sub) -> None:
    ix = sub.add_parser(
        "index",
        help="rebuild DIR/index.html from the results in DIR",
        description="Scan DIR/*/results.json and rewrite DIR/index.html listing every report with its verdict.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ix.add_argument("dir", nargs="?", default="reports", metavar="DIR", help="reports folder (default ./reports)")
    ix.add_argument("--debug", action="store_true", help="print the traceback of unexpected errors")
