"""The bundled physical systems: exact identities first, then literature values (slow)."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg
from chaosgrad._errors import ChaosgradInputError
from chaosgrad.zoo._attractors import lorenz63, lorenz96, rossler
from chaosgrad.zoo._double_pendulum import ImplicitMidpoint, double_pendulum, double_pendulum_energy
from chaosgrad.zoo._ks import ETDRK4, KuramotoSivashinskyModel, etdrk4_coefficients, kuramoto_sivashinsky
from chaosgrad.zoo._maps import henon, logistic
from chaosgrad.zoo._oscillators import damped_oscillator, damped_oscillator_matrix, van_der_pol
from chaosgrad.zoo._physical_registry import PHYSICAL_SYSTEMS
from chaosgrad.zoo._system import System


def spectrum(system, **kw):
    return cg.lyapunov_spectrum(system.simulator, system.y0, system.args, **kw)


def rhs(system):
    """The system's vector field (flows) or map, read from its simulator."""
    sim = system.simulator
    if isinstance(sim, cg.MapSimulator):
        return lambda y: sim.map_step(y, system.args)
    if isinstance(sim, ETDRK4):
        return lambda y: sim.linear(system.args) * y + sim.nonlinear(0.0, y, system.args)
    return lambda y: sim.vector_field(0.0, y, system.args)


@eqx.filter_jit
def trajectory(simulator, y, args, n_steps: int):
    """States ``y_1 .. y_n`` of ``n_steps`` steps (for time averages along an orbit)."""

    def body(carry, _):
        t, y = carry
        y1 = simulator.step(t, y, args)
        return (t + simulator.dt, y1), y1

    return jax.lax.scan(body, (jnp.asarray(0.0), y), None, length=n_steps)[1]


# ---------------------------------------------------------------------------- registry


def test_integrators_are_importable_from_their_old_homes():
    # They live in _integrators; _double_pendulum, _ks and chaosgrad.zoo re-export the same classes.
    from chaosgrad.zoo import _double_pendulum, _integrators, _ks

    assert _double_pendulum.ImplicitMidpoint is _integrators.ImplicitMidpoint is cg.zoo.ImplicitMidpoint
    assert _ks.ETDRK4 is _integrators.ETDRK4 is cg.zoo.ETDRK4
    assert _ks.etdrk4_coefficients is _integrators.etdrk4_coefficients is cg.zoo.etdrk4_coefficients


@pytest.mark.parametrize("name", sorted(PHYSICAL_SYSTEMS))
def test_registry_entry_builds_a_consistent_system(name):
    system = PHYSICAL_SYSTEMS[name]()
    assert isinstance(system, System) and system.name == name
    assert all(isinstance(v, jax.Array) and v.shape == () for v in system.args.values())
    y1 = system.simulator.step(0.0, system.y0, system.args)
    assert y1.shape == system.y0.shape and y1.dtype == system.y0.dtype
    assert np.all(np.isfinite(np.asarray(y1)))
    if system.literature is not None:
        assert system.literature["exponents"] and system.literature["source"]
    assert system.__class__ is System and system.equations and system.parameters


@pytest.mark.parametrize("name", sorted(PHYSICAL_SYSTEMS))
def test_divergence_is_the_trace_of_the_jacobian(name):
    system = PHYSICAL_SYSTEMS[name]()
    jacobian = jax.jit(jax.jacfwd(rhs(system)))
    rng = np.random.default_rng(1)
    for _ in range(3):
        y = system.y0 + 0.1 * jnp.asarray(rng.standard_normal(system.y0.shape))
        if name == "logistic":
            y = jnp.asarray(rng.uniform(0.05, 0.95, 1))
        J = jacobian(y)
        if isinstance(system.simulator, cg.MapSimulator):
            expected = np.log(abs(np.linalg.det(np.asarray(J))))
        else:
            expected = float(jnp.trace(J))
        # Both sides are float64 sums of O(1e3) terms at most (KS: 42 diagonal entries up
        # to 1.3e3), so they agree to round-off relative to that scale.
        np.testing.assert_allclose(float(system.divergence(y, system.args)), expected, rtol=1e-12, atol=1e-9)


