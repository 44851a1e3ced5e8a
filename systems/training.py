"""Training through chaos: fit rho of Lorenz-63 to an observed record by full
backpropagation, with clipping, with truncation at ln 2 / lambda_1 and with averaged
windows, each under chaosgrad.monitor. Writes reports/training/{results.json,report.html,report.pdf}.

    python systems/training.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "training", *sys.argv[1:]])
