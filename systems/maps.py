"""Logistic and Hénon maps: sweep r through the logistic map's period-doubling cascade
(2.8 to 4), diagnose r = 4 (ln 2) and the Hénon map against Sprott 2003. Writes
reports/maps/{results.json,report.html,report.pdf}.

    python systems/maps.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "maps", *sys.argv[1:]])
