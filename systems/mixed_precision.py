"""Mixed precision: float16 underflow of a vanishing gradient, the underflow horizon that
dynamic loss scaling moves, and a deep sigmoid network trained in float16 with and without
it. Writes reports/mixed_precision/{results.json,report.html,report.pdf}.

    python systems/mixed_precision.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "mixed_precision", *sys.argv[1:]])