def test_overrides_reach_args_dtype_and_literature():
    system = lorenz63(rho=10.0, dt=0.02, solver=cg.RK4(), dtype="float32")
    assert float(system.args["rho"]) == 10.0 and system.args["rho"].dtype == jnp.float32
    assert system.y0.dtype == jnp.float32 and system.simulator.dt == 0.02
    assert system.literature is None  # published values hold only at rho = 28
    assert lorenz63().literature["exponents"] == [0.9056, 0.0, -14.5723]
    assert lorenz96(N=12, F=5.0).y0.shape == (12,) and lorenz96(N=12).literature is None
    assert double_pendulum(y0=np.array([0.1, 0.2, 0.0, 0.0])).literature is None  # exponents depend on energy
    assert kuramoto_sivashinsky(n_grid=32).y0.shape == (2 * 10,)
    # Where the default reference rule (an explicit high-order step) does not apply, the
    # system carries its own: ETDRK4 for KS, Kvaerno5 for stiff van der Pol, Dopri8 for
    # the flow behind the symplectic pendulum.
    assert isinstance(kuramoto_sivashinsky(solver=cg.RK4()).reference, ETDRK4)
    assert van_der_pol().reference is None
    assert isinstance(van_der_pol(mu=1000.0).reference.solver, diffrax.Kvaerno5)
    # Not stiff at mu = 1 even at a coarse user step: the default (reverse-differentiable)
    # Dopri8 rule applies, so the reference-step ablation can run.
    assert van_der_pol(dt=0.31).reference is None
    assert isinstance(double_pendulum().reference.solver, diffrax.Dopri8)


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: lorenz96(N=2), "N"),
        (lambda: lorenz63(rho="x"), "rho"),
        (lambda: double_pendulum(m1=-1.0), "m1"),
        (lambda: double_pendulum(adjoint=diffrax.BacksolveAdjoint()), "adjoint"),
        (lambda: double_pendulum(newton_iterations=0), "newton_iterations"),
        (lambda: kuramoto_sivashinsky(n_grid=63), "n_grid"),
        (lambda: kuramoto_sivashinsky(y0=np.zeros(5)), "y0"),
        (lambda: henon(y0=[1.0, 2.0, 3.0]), "y0"),
        (lambda: damped_oscillator(zeta=float("nan")), "zeta"),
    ],
)
def test_bad_arguments_name_the_argument(call, argument):
    with pytest.raises(ChaosgradInputError, match=f"`{argument}`"):
        call()


def test_parameters_are_differentiable_args():
    # At rho = 10 the orbit converges to the fixed point z* = rho - 1, so dz(T)/drho -> 1.
    system = lorenz63(rho=10.0)

    def z_final(args):
        return system.simulator.evolve(0.0, system.y0, args, 3000)[2]

    grad = jax.jit(jax.grad(z_final))(system.args)
    # The approach to the fixed point decays like exp(-0.6 t) (its least stable
    # eigenvalue); after T = 30 the residual is far below 1e-4.
    assert abs(float(grad["rho"]) - 1.0) < 1e-4


# ---------------------------------------------------------------------------- sum rules


def test_lorenz63_sum_rule_zero_exponent_and_literature():
    system = lorenz63()
    res = spectrum(system, time=1000.0)
    # Tsit5 at dt = 0.01 reproduces the flow's volume contraction to O(dt^5) per unit
    # time; the measured gap is ~1e-7.
    assert abs(res.exponents.sum() + (10.0 + 1.0 + 8.0 / 3.0)) < 1e-5
    # The zero exponent converges like 1/T; at T = 1000 it is a few 1e-3.
    assert abs(res.exponents[1]) < 1e-2
    # lambda_1 and lambda_3 within four batch-means standard errors of Sprott's values.
    lit = np.asarray(system.literature["exponents"])
    assert np.all(np.abs(res.exponents - lit) < 4 * res.standard_error + 1e-3)


def test_lorenz96_sum_is_minus_n():
    system = lorenz96(N=20)
    res = spectrum(system, time=20.0)
    # The divergence is -N exactly; Tsit5 at dt = 0.01 matches ln det of its step to ~1e-7.
    assert abs(res.exponents.sum() + 20.0) < 1e-5
    assert res.exponents[0] > 0.5  # chaotic at F = 8


