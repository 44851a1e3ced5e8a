"""Attention against recurrence: ||d y_L / d x_1|| against sequence length for tanh RNNs
(checked against their Lyapunov exponents), an LSTM and causal self-attention.
Writes reports/attention/{results.json,report.html,report.pdf}.

    python systems/attention.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "attention", *sys.argv[1:]])
