"""``python -m chaosgrad``: the same as the ``chaosgrad`` command."""

import sys

from .cli import main

sys.exit(main())
