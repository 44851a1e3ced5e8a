"""A headless Chromium started early and told later what to print.

Printing a report with ``chromium --print-to-pdf=FILE URL`` starts the browser when the
HTML exists, after the figures are drawn; starting it takes most of the time it runs
(about 70 % for a report of seven figures). :class:`ChromiumPrinter` starts Chromium
first, so that its start-up runs on another core while matplotlib draws, and then prints
the written HTML over the DevTools protocol on a pipe: Chromium started with
``--remote-debugging-pipe`` reads JSON commands, each ended by a NUL byte, on its file
descriptor 3 and writes replies and events on descriptor 4.

The print is the one ``--print-to-pdf`` makes: the page's own ``@page`` size (A4 in the
report's print stylesheet), backgrounds printed, no header or footer.

Chromium runs in its own session and process group: its helper processes (zygote,
renderer, crash handler) outlive a killed parent and keep writing to the profile folder,
so on any failure, a timeout or an interrupt the whole group is killed before the folder
is removed.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import tempfile
import time
from pathlib import Path

from chaosgrad.report._pdf import CHROMIUM_FLAGS, PdfError, PrintTimeout, profile_parent

# The one-shot print's flags, less those of its command-line printing: with the DevTools
# pipe, Chromium 156's renderer crashes on loading a page under --no-pdf-header-footer.
SESSION_FLAGS = tuple(f for f in CHROMIUM_FLAGS if f not in ("--no-pdf-header-footer", "--print-to-pdf-no-header"))
# Events that say the tab to print in is gone (its renderer crashed or was closed).
_GONE = ("Inspector.detached", "Inspector.targetCrashed", "Target.detachedFromTarget", "Target.targetCrashed")
# Page.printToPDF's parameters for the print ``--print-to-pdf --no-pdf-header-footer``
# makes: the stylesheet's @page size and margins, its backgrounds, no header or footer.
PRINT_PARAMS = {"printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": False}


class ChromiumPrinter:
    """Headless Chromium, started at construction, printing one HTML file to PDF.

    Use as a context manager; :meth:`print` may be called once, and leaving the block
    ends the browser."""

    def __init__(self, chromium: str):
        self.chromium = chromium
        self._profile = tempfile.mkdtemp(prefix="chaosgrad-chromium-", dir=profile_parent())
        self._buf, self._id = b"", 0
        self._events: list[dict] = []
        self.pid: int | None = None
        self._status: int | None = None
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()
        # posix_spawn's dup2 actions put the pipe ends on Chromium's fds 3 and 4 without
        # running Python code between fork and exec; the ends are first moved above 9 so
        # that the two dup2 actions cannot clobber one another.
        a, b = (fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_chrome_r, from_chrome_w))
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, a, 3),
            (os.POSIX_SPAWN_DUP2, b, 4),
        ]
        argv = [chromium, *SESSION_FLAGS, "--remote-debugging-pipe", f"--user-data-dir={self._profile}", "about:blank"]
        try:
            try:
                self.pid = os.posix_spawn(chromium, argv, os.environ, file_actions=actions, setsid=True)
            except OSError as exc:
                raise PdfError(f"could not start {chromium}: {exc}") from exc
            finally:
                for fd in (to_chrome_r, from_chrome_w, a, b):
                    os.close(fd)
            # Queued now, answered while the figures are drawn: the tab to print in.
            self._tab = self._send("Target.createTarget", url="about:blank")
        except BaseException:  # nothing left behind: no browser, pipe or profile folder
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ the protocol

    def _send(self, method: str, session: str | None = None, **params) -> int:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session is not None:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        try:
            while data:  # a large command may take more than one write
                data = data[os.write(self._w, data) :]
        except OSError as exc:  # EPIPE: Chromium has exited
            raise PdfError(f"{self.chromium} exited before printing ({exc.strerror or exc})") from None
        return self._id

    def _exited(self) -> int | None:
        """Chromium's exit code once it has exited (it is then reaped), else ``None``."""
        if self._status is None and self.pid is not None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._status = os.waitstatus_to_exitcode(status)
        return self._status

    def _recv(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            # A helper process can hold the pipe open after the browser exited: look at
            # the browser itself every 0.1 s rather than wait for the end of the pipe.
            if not select.select([self._r], [], [], min(left, 0.1))[0]:
                if self._exited() is not None:
                    raise PdfError(f"{self.chromium} exited with {self._status} without printing")
                continue
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise PdfError(f"{self.chromium} exited before printing")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        m = json.loads(msg)
        if m.get("method") in _GONE:
            reason = m.get("params", {}).get("reason") or m["method"]
            raise PdfError(f"{self.chromium} lost the page it was printing ({reason})")
        return m

    def _reply(self, call_id: int, deadline: float) -> dict:
        """The result of command ``call_id``; events that arrive first are kept."""
        while True:
            m = self._recv(deadline)
            if m.get("id") == call_id:
                if "error" in m:
                    raise PdfError(f"{self.chromium} refused to print: {m['error'].get('message', m['error'])}")
                return m.get("result", {})
            self._events.append(m)

    def _event(self, method: str, session: str, deadline: float) -> dict:
        while True:
            for i, m in enumerate(self._events):
                if m.get("method") == method and m.get("sessionId") == session:
                    return self._events.pop(i)
            self._events.append(self._recv(deadline))

    def _call(self, method: str, deadline: float, session: str | None = None, **params) -> dict:
        return self._reply(self._send(method, session, **params), deadline)

    # ------------------------------------------------------------------ printing

    def print(self, html_path: Path, pdf_path: Path, timeout: float = 120.0) -> None:
        """Print ``html_path`` to ``pdf_path`` (A4 from the print CSS), within ``timeout``
        seconds of this call; :class:`PdfError` when Chromium fails or is too slow."""
        deadline = time.monotonic() + timeout
        try:
            target = self._reply(self._tab, deadline)["targetId"]
            session = self._call("Target.attachToTarget", deadline, targetId=target, flatten=True)["sessionId"]
            self._call("Page.enable", deadline, session)
            self._call("Page.navigate", deadline, session, url=Path(html_path).resolve().as_uri())
            self._event("Page.loadEventFired", session, deadline)
            data = self._call("Page.printToPDF", deadline, session, **PRINT_PARAMS)["data"]
        except TimeoutError:
            raise PrintTimeout(f"{self.chromium} did not finish printing within {timeout:.0f} s") from None
        except (KeyError, ValueError) as exc:  # an answer without its field, or not JSON
            raise PdfError(f"{self.chromium} answered what is not a PDF ({type(exc).__name__}: {exc})") from None
        pdf = base64.b64decode(data)
        if not pdf.startswith(b"%PDF-"):
            raise PdfError(f"{self.chromium} printed something that is not a PDF")
        Path(pdf_path).write_bytes(pdf)

    def close(self) -> None:
        """End Chromium and its helpers, remove its profile folder. Safe to call twice."""
        pid, self.pid = self.pid, None
        try:
            if pid is not None:
                _stop(pid, reaped=self._status is not None)
        finally:
            for name in ("_w", "_r"):
                fd = getattr(self, name, None)
                if fd is not None:
                    os.close(fd)
                    setattr(self, name, None)
            shutil.rmtree(self._profile, ignore_errors=True)


def _stop(pid: int, reaped: bool) -> None:
    """Kill Chromium ``pid`` and its helpers (its process group) and reap it. The PDF is
    written and the profile is thrown away, so nothing is lost by not closing it politely
    (which took 0.6 s of waiting)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if not reaped:
        os.waitpid(pid, 0)
