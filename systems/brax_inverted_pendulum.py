"""Brax inverted_pendulum (generalized pipeline) under a linear policy: a balancing gain
and a falling one, the pole angle's gradient with respect to the gains, and the alive
bonus whose return has a zero gradient. Needs `pip install 'chaosgrad[envs]'`.
Writes reports/brax_inverted_pendulum/{results.json,report.html,report.pdf}.

    python systems/brax_inverted_pendulum.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "brax_inverted_pendulum", *sys.argv[1:]])
