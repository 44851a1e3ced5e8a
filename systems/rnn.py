"""Chaotic RNN: diagnose the tanh RNN at g = 2 (gradient with respect to the initial state) and
sweep the gain across the onset of chaos, with GRU and LSTM networks beside it.
Writes reports/rnn/{results.json,report.html,report.pdf}.

    python systems/rnn.py [--fast] [--out DIR] [--format html,pdf,json]
"""

import sys

from chaosgrad.cli import entry

if __name__ == "__main__":
    entry(["analyze", "rnn", *sys.argv[1:]])
