"""Double pendulum: the symplectic implicit midpoint rule against Heun at the same step;
exponents in ± pairs and the energy error as a conditioning signal. Writes
reports/double_pendulum/{results.json,report.html,report.pdf}.

    python systems/double_pendulum.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "double_pendulum", *sys.argv[1:]])
