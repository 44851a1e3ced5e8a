"""The command line's parts: its exit codes and errors, and loading a --simulator factory."""
