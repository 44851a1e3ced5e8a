"""Curvature and gradient noise of Lorenz-63 against the horizon: the Hessian's sharpness
(twice lambda_1), the loss along rho turning rough, and the spread of the gradient over
initial states. Writes reports/curvature/{results.json,report.html,report.pdf}.

    python systems/curvature.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "curvature", *sys.argv[1:]])
