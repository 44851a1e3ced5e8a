"""Batch normalisation at initialisation (Yang et al. 2019): gradient explosion with depth
for every activation, unchanged by the weight scale, reduced towards the linear regime and
by residual connections, beside layer norm. Writes reports/batch_norm/{results.json,report.html,report.pdf}.

    python systems/batch_norm.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "batch_norm", *sys.argv[1:]])
