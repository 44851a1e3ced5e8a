"""Progress reporting for long analyses on stderr.

The protocol is a callable ``progress(label, done, total)``: the analysis calls it as
work completes (``done`` of ``total`` units of the stage named ``label``). On a
terminal each stage gets a tqdm bar; when stderr is not a terminal (a log file, CI) each
stage prints one line when it starts and one when it finishes, so logs stay readable.
"""

from __future__ import annotations

import sys
import time


class StderrProgress:
    """``progress(label, done, total)`` drawing one bar per stage on ``stream``."""

    def __init__(self, stream=None, *, enabled: bool = True, bars: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.bars = (hasattr(self.stream, "isatty") and self.stream.isatty()) if bars is None else bars
        self._label = None
        self._bar = None
        self._start = 0.0

    def __call__(self, label: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        label, done, total = str(label), int(done), max(int(total), 0)
        if label != self._label:
            self._finish()
            self._label, self._start = label, time.monotonic()
            if self.bars:
                from tqdm import tqdm

                self._bar = tqdm(total=total or None, desc=label, file=self.stream, leave=True,
                                 dynamic_ncols=True, mininterval=0.2, unit="step")
            else:
                self.stream.write(f"[chaosgrad] {label}: started ({total} steps)\n")
                self.stream.flush()
        if self._bar is not None:
            self._bar.n = min(done, total) if total else done
            self._bar.refresh()
        if total and done >= total:
            self._finish()

    def message(self, text: str) -> None:
        """A one-line status message (e.g. "rendering the report")."""
        if self.enabled:
            self._finish()
            self.stream.write(f"[chaosgrad] {text}\n")
            self.stream.flush()

    def _finish(self) -> None:
        if self._label is None:
            return
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.enabled:
            self.stream.write(f"[chaosgrad] {self._label}: done in {time.monotonic() - self._start:.1f} s\n")
            self.stream.flush()
        self._label = None

    def close(self) -> None:
        self._finish()
