"""Atomic writes: stage files beside their destination, then ``os.replace`` them in.

A reader (or a crash) never sees a half-written report: every file is written to a
temporary name in the same folder, flushed to disk, and renamed over the destination,
which POSIX and Windows make atomic within one file system. If anything fails before the
commit, the temporary files are removed and the folder is left as it was.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

from chaosgrad._runtime import interrupts as interrupts

# A staged file is named ``.<stem>.<pid>-<random>.tmp.<ext>`` (``mkstemp``'s random part is
# 8 characters); files of this pattern that a killed writer left behind are removed by the
# next Staging of the folder: those of a pid that is no longer running, and those of a
# live pid (perhaps reused) or without a pid (older versions) once older than these ages.
_STAGED = re.compile(r"^\..+\.(?:(?P<pid>[0-9]+)-)?[a-z0-9_]{8}\.tmp(?:\.[A-Za-z0-9]+)?$")
STALE_SECONDS = 5 * 60
STALE_LIVE_PID_SECONDS = 24 * 3600


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process, or a number no pid can be: leave it to its age
    return True


def remove_stale(folder) -> list[Path]:
    """Delete staged temporaries left in ``folder`` by writers that died (killed before
    their commit or abort); return what was removed. Other files are never touched."""
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _STAGED.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        pid = match["pid"]
        if pid is None:
            stale = age > STALE_SECONDS
        elif int(pid) == os.getpid():
            stale = False  # this process's own staging, still in use
        else:
            stale = not _pid_running(int(pid)) or age > STALE_LIVE_PID_SECONDS
        if stale:
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _publish_mode(path: Path) -> None:
    """Give a staged file the permissions a plain ``open(..., "w")`` would have.

    ``mkstemp`` creates files readable by their owner only; reports are meant to be read
    by others too (a web server, a colleague), so apply the usual ``0o666 & ~umask``.
    """
    try:
        os.chmod(path, 0o666 & ~_umask())
    except OSError:
        pass


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_atomic(path, data: bytes | str) -> Path:
    """Write one file atomically (text is encoded as UTF-8)."""
    path = Path(path)
    with Staging(path.parent) as st:
        st.write(path.name, data)
        return st.commit()[path.name]


class Staging:
    """Stage several files in ``folder`` and move them into place together.

    Use as a context manager; call :meth:`commit` at the end. Leaving the block with an
    exception (or without committing) deletes the staged files and any folders this
    object created.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self._made: list[Path] = []
        self._staged: dict[str, Path] = {}
        self._committed = False

    def __enter__(self) -> Staging:
        missing = []
        p = self.folder
        while not p.exists():
            missing.append(p)
            if p.parent == p:
                break
            p = p.parent
        for q in reversed(missing):
            q.mkdir()
            self._made.append(q)
        if not self.folder.is_dir():
            raise NotADirectoryError(f"{self.folder} exists and is not a folder")
        remove_stale(self.folder)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._committed:
            self.abort()

    def path(self, name: str) -> Path:
        """A fresh temporary path for ``name`` (same folder, same extension, hidden)."""
        if name in self._staged:
            self._staged.pop(name).unlink(missing_ok=True)
        stem, dot, ext = name.rpartition(".")
        prefix, suffix = (f".{stem}.{os.getpid()}-", f".tmp.{ext}") if dot else (f".{name}.{os.getpid()}-", ".tmp")
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=self.folder)
        os.close(fd)
        self._staged[name] = Path(tmp)
        return Path(tmp)

    def write(self, name: str, data: bytes | str) -> Path:
        tmp = self.path(name)
        _fsync_write(tmp, data.encode("utf-8") if isinstance(data, str) else data)
        return tmp

    def discard(self, name: str) -> None:
        """Drop a staged file that was only needed while rendering."""
        tmp = self._staged.pop(name, None)
        if tmp is not None:
            tmp.unlink(missing_ok=True)

    def commit(self) -> dict[str, Path]:
        """Move every staged file to its final name; return ``{name: final path}``.

        An interrupt that arrived before the commit (even one swallowed where it was
        delivered) aborts it: the old files stay. One that arrives during the renames is
        held until they are all done and raised then: the folder holds the old files or
        the new ones, never a mix."""
        interrupts.raise_if_interrupted()
        out = {}
        with interrupts.deferred():
            for name, tmp in list(self._staged.items()):
                final = self.folder / name
                _publish_mode(tmp)
                os.replace(tmp, final)
                out[name] = final
                del self._staged[name]
            self._committed = True
        return out

    def abort(self) -> None:
        for tmp in self._staged.values():
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
        self._staged.clear()
        for d in reversed(self._made):
            try:
                d.rmdir()  # only if still empty
            except OSError:
                pass
        self._made.clear()


def check_writable(folder) -> None:
    """Raise ``OSError`` if ``folder`` cannot be created and written; leave no trace.

    Creates what is missing, writes and deletes a probe file, then removes the folders
    it created, so a long computation can check its output folder before it starts.
    """
    folder = Path(folder)
    made = []
    try:
        p, missing = folder, []
        while not p.exists() and p.parent != p:
            missing.append(p)
            p = p.parent
        for q in reversed(missing):
            q.mkdir()
            made.append(q)
        fd, probe = tempfile.mkstemp(prefix=".chaosgrad-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    finally:
        for q in reversed(made):
            try:
                q.rmdir()
            except OSError:
                pass