def mean_divergence(system, transient_steps: int, n_steps: int) -> float:
    """Time average of the divergence over the steps the Lyapunov run measures."""
    y = system.y0
    if transient_steps:
        y = trajectory(system.simulator, y, system.args, transient_steps)[-1]
    states = jnp.concatenate([y[None], trajectory(system.simulator, y, system.args, n_steps)])
    div = jax.vmap(lambda s: system.divergence(s, system.args))(states)
    return float(jnp.mean((div[1:] + div[:-1]) / 2))  # trapezoid rule on the step grid


@pytest.mark.parametrize("factory", [rossler, van_der_pol])
def test_sum_is_time_average_of_divergence_and_one_exponent_is_zero(factory):
    system = factory()
    res = spectrum(system, transient=50.0, time=500.0)
    expected = mean_divergence(system, 5000, 50_000)
    # sum ln|R_ii| = ln|det| of the product of step Jacobians = integral of the
    # divergence up to Tsit5's O(dt^5) and the trapezoid rule's O(dt^2) error on a
    # divergence of size ~10: ~1e-4 relative at dt = 0.01.
    assert abs(res.exponents.sum() - expected) < 1e-3 * max(1.0, abs(expected))
    # One zero exponent (time translation); its 1/T convergence leaves a few 1e-3 at T = 500.
    assert np.min(np.abs(res.exponents)) < 1e-2


def test_henon_sum_is_ln_b_and_matches_literature():
    system = henon()
    res = spectrum(system, time=200_000.0)
    # det Df = -b at every point: the sum is ln b up to round-off in 2e5 QR steps.
    assert abs(res.exponents.sum() - np.log(0.3)) < 1e-10
    # Sprott (2003): 0.41922, -1.62319. Within four standard errors (~3e-4 each) plus the
    # literature's last digit.
    lit = np.asarray(system.literature["exponents"])
    assert np.all(np.abs(res.exponents - lit) < 4 * res.standard_error + 1e-4)


def test_logistic_at_r4_is_ln2():
    system = logistic()
    res = spectrum(system, time=200_000.0)
    # The batch-means standard error is ~1e-5 at 2e5 iterations; allow four of them.
    assert abs(res.exponents[0] - np.log(2.0)) < 4 * res.standard_error[0] + 1e-6
    assert abs(res.exponents[0] - np.log(2.0)) < 1e-4


# ---------------------------------------------------------------------------- damped oscillator


def euler_exponents(omega, zeta, dt):
    """ln|1 + dt mu| / dt for the eigenvalues mu of A: explicit Euler's exact exponents."""
    mu = np.linalg.eigvals(damped_oscillator_matrix(omega, zeta))
    return np.sort(np.log(np.abs(1.0 + dt * mu)) / dt)[::-1]


def euler_transient_bound(omega, zeta, dt, time):
    """ln cond(V) / T: how far finite-time QR exponents of the linear map I + dt A can sit
    from ln|eig| / dt, with V its eigenvector matrix (the map is V diag V^-1)."""
    _, V = np.linalg.eig(np.eye(2) + dt * damped_oscillator_matrix(omega, zeta))
    return np.log(np.linalg.cond(V)) / time


def test_damped_oscillator_euler_explodes_at_large_step():
    system = damped_oscillator(dt=0.25)
    # State growth exp(3.8 t) stays below float64's 1e308 up to t ~ 180; T = 40 is safe.
    res = spectrum(system, time=40.0, interval=0.25)
    assert res.status == "ok"
    exact = euler_exponents(10.0, 0.1, 0.25)
    assert exact[0] > 3.0  # |1 + dt mu| = sqrt(6.75): a stable system explodes numerically
    # The sum is ln|det(I + dt A)| / dt exactly (round-off only).
    assert abs(res.exponents.sum() - exact.sum()) < 1e-10
    # Each exponent sits within ln cond(V) / T of its exact value (non-normal transient).
    bound = euler_transient_bound(10.0, 0.1, 0.25, 40.0)
    assert np.all(np.abs(res.exponents - exact) <= bound + 1e-12)
    assert system.literature["exponents"] == pytest.approx([-1.0, -1.0])


