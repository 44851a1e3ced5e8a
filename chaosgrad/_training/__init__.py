"""Training: the monitor of a training loop and the symptoms it recognises."""
