"""Kuramoto–Sivashinsky (L = 22 and 36): explicit RK4 against ETDRK4 on a stiff chaotic
PDE, and the leading exponents against the literature. Writes
reports/kuramoto_sivashinsky/{results.json,report.html,report.pdf}.

    python systems/kuramoto_sivashinsky.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "kuramoto_sivashinsky", *sys.argv[1:]])