def test_damped_oscillator_euler_decays_at_small_step():
    system = damped_oscillator(dt=0.001)
    res = spectrum(system, time=50.0)
    exact = euler_exponents(10.0, 0.1, 0.001)
    assert abs(res.exponents.sum() - exact.sum()) < 1e-9  # ln|det| per step, exact
    bound = euler_transient_bound(10.0, 0.1, 0.001, 50.0)
    assert np.all(np.abs(res.exponents - exact) <= bound + 1e-12)
    # Euler's exponent -0.951 (both, a complex pair) differs from the flow's -zeta omega =
    # -1 by its O(dt) error dt |mu|^2 / 2 = 0.05. Their mean is exact (the sum rule above);
    # how a finite time splits it between the two depends on the random initial frame and
    # is bounded by the transient bound above, not by this O(dt) error.
    assert np.all(res.exponents < 0)
    assert abs(res.exponents.mean() + 1.0) < 0.06


# ---------------------------------------------------------------------------- double pendulum


SYMPLECTIC_J = np.block([[np.zeros((2, 2)), np.eye(2)], [-np.eye(2), np.zeros((2, 2))]])


@pytest.mark.parametrize("solver, symplectic", [(None, True), (diffrax.Heun(), False)])
def test_double_pendulum_step_is_symplectic_only_with_implicit_midpoint(solver, symplectic):
    system = double_pendulum(dt=0.02, solver=solver)
    jacobian = jax.jit(jax.jacfwd(lambda y: system.simulator.step(0.0, y, system.args)))
    rng = np.random.default_rng(0)
    for _ in range(3):
        M = np.asarray(jacobian(system.y0 + jnp.asarray(rng.standard_normal(4))))
        defect = np.abs(M.T @ SYMPLECTIC_J @ M - SYMPLECTIC_J).max()
        # Newton-converged implicit midpoint: round-off (~1e-16 per entry of size ~1);
        # Heun's defect is O(dt^3) ~ 1e-6 at dt = 0.02.
        assert (defect < 1e-12) if symplectic else (defect > 1e-8)


def test_double_pendulum_vector_field_is_hamiltons_equations():
    # The written-out equations against J grad H from automatic differentiation, at
    # random states and unequal masses and lengths.
    system = double_pendulum(g=9.0, m1=1.3, m2=0.8, l1=1.1, l2=0.7)
    rng = np.random.default_rng(2)
    for _ in range(5):
        y = jnp.asarray(rng.uniform(-3.0, 3.0, 4))
        dH = jax.grad(double_pendulum_energy)(y, system.args)
        expected = np.asarray(jnp.stack([dH[2], dH[3], -dH[0], -dH[1]]))
        got = np.asarray(system.simulator.vector_field(0.0, y, system.args))
        # Two float64 evaluations of the same O(10) expressions: round-off only.
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def energy_errors(system, n_steps):
    states = trajectory(system.simulator, system.y0, system.args, n_steps)
    E = jax.vmap(lambda y: double_pendulum_energy(y, system.args))(states)
    return np.abs(np.asarray(E) - float(double_pendulum_energy(system.y0, system.args)))


