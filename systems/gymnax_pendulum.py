"""gymnax Pendulum-v1 closed with an MLP policy: the return's gradient with respect to the
policy's parameters, as shipped (transitions detached), with transition gradients, and on
the angle and its rate as the tangent space. Needs `pip install 'chaosgrad[envs]'`.
Writes reports/gymnax_pendulum/{results.json,report.html,report.pdf}.

    python systems/gymnax_pendulum.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "gymnax_pendulum", *sys.argv[1:]])
