"""Rössler: slow chaos (lambda_1 = 0.071); the gradient rate and its interval against the
longest horizon, showing how long a horizon the rate needs to be measurable. Writes
reports/rossler/{results.json,report.html,report.pdf}.

    python systems/rossler.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "rossler", *sys.argv[1:]])
