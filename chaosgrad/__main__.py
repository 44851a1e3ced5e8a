"""``python -m chaosgrad``: the same as the ``chaosgrad`` command."""

from .cli import entry

entry()
