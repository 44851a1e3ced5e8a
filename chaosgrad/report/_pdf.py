"""PDF output: print the report's HTML with headless Chromium, or, when no Chromium is
available, lay out the same document with matplotlib's ``PdfPages``.

Printing the HTML keeps the PDF's content identical to the HTML's (the print stylesheet
sets A4 pages). Chromium is started before the figures are drawn and told what to print
once the HTML is written (:mod:`report._chromium`); a one-shot ``--print-to-pdf`` is the
fallback where that cannot start. The matplotlib fallback (:mod:`report._matplotlib_pdf`)
renders the same :class:`Document`: headline, tables, figures and the reproducibility
block, with a note on every page that says it was used.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--hide-scrollbars",
    "--no-pdf-header-footer",
    "--print-to-pdf-no-header",
    "--run-all-compositor-stages-before-draw",
)


class PdfError(RuntimeError):
    """Chromium could not print the report."""


class PrintTimeout(PdfError):
    """Chromium did not finish printing in time (not worth a second try)."""


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable to print with, or ``None``.

    ``CHAOSGRAD_CHROMIUM`` overrides the search: a path to the executable, or ``none`` to
    force the matplotlib renderer.
    """
    env = os.environ.get("CHAOSGRAD_CHROMIUM")
    if env is not None:
        if env.strip().lower() in ("", "none", "0", "off"):
            return None
        return env if (os.path.isfile(env) and os.access(env, os.X_OK)) else shutil.which(env)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def profile_parent() -> str | None:
    """Where Chromium's throwaway profile goes: ``/dev/shm`` (memory) where it can be
    written, else the default temporary folder. Chromium writes some 140 small files there,
    whose removal took 0.35 s on an ext4 disk mounted with ``discard`` and 1 ms in memory."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def print_with_chromium(html_path: Path, pdf_path: Path, chromium: str, timeout: float = 120.0) -> None:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium (A4 from the print CSS).

    Chromium runs in its own process group: it starts helper processes (zygote, crash
    handler) that outlive a killed parent and keep writing to the profile folder, so on a
    timeout or an interrupt the whole group is killed before the folder is removed.
    """
    with tempfile.TemporaryDirectory(
        prefix="chaosgrad-chromium-", dir=profile_parent(), ignore_cleanup_errors=True
    ) as profile:
        cmd = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf_path}",
            Path(html_path).resolve().as_uri(),
        ]
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
            )
        except OSError as exc:
            raise PdfError(f"could not start {chromium}: {exc}") from exc
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _kill_group(proc)
            raise PrintTimeout(f"{chromium} did not finish printing within {timeout:.0f} s") from exc
        except BaseException:  # an interrupt: no orphaned Chromium left behind
            _kill_group(proc)
            raise
        try:  # helpers that outlived the browser, before their profile folder is removed
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, AttributeError):
            pass
    ok = pdf_path.exists() and pdf_path.stat().st_size > 0
    if ok:
        with open(pdf_path, "rb") as fh:
            ok = fh.read(5) == b"%PDF-"
    if proc.returncode != 0 or not ok:
        tail = stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise PdfError(f"{chromium} exited with {proc.returncode} without a PDF: {' | '.join(tail)}")


def start_printer(chromium: str):
    """A :class:`report._chromium.ChromiumPrinter` starting now, or ``None`` where it
    cannot start (no ``posix_spawn`` or ``fcntl``, or the spawn failed): :func:`write_pdf`
    then prints with :func:`print_with_chromium`."""
    try:
        from chaosgrad.report._chromium import ChromiumPrinter

        return ChromiumPrinter(chromium)
    except (ImportError, AttributeError, NotImplementedError, PdfError):
        return None


def _print_chromium(printer, html_path: Path, pdf_path: Path, chromium: str) -> None:
    """Print with the ``printer`` started early; with a one-shot ``--print-to-pdf`` where it
    did not start, or failed other than by taking too long (a Chromium without the DevTools
    pipe, a renderer that crashed)."""
    if printer is not None:
        try:
            return printer.print(html_path, pdf_path)
        except PrintTimeout:
            raise
        except PdfError:
            pass
    print_with_chromium(html_path, pdf_path, chromium)


def write_pdf(doc, html_path: Path, pdf_path: Path, chromium, printer, pdf_engine: str, warnings: list) -> str:
    """Write the PDF of ``doc`` (written as HTML at ``html_path``) to ``pdf_path``; return
    the engine that made it: Chromium where found (:func:`_print_chromium`), matplotlib when
    it is absent or failed, unless ``pdf_engine`` is ``"chromium"``. Why matplotlib was
    used goes to ``warnings``."""
    if chromium is not None:
        try:
            _print_chromium(printer, html_path, pdf_path, chromium)
            return "chromium"
        except PdfError as exc:
            failure = exc
        if pdf_engine == "chromium":
            raise failure
        warnings.append(f"PDF drawn with matplotlib because Chromium failed: {failure}")
    elif pdf_engine == "auto":
        warnings.append(
            "PDF drawn with matplotlib because no Chromium was found "
            "(install chromium or set CHAOSGRAD_CHROMIUM for a PDF identical to the HTML)"
        )
    from chaosgrad.report._matplotlib_pdf import matplotlib_pdf

    reason = "Chromium was not found" if chromium is None else "Chromium failed"
    matplotlib_pdf(doc, pdf_path, reason if pdf_engine == "auto" else "requested")
    return "matplotlib"


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill ``proc`` and every process of its group, then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        proc.kill()
    proc.communicate()
