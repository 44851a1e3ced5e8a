"""Lorenz-96 (N = 40): leading exponents, positive count and Kaplan–Yorke dimension at
F = 8, and a forcing sweep across the transition to chaos. Writes
reports/lorenz96/{results.json,report.html,report.pdf}.

    python systems/lorenz96.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "lorenz96", *sys.argv[1:]])
