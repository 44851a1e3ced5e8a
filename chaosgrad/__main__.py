"""``python -m chaosgrad``: the same as the ``chaosgrad`` command."""

from chaosgrad._runtime import interrupts as _interrupts

_interrupts.install()  # first: an interrupt during start-up also exits 130 (chaosgrad._runtime.interrupts)
try:
    with _interrupts.deferred():
        from chaosgrad.cli import entry
except KeyboardInterrupt:
    import sys

    print("chaosgrad: error: interrupted; no partial report was written", file=sys.stderr)
    _interrupts.exit_now(130)

entry()
