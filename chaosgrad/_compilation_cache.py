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
"""

from __future__ import annotations

import contextlib
import os
import threading
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

    current = jax.config.jax_compilation_cache_dir
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
        warnings.warn(f"chaosgrad: the compilation cache folder {folder} cannot be created ({exc}); "
                      f"compiling without a cache (set {ENV} to a writable folder, or to off)", stacklevel=3)
        return None
    jax.config.update("jax_compilation_cache_dir", folder)
    return folder


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
    thread = threading.Thread(target=run, name="chaosgrad-compile", daemon=True)
    thread.start()
    return thread
