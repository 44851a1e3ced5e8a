"""Contact and clipping: a ball bouncing off a wall, gymnax Pendulum-v1 (clipped
velocity and torque) with a random policy and a capsule on the ground in Brax with a
random linear policy (not under --fast), the gradient of the smoothed loss by the
first-order (AD) and zeroth-order (randomised-smoothing) estimators against the horizon.
Needs `pip install 'chaosgrad[envs]'`. Writes reports/contact/{results.json,report.html,report.pdf}.

    python systems/contact.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "contact", *sys.argv[1:]])
