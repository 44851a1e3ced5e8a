"""Shadowing: the derivative of a long-time average of a chaotic system (NILSS, LSS), its public entry point and its result."""
