"""Long-horizon RL rollouts: diagnose policy gradients through the bouncing ball, pendulum,
cart-pole and acrobot over 1,000 steps, and compare autodiff with smoothed gradients at contact.
Writes reports/rl/{results.json,report.html,report.pdf}.

    python systems/rl.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "rl", *sys.argv[1:]])
