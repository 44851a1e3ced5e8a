"""Damped and van der Pol oscillators: explicit Euler step sweeps that find where a
contracting (damped) or neutral (limit cycle) system starts to explode numerically; the
damped oscillator at Euler dt = 0.25 is the headline. Writes
reports/oscillators/{results.json,report.html,report.pdf}.

    python systems/oscillators.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "oscillators", *sys.argv[1:]])
