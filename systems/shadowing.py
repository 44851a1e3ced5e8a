"""Shadowing: d<z>/d rho of Lorenz-63 by NILSS at several rho against finite differences of
long averages and the exploding finite-horizon gradient, Lorenz-96 with 13 unstable
directions, and covariant Lyapunov vectors. Writes reports/shadowing/{results.json,report.html,report.pdf}.

    python systems/shadowing.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "shadowing", *sys.argv[1:]])
