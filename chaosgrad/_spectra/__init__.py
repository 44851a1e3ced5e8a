"""Lyapunov spectra: the engine (``lyapunov``, ``chunks``), its result, covariant vectors, the converged reference dynamics, finite-time exponents along members, and the cost estimate."""