def test_double_pendulum_energy_bounded_with_implicit_midpoint_drifts_with_heun():
    n = 50_000  # T = 1000 at dt = 0.02
    midpoint = energy_errors(double_pendulum(dt=0.02), n)
    heun = energy_errors(double_pendulum(dt=0.02, solver=diffrax.Heun()), n)
    # Both are second order. The symplectic error oscillates with amplitude O(dt^2)
    # (~0.4 here, on |H| ~ 3) and does not grow: the last tenth of the run is no worse
    # than the first tenth. Heun's drifts secularly, to tens of energy units.
    assert midpoint.max() < 0.6
    assert midpoint[-n // 10 :].max() < 1.5 * midpoint[: n // 10].max()
    assert heun.max() > 20 * midpoint.max()


@pytest.mark.slow
def test_double_pendulum_exponents_come_in_pairs():
    system = double_pendulum(dt=0.02)
    res = spectrum(system, time=1000.0, interval=0.2)
    lam = res.exponents
    # det of a symplectic step is 1: the sum vanishes to round-off.
    assert abs(lam.sum()) < 1e-10
    # The pairing lambda_i = -lambda_{5-i} is exact in the limit; the QR frame's transient
    # leaves an O(1/T) residue, measured ~2e-3 at T = 1000.
    assert abs(lam[0] + lam[3]) < 1e-2 and abs(lam[1] + lam[2]) < 1e-2
    # Two zero exponents (time and energy), and chaos near the rough value 1.05.
    assert np.all(np.abs(lam[1:3]) < 2e-2)
    assert abs(lam[0] - 1.05) < 0.15


@pytest.mark.slow
def test_implicit_midpoint_reverse_forward_and_finite_difference_gradients_agree():
    system = double_pendulum()

    def loss(g):
        args = {**system.args, "g": g}
        y = system.simulator.evolve(0.0, system.y0, args, 50)
        return y[0] + double_pendulum_energy(y, args)

    g = system.args["g"]
    reverse = float(jax.jit(jax.grad(loss))(g))
    forward = float(jax.jvp(loss, (g,), (jnp.ones(()),))[1])
    loss = jax.jit(loss)
    fd = (float(loss(g + 1e-6)) - float(loss(g - 1e-6))) / 2e-6
    # Reverse and forward mode differentiate the same converged Newton iteration: equal
    # to round-off. Central differences carry ~1e-16 / 1e-6 round-off on an O(1) loss.
    assert abs(reverse - forward) < 1e-12 * max(1.0, abs(forward))
    assert abs(reverse - fd) < 1e-7


def test_implicit_midpoint_is_second_order_and_exact_on_linear_flows():
    # For y' = A y the midpoint rule is the Cayley map (I - hA/2)^-1 (I + hA/2).
    A = jnp.asarray([[0.0, 1.0], [-4.0, -0.3]])
    sim = ImplicitMidpoint(lambda t, y, a: A @ y, dt=0.1)
    y0 = jnp.asarray([1.0, 0.5])
    cayley = np.linalg.solve(np.eye(2) - 0.05 * np.asarray(A), (np.eye(2) + 0.05 * np.asarray(A)) @ np.asarray(y0))
    np.testing.assert_allclose(np.asarray(sim.step(0.0, y0, None)), cayley, rtol=1e-13)
    assert sim.with_dtype("float32").step(0.0, y0.astype(jnp.float32), None).dtype == jnp.float32


# ---------------------------------------------------------------------------- Kuramoto–Sivashinsky


def test_etdrk4_coefficients_match_direct_formulas_where_those_are_accurate():
    c = jnp.asarray([-50.0, -8.0, 3.0])
    h = 0.25
    E, E2, Q, f1, f2, f3 = (np.asarray(x) for x in etdrk4_coefficients(c, h))
    z = h * np.asarray(c)
    ez = np.exp(z)
    direct = [
        h * (np.exp(z / 2) - 1) / z,
        h * (-4 - z + ez * (4 - 3 * z + z**2)) / z**3,
        h * (2 + z + ez * (z - 2)) / z**3,
        h * (-4 - 3 * z - z**2 + ez * (4 - z)) / z**3,
    ]
    # For |z| >= 2 the direct quotients lose no digits; 32 contour points give the
    # trapezoid rule's geometric accuracy (~1e-14).
    for got, want in zip([Q, f1, f2, f3], direct):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    # And at z -> 0 the limits h/2, h/6, h/6, h/6 come out without cancellation.
    _, _, Q0, g1, g2, g3 = (np.asarray(x) for x in etdrk4_coefficients(jnp.asarray([1e-9]), h))
    np.testing.assert_allclose([Q0[0], g1[0], g2[0], g3[0]], [h / 2, h / 6, h / 6, h / 6], rtol=1e-8)


def test_etdrk4_converges_faster_than_third_order_on_kuramoto_sivashinsky():
    fine = kuramoto_sivashinsky(solver=cg.RK4(), dt=5e-4)
    exact = fine.simulator.evolve(0.0, fine.y0, fine.args, 4000)  # t = 2; RK4 at 1e-3 agrees to 2e-14
    errors = []
    for dt in (0.05, 0.025):
        system = kuramoto_sivashinsky(dt=dt)
        y = system.simulator.evolve(0.0, system.y0, system.args, int(round(2.0 / dt)))
        errors.append(float(jnp.linalg.norm(y - exact)))
    # ETDRK4 is fourth order, but its stiff modes show order reduction (Hochbruck &
    # Ostermann, SIAM J. Numer. Anal. 43, 1069, 2005) and the error ratio reaches 16
    # only as dt -> 0 (measured 10.3 here). A third-order method would give 8, a
    # second-order one 4.
    assert errors[0] / errors[1] > 9.0
    assert errors[1] < 1e-6


def test_kuramoto_sivashinsky_sum_rule_holds_once_the_stiff_modes_are_resolved():
    fine = kuramoto_sivashinsky(dt=0.002)
    coarse = kuramoto_sivashinsky(dt=0.25)
    divergence = float(fine.divergence(fine.y0, fine.args))  # 2 sum (q^2 - q^4) = -11663.7
    res_fine = spectrum(fine, time=1.0, interval=0.002)
    res_coarse = spectrum(coarse, time=1.0, interval=0.25)
    # At dt |c_K| = 2.5 ETDRK4's tangent map resolves every mode: the sum of all 42
    # exponents is the divergence (measured relative gap 1e-6; 1e-4 leaves room for the
    # O(dt^4) error of the step).
    assert abs(res_fine.exponents.sum() / divergence - 1.0) < 1e-4
    # At dt = 0.25 the stiff modes' numerical exponents are ~ -ln(dt |c_k|) / dt, so the
    # map contracts volume far more slowly than the flow (measured sum -970).
    assert res_coarse.exponents.sum() > 0.2 * divergence
    # The leading exponent over the same finite time hardly depends on the step.
    assert abs(res_coarse.exponents[0] - res_fine.exponents[0]) < 0.02


@pytest.mark.slow
def test_kuramoto_sivashinsky_on_an_implicit_diffrax_solver():
    fine = kuramoto_sivashinsky(solver=cg.RK4(), dt=5e-4)
    exact = fine.simulator.evolve(0.0, fine.y0, fine.args, 4000)  # t = 2
    import optimistix as optx

    solver = diffrax.Kvaerno5(root_finder=optx.Newton(rtol=1e-10, atol=1e-10))
    system = kuramoto_sivashinsky(dt=0.25, solver=solver)
    y = jax.jit(lambda y: system.simulator.evolve(0.0, y, system.args, 8))(system.y0)
    # L-stable, fifth order: stable at the step where explicit RK4 overflows, and
    # accurate (measured error 9e-8 at t = 2, against 6e-5 for ETDRK4 at the same step).
    assert float(jnp.linalg.norm(y - exact)) < 1e-6
    # With diffrax's default chord iteration the nonlinear solve reports divergence at every
    # step here (diffrax's own diffeqsolve stops after one step): a failure, with its reason.
    chord = kuramoto_sivashinsky(
        dt=0.25, solver=diffrax.Kvaerno5(root_finder=diffrax.VeryChord(rtol=1e-10, atol=1e-10))
    )
    res = cg.lyapunov_spectrum(chord.simulator, chord.y0, chord.args, time=2.0, k=1)
    assert res.status == "nonfinite" and "nonlinear or linear solve failed" in res.failure


def test_kuramoto_sivashinsky_step_commutes_with_translation():
    system = kuramoto_sivashinsky()
    model = KuramotoSivashinskyModel(n_grid=64)
    q = np.asarray(model.wavenumbers(system.args))

    def shift(y, c):
        K = q.size
        a = (np.asarray(y[:K]) + 1j * np.asarray(y[K:])) * np.exp(1j * q * c)
        return jnp.asarray(np.concatenate([a.real, a.imag]))

    step = lambda y: system.simulator.step(0.0, y, system.args)
    # A continuous (off-grid) shift: exact because the 2/3 rule leaves no aliasing.
    np.testing.assert_allclose(
        np.asarray(step(shift(system.y0, 0.7317))), np.asarray(shift(step(system.y0), 0.7317)), atol=1e-12
    )
    # The grid values are real and the mean is zero.
    u = model.to_grid(system.y0)
    assert u.shape == (64,) and abs(float(jnp.mean(u))) < 1e-12


def test_kuramoto_sivashinsky_explicit_solver_blows_up_where_etdrk4_does_not():
    etd = kuramoto_sivashinsky(dt=0.25)
    explicit = kuramoto_sivashinsky(dt=0.25, solver=cg.RK4())
    np.testing.assert_array_equal(np.asarray(etd.y0), np.asarray(explicit.y0))  # same start
    kw = dict(k=4, time=50.0, interval=1.0)
    good = spectrum(etd, **kw)
    bad = spectrum(explicit, **kw)
    assert good.status == "ok" and np.all(np.isfinite(good.exponents))
    # RK4's stability limit is dt |q_K^4| < 2.8, i.e. dt < 0.002 here: it overflows in
    # the first interval and the engine records it instead of raising.
    assert bad.status == "nonfinite" and bad.first_nonfinite_interval == 0


def test_kuramoto_sivashinsky_gradient_wrt_length_matches_finite_differences():
    system = kuramoto_sivashinsky(dt=0.25)

    def loss(L):
        y = system.simulator.evolve(0.0, system.y0, {"L": L}, 8)  # t = 2
        return jnp.sum(y**2)

    L = jnp.asarray(22.0)
    grad = float(jax.jit(jax.grad(loss))(L))
    eps = 1e-5
    loss = jax.jit(loss)
    fd = (float(loss(L + eps)) - float(loss(L - eps))) / (2 * eps)
    # Central differences: O(eps^2) truncation and ~1e-16 / eps round-off on O(1) losses.
    assert abs(grad - fd) < 1e-6 * max(1.0, abs(fd))


@pytest.mark.slow
def test_kuramoto_sivashinsky_l22_matches_literature():
    system = kuramoto_sivashinsky()
    starts = jnp.stack([system.y0 * (1.0 + 0.01 * i) for i in range(4)])
    res = cg.lyapunov_spectrum(
        system.simulator,
        starts,
        system.args,
        k=5,
        time=10_000.0,
        interval=1.0,
        transient=100.0,
        ensemble_axes=(0, None),
    )
    lam, se = res.exponents, res.standard_error
    lo, hi = system.literature["lambda_1_range"]
    # Independent computations span 0.043-0.048 and careful ones differ by up to ~4e-3;
    # the four-member mean over T = 1e4 each has a standard error ~1e-3 (measured 0.049).
    assert lo - 3 * se[0] - 2e-3 < lam[0] < hi + 3 * se[0] + 2e-3
    # Two zero exponents (time and space translation): their finite-time residue at
    # T = 1e4 is ~1e-3.
    assert np.all(np.abs(lam[1:3]) < 3 * se[1:3] + 2e-3)
    assert lam[4] < -0.1  # then the strongly contracting directions (-0.19, ...)


@pytest.mark.slow
def test_rossler_matches_literature():
    system = rossler(dt=0.05)
    res = spectrum(system, time=20_000.0)
    lit = np.asarray(system.literature["exponents"])
    # lambda_1 converges slowly: three batch-means standard errors (~1e-3 at T = 2e4)
    # plus the 2e-3 spread between careful published computations.
    assert np.all(np.abs(res.exponents - lit) < 3 * res.standard_error + 2e-3)


@pytest.mark.slow
def test_lorenz96_matches_literature():
    system = lorenz96(dt=0.05, solver=cg.RK4())
    res = spectrum(system, k=14, time=2000.0, transient=10.0)
    lo, hi = system.literature["lambda_1_range"]
    se = res.standard_error[0]
    # lambda_1 is quoted as 1.66-1.7; the estimate's standard error at T = 2000 is ~1.5e-2.
    assert lo - 3 * se < res.exponents[0] < hi + 3 * se
    # 13 positive exponents, then the zero exponent (within 1e-2 at T = 2000).
    assert np.all(res.exponents[:13] > 0.01) and abs(res.exponents[13]) < 1e-2
