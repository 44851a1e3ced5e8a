"""Lorenz-63: diagnose d z(T)/d rho at the classic parameters and sweep rho across the
onset of chaos. Writes reports/lorenz63/{results.json,report.html,report.pdf}.

    python systems/lorenz63.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "lorenz63", *sys.argv[1:]])
