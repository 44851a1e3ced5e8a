"""Deep networks read layer by layer: diagnose a deep sigmoid network with Gaussian weights and
compare activations, initialisations, residual connections and layer normalisation.
Writes reports/deep_network/{results.json,report.html,report.pdf}.

    python systems/deep_network.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "deep_network", *sys.argv[1:]])
