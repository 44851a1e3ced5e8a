"""Lorenz-63: the Lyapunov spectrum beside the literature values."""

import jax.numpy as jnp

import chaosgrad as cg

LITERATURE = (0.9056, 0.0, -14.5723)  # Sprott, Chaos and Time-Series Analysis (2003)


def lorenz(t, y, a):
    x, yy, z = y
    return jnp.stack([a["sigma"] * (yy - x), x * (a["rho"] - z) - yy, x * yy - a["beta"] * z])


def main():
    sim = cg.ODESimulator(lorenz, solver=cg.RK4(), dt=0.005)
    args = {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0}
    res = cg.lyapunov_spectrum(sim, jnp.array([1.0, 1.0, 1.0]), args, transient=50.0, interval=0.5, time=2000.0)
    print("Lorenz-63 (sigma 10, rho 28, beta 8/3), RK4 dt 0.005, T = 2000")
    print(f"{'i':>3} {'lambda_i':>10} {'std.err':>9} {'literature':>11}")
    for i, (lam, se, lit) in enumerate(zip(res.exponents, res.standard_error, LITERATURE), 1):
        print(f"{i:>3} {lam:>10.4f} {se:>9.4f} {lit:>11.4f}")
    print(f"sum {res.exponents.sum():.4f} (exact: {-(10 + 1 + 8 / 3):.4f}); Kaplan-Yorke {res.kaplan_yorke:.3f} (2.062)")


if __name__ == "__main__":
    main()
