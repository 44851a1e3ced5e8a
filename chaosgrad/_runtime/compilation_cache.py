"""JAX's persistent compilation cache for chaosgrad's programs.

A diagnosis in a fresh process spends most of its time compiling: the same programs
(the reference's Lyapunov loop, the user's, the gradient sweep) for the same shapes
every time. JAX can keep compiled executables on disk, keyed by the program, its
shapes, the JAX/XLA versions, the device and the compiler options; a hit loads the
executable instead of compiling it, and runs the very same machine code, so cached
programs give identical numbers (``tests/test_compilation_cache.py`` checks it).

Rules:

1. The folder is ``$CHAOSGRAD_COMPILATION_CACHE`` if set, else
   ``$XDG_CACHE_HOME/chaosgrad/jax`` (default ``~/.cache/chaosgrad/jax``).
   ``CHAOSGRAD_COMPILATION_CACHE=off`` (or ``0``, ``false``, ``no``) turns it off.
2. A cache the user configured (``jax_compilation_cache_dir``) is used as it is:
   chaosgrad never replaces it.
3. It is switched on the first time a chaosgrad entry point computes, not on import.
   JAX has one persistent cache per process: once on, a program of the caller's own
   that takes over a second to compile (JAX's threshold) is cached there too. Inside
   chaosgrad's entry points every program is cached, however fast it compiles
   (:func:`cache_scope`), since a diagnosis compiles many sub-second programs.
4. A folder that cannot be created (read-only home) leaves the cache off, with a
   warning, never an error.
5. Entries a reader cannot decompress (a write cut short by a full disk or a killed
   process) are deleted when the cache is switched on, with one line on stderr: JAX
   would warn at every read of them and never write them again (it does not overwrite
   an existing entry). Each entry is checked once: what was found readable is listed, by
   size and modification time, in ``.chaosgrad-verified.json`` in the folder.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import sys
import tempfile
import threading
import time
import warnings

ENV = "CHAOSGRAD_COMPILATION_CACHE"
_OFF = ("off", "0", "false", "no", "none")
_configured = False


def cache_folder() -> str | None:
    """The folder of rule 1, or ``None`` when turned off."""
    value = os.environ.get(ENV, "").strip()
    if value.lower() in _OFF:
        return None
    if value:
        return os.path.abspath(os.path.expanduser(value))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "chaosgrad", "jax")


def ensure_cache() -> str | None:
    """Switch the cache on once per process (rules 2-4); returns the folder in use."""
    global _configured
    import jax

    current = jax.config.jax_compilation_cache_dir  # type: ignore[attr-defined]  # options are set at run time
    if _configured or current:
        _configured = True
        return current
    _configured = True
    folder = cache_folder()
    if folder is None:
        return None
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        warnings.warn(
            f"chaosgrad: the compilation cache folder {folder} cannot be created ({exc}); "
            f"compiling without a cache (set {ENV} to a writable folder, or to off)",
            stacklevel=3,
        )
        return None
    drop_unreadable(folder)
    jax.config.update("jax_compilation_cache_dir", folder)
    return folder


_VERIFIED = ".chaosgrad-verified.json"
_SETTLE_SECONDS = 60.0


def drop_unreadable(folder: str) -> list[str]:
    """Delete the entries of ``folder`` that do not decompress (rule 5); return their
    file names. Checks only entries not yet listed as readable; any failure of the check
    itself leaves the cache as it is."""
    try:
        from jax._src.compilation_cache import decompress_executable
    except ImportError:  # a JAX that moved it: JAX's own warnings stand
        return []
    index_path = os.path.join(folder, _VERIFIED)
    try:
        with open(index_path, encoding="utf-8") as fh:
            known = json.load(fh)
        known = known if isinstance(known, dict) else {}
    except (OSError, ValueError):
        known = {}
    verified, dropped = {}, []
    try:
        names = [n for n in os.listdir(folder) if n.endswith("-cache")]
    except OSError:
        return []
    for name in names:
        path = os.path.join(folder, name)
        try:
            info = os.stat(path)
            sig = [info.st_size, info.st_mtime_ns]
            if time.time() - info.st_mtime < _SETTLE_SECONDS:
                continue  # perhaps being written by another process now (JAX writes in place)
            if known.get(name) != sig:
                with open(path, "rb") as fh:
                    decompress_executable(fh.read())
            verified[name] = sig
        except OSError:
            continue  # removed meanwhile by another process (eviction), or unreadable: JAX decides
        except Exception:  # noqa: BLE001 - zlib.error, zstd's errors: the entry is damaged
            with contextlib.suppress(OSError):
                os.unlink(path)
                dropped.append(name)
            with contextlib.suppress(OSError):
                os.unlink(path.removesuffix("-cache") + "-atime")
    if verified != known:
        with contextlib.suppress(OSError):
            fd, tmp = tempfile.mkstemp(prefix=".chaosgrad-verified.", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(verified, fh)
            os.replace(tmp, index_path)
    if dropped:
        sys.stderr.write(
            f"chaosgrad: warning: removed {len(dropped)} unreadable entr{'y' if len(dropped) == 1 else 'ies'} "
            f"(cut short) of the compilation cache {folder}; they are compiled and written again\n"
        )
    return dropped


def _min_compile_time_scope(seconds: float):
    """JAX's scoped threshold for writing an entry (a private but long-stable State);
    a JAX without it keeps its own threshold."""
    try:
        from jax._src import config as jax_config

        return jax_config.persistent_cache_min_compile_time_secs(seconds)
    except (ImportError, AttributeError, TypeError):
        return contextlib.nullcontext()


@contextlib.contextmanager
def cache_scope():
    """Inside chaosgrad's entry points: the cache on (once) and every program cached."""
    ensure_cache()
    with _min_compile_time_scope(0.0):
        yield


