"""Progress reporting for long analyses on stderr.

The protocol is a callable ``progress(label, done, total)``: the analysis calls it as
work completes, ``done`` of ``total`` units, with ``label`` naming what runs now. One
bar follows a run of calls with the same ``total`` and non-decreasing ``done`` (the
label becomes the bar's description, so a multi-stage analysis shows one bar whose text
says the current stage); a new ``total`` or a ``done`` that goes back starts a new bar.

On a terminal the bar is drawn with tqdm; when stderr is not a terminal (a log file, CI),
or tqdm is not installed, each new label prints one line instead, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from chaosgrad._runtime import interrupts as interrupts


class StderrProgress:
    """``progress(label, done, total)`` drawn on ``stream`` (stderr by default)."""

    def __init__(self, stream=None, *, enabled: bool = True, bars: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.bars = (hasattr(self.stream, "isatty") and self.stream.isatty()) if bars is None else bars
        self._bar: Any = None
        self._total: int | None = None
        self._done = 0
        self._label: str | None = None
        self._start = time.monotonic()

    def __call__(self, label: str, done: int, total: int) -> None:
        # A checkpoint: an interrupt swallowed where it arrived (inside a callback of the
        # runtime) ends the command here.
        interrupts.raise_if_interrupted()
        if not self.enabled:
            return
        label, done, total = str(label), int(done), max(int(total), 0)
        if self._total is None or total != self._total or done < self._done:
            self._finish()
            self._total, self._start = total, time.monotonic()
            if self.bars:
                try:
                    from tqdm import tqdm
                except ImportError:  # no tqdm: one line per stage instead of a bar
                    self.bars = False
                else:
                    self._bar = tqdm(
                        total=total or None,
                        desc=label,
                        file=self.stream,
                        leave=True,
                        dynamic_ncols=True,
                        mininterval=0.2,
                    )
        self._done = done
        if label != self._label:
            self._label = label
            if self._bar is not None:
                self._bar.set_description_str(label, refresh=False)
            else:
                self._line(f"{label} ({done}/{total})")
        if self._bar is not None:
            self._bar.n = min(done, total) if total else done
            self._bar.refresh()
        if total and done >= total:
            self._finish()

    def message(self, text: str) -> None:
        """A one-line status message (e.g. "rendering the report")."""
        if self.enabled:
            self._finish()
            self._line(text)

    def _line(self, text: str) -> None:
        self.stream.write(f"[chaosgrad {time.strftime('%H:%M:%S')}] {text}\n")
        self.stream.flush()

    def _finish(self) -> None:
        if self._total is None:
            return
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.enabled:
            self._line(f"finished in {time.monotonic() - self._start:.1f} s")
        self._total, self._done, self._label = None, 0, None

    def close(self) -> None:
        self._finish()