_TRACING = threading.RLock()  # re-entrant: a lowering that lowers again does not deadlock


@contextlib.contextmanager
def tracing():
    """Hold while tracing and lowering a large program. Tracing is Python and holds the
    GIL: two threads tracing at once each run at about half speed and delay the XLA
    compilations that could overlap them. Under this lock one thread traces while the
    others compile (XLA releases the GIL) or run."""
    with _TRACING:
        yield


_IN_FLIGHT = [0]  # background compilations running now
_IN_FLIGHT_LOCK = threading.Lock()


def compiling_in_background() -> bool:
    """Whether a :func:`compile_in_background` compilation is running now."""
    with _IN_FLIGHT_LOCK:
        return _IN_FLIGHT[0] > 0


def _count_in_flight(change: int) -> None:
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT[0] += change


_BACKGROUND: set = set()  # background threads running now (compilations, measurements)
_BACKGROUND_LOCK = threading.Lock()
_AT_EXIT = [False]


def start_background(target, name: str) -> threading.Thread:
    """Run ``target()`` in a daemon thread that :func:`wait_for_background` waits for.

    A daemon thread still inside XLA (compiling, running) when the interpreter finalises
    is ended from under C++ code, which aborts the process ("terminate called ...
    FATAL: exception not rethrown", exit 134) instead of the caller's own exit code; so
    the interpreter's exit waits for these threads (``atexit``), and so does an entry
    point that raises (:func:`waits_for_background_on_error`)."""

    def run():
        try:
            target()
        finally:
            with _BACKGROUND_LOCK:
                _BACKGROUND.discard(thread)

    thread = threading.Thread(target=run, name=name, daemon=True)
    with _BACKGROUND_LOCK:
        if not _AT_EXIT[0]:
            atexit.register(wait_for_background)
            _AT_EXIT[0] = True
        _BACKGROUND.add(thread)
    thread.start()
    return thread


def wait_for_background() -> None:
    """Join every background thread still running (those they start too), except the
    caller's own."""
    while True:
        with _BACKGROUND_LOCK:
            running = [t for t in _BACKGROUND if t is not threading.current_thread()]
        if not running:
            return
        for thread in running:
            thread.join()


def waits_for_background_on_error(fn):
    """``fn``, which, when it raises an error, first waits for the background work it
    left running (:func:`start_background`): the error reaches the caller with no thread
    inside XLA that could abort the interpreter at exit. An interrupt is passed on at
    once (the command line leaves with ``os._exit``; a script's exit waits at ``atexit``)."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception:
            wait_for_background()
            raise

    return wrapped


def compile_in_background(lower, *args, **kwargs):
    """Compile, in a daemon thread with chaosgrad's scope (float64, cache), the program
    that ``lower(*args, **kwargs)`` lowers (it returns ``jit(f).lower(...)``): traced and
    lowered under :func:`tracing`, compiled outside it. XLA compiles with the GIL
    released, so on a machine with more than one core it overlaps the caller's own
    compiling and running; JAX keeps the executable, so the real call does not compile.
    A failure is left to the real call, which reports it. Returns the thread:
    ``join()`` it before the real call, so the program is not compiled twice."""
    import jax

    def run():
        try:
            with jax.enable_x64(True), cache_scope():
                with tracing():
                    lowered = lower(*args, **kwargs)
                lowered.compile()
        except Exception:  # noqa: BLE001 - the real call reports it
            pass
        finally:
            _count_in_flight(-1)

    _count_in_flight(+1)
    return start_background(run, "chaosgrad-compile")


class BackgroundProgram:
    """A program compiled in a background thread (:meth:`start`, once) and joined
    (:meth:`join`) before the call that runs it, so that it is not compiled twice."""

    def __init__(self, lower):
        self._lower = lower
        self._thread = None

    def start(self):
        if self._thread is None:
            self._thread = compile_in_background(self._lower)
        return self

    def join(self) -> None:
        self.start()._thread.join()
