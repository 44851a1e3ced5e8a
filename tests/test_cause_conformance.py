"""Every cause keeps the numbered rules of :class:`chaosgrad.AbstractCause`.

Each rule is checked for every cause in ``CAUSES``: the built-in ones and the README's
own cause, each on evidence that makes it suspect (and on evidence that does not). That an
ablation is the configuration it names is ``tests/test_ablation_conformance.py``'s
subject and is not repeated here; this suite checks the rest of the contract: names,
pure decisions, what ``ablate``, ``anticipate``, ``target``, ``recommend`` and
``confirm`` return, and that what a cause contributes to a diagnosis serialises to JSON
and back. A new cause is checked by adding one line to ``CAUSES``.

The evidence is synthetic where the rule reads only numbers (spectra and gradient
rates from ``tests/_synthetic.py``) and real where it reads a set-up (the simulators).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
from collections.abc import Mapping

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _synthetic import make_gradient, make_lyapunov

import chaosgrad as cg
from chaosgrad._diagnosis import causes
from chaosgrad._diagnosis.testing import ablated_setup, ablation_name, try_cause


def _lorenz(t, y, a):
    return jnp.stack([a["s"] * (y[1] - y[0]), y[0] * (a["r"] - y[2]) - y[1], y[0] * y[1] - a["b"] * y[2]])


LORENZ = {"s": 10.0, "r": 28.0, "b": 8.0 / 3.0}
PHYSICS = [0.9056, 0.0, -14.5723]


def _evidence(sim, args, y_start, *, numerical=PHYSICS, gradient=None, reference=None, wrt_state=True, y0=None):
    """Evidence as ``diagnose`` builds it, with synthetic spectra (short: 10 intervals, so
    that a cause which measures from them, the step-size advice, stays quick)."""
    ref = reference if reference is not None else sim.with_dtype("float64")
    phys = make_lyapunov(PHYSICS, n_intervals=10)
    num = make_lyapunov(numerical, n_intervals=10, dtype=sim.dtype)
    g = gradient if gradient is not None else make_gradient(dtype=sim.dtype)
    return cg.CauseEvidence(
        simulator=sim,
        args=args,
        reference=ref,
        reference_differs=reference is not None,
        lambda_physical=phys,
        lambda_numerical=num,
        gradient=g,
        expected_physical=PHYSICS[0],
        expected_numerical=float(numerical[0]),
        t_max=float(g.horizons[-1]),
        wrt_state=wrt_state,
        y_start=y_start,
        lyapunov_options={"seed": 0},
        y0=y0,
    )


@functools.cache
def lorenz_float32_backsolve():
    """A float32 Lorenz-63 through diffrax's backsolve adjoint at a coarse Euler step, whose
    numerical lambda_1 differs from the physics: discretisation, adjoint and precision
    are suspect."""
    sim = cg.ODESimulator(_lorenz, solver=diffrax.Euler(), dt=0.02, dtype="float32", adjoint=diffrax.BacksolveAdjoint())
    ref = cg.ODESimulator(_lorenz, solver=diffrax.Tsit5(), dt=0.002, dtype="float64")
    return _evidence(sim, LORENZ, jnp.array([-8.0, 7.0, 27.0], jnp.float32), numerical=[4.0, 0.0, -14.0], reference=ref)


@functools.cache
def float16_map():
    """A float16 contracting map: loss scaling is suspect (a 16-bit reverse pass)."""
    sim = cg.MapSimulator(lambda x, a: a * jnp.sin(x), dtype="float16")
    return _evidence(
        sim,
        jnp.asarray(0.5, jnp.float16),
        jnp.full(4, 0.3, jnp.float16),
        numerical=[-0.7],
        gradient=make_gradient(rate=-0.7, interval=(-0.75, -0.65), dtype="float16"),
    )


@functools.cache
def float64_exact():
    """The user's float64 step with the exact adjoint and no separate reference: nothing
    built in is suspect."""
    sim = cg.ODESimulator(_lorenz, dt=0.01)
    return _evidence(sim, LORENZ, jnp.array([-8.0, 7.0, 27.0]))


def _ball(y, e):
    x1 = y[0] + y[1]
    hit = x1 < 0
    return jnp.stack([jnp.where(hit, -e * x1, x1), jnp.where(hit, -e * y[1], y[1])])


@functools.cache
def bouncing_ball():
    """A ball bouncing off a wall (tests/test_nonsmooth.py): non-smooth is suspect."""
    sim, y0 = cg.MapSimulator(_ball), jnp.array([1.0, -0.25])
    g = cg.gradient_growth(sim, y0, jnp.asarray(0.8), horizons=[2, 4, 6], wrt="y0", loss=lambda y: y[1], members=1)
    return _evidence(sim, jnp.asarray(0.8), y0, numerical=[0.0, 0.0], gradient=g, y0=y0)


@functools.cache
def saturated_rnn():
    """The README's RNN with a vanishing gradient: its own saturation cause is suspect."""
    W = jnp.asarray(np.random.default_rng(0).normal(size=(32, 32)) / np.sqrt(32))
    rnn = cg.MapSimulator(lambda h, a: jnp.tanh(a["gain"] * a["W"] @ h))
    return _evidence(
        rnn,
        {"gain": 0.5, "W": W},
        jnp.ones(32),
        numerical=[-0.4],
        gradient=make_gradient(rate=-0.4, interval=(-0.45, -0.35)),
    )


class Saturation(cg.AbstractCause):
    """The README's own cause ("Your own cause"), as written there."""

    name = "saturation"
    words = "tanh units driven into saturation scale the gradient down at every step"

    def suspect(self, evidence):
        return "the gradient vanishes through tanh units" if evidence.gradient.rate < 0 else None

    def ablate(self, evidence):
        return evidence.simulator, dict(evidence.args, gain=0.1), "gain 0.1: the units stay linear"


# (cause, evidence that makes it suspect, evidence that does not)
CAUSES = {
    "Discretization": (causes.Discretization(), lorenz_float32_backsolve, float64_exact),
    "Adjoint": (causes.Adjoint(), lorenz_float32_backsolve, float64_exact),
    "Precision": (causes.Precision(), lorenz_float32_backsolve, float64_exact),
    "LossScaling": (causes.LossScaling(), float16_map, lorenz_float32_backsolve),
    "NonSmooth": (cg.NonSmooth(loss=lambda y: y[1], samples=256, seed=0), bouncing_ball, None),
    "README Saturation": (Saturation(), saturated_rnn, float64_exact),
}
params = pytest.mark.parametrize("case", list(CAUSES), ids=list(CAUSES))


def test_every_built_in_cause_is_in_the_suite():
    built_in = {type(c).__name__ for c in cg.DEFAULT_CAUSES} | {"NonSmooth"}
    assert built_in <= set(CAUSES)


def test_rule_1_names_words_and_unique_ablation_names():
    names = [ablation_name(c) for c, *_ in CAUSES.values()]
    assert len(set(names)) == len(names), names
    for cause, *_ in CAUSES.values():
        assert isinstance(cause, cg.AbstractCause)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", cause.name), cause.name  # a short id
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", ablation_name(cause))
        assert isinstance(cause.words, str) and len(cause.words.split()) >= 4 and "\n" not in cause.words


@params
def test_rule_2_suspect_is_a_pure_function_of_the_evidence(case):
    cause, suspect_on, calm_on = CAUSES[case]
    evidence = suspect_on()
    before = copy.copy(evidence.args), evidence.simulator, evidence.gradient.to_json()
    first = cause.suspect(evidence)
    assert isinstance(first, str) and first
    # The same evidence, the same decision; the evidence is left as it was.
    assert cause.suspect(evidence) == first
    assert eqx.tree_equal(evidence.args, before[0]) and evidence.simulator is before[1]
    assert evidence.gradient.to_json() == before[2]
    if calm_on is not None:
        assert cause.suspect(calm_on()) is None


@params
def test_rules_3_4_7_ablate_returns_one_change_on_the_same_state_and_anticipate_agrees(case):
    cause, suspect_on, _ = CAUSES[case]
    evidence = suspect_on()
    assert isinstance(cause.exact, bool)
    if callable(getattr(cause, "confirm", None)):
        return  # rule 8: confirmed by its own comparison; ablate may raise
    built = cause.ablate(evidence)
    # An AblatedSetup, or the tuple (simulator, args, change[, options]) read as one.
    assert isinstance(built, cg.AblatedSetup) or (isinstance(built, tuple) and len(built) in (3, 4))
    sim, args, change, options = ablated_setup(cause, built)
    assert isinstance(sim, cg.AbstractSimulator) and isinstance(change, str) and change
    assert isinstance(options, Mapping)
    # The ablated simulator steps the user's state pytree (its dtype may be the change).
    y = evidence.y_start
    out = jax.eval_shape(lambda y: sim.step(0.0, sim.prepare(y), args), y)
    assert jax.tree_util.tree_structure(out) == jax.tree_util.tree_structure(y)
    assert [o.shape for o in jax.tree_util.tree_leaves(out)] == [v.shape for v in jax.tree_util.tree_leaves(y)]
    guess = cause.anticipate(evidence.simulator, evidence.args)
    if guess is not None:
        assert guess[0].describe() == sim.describe() and eqx.tree_equal(guess[1], args)


class Returns(cg.AbstractCause):
    """A user's cause whose ``ablate`` returns ``built`` as it is."""

    name = "saturation"
    words = "saturated units scale the gradient down"
    built: object = None

    def suspect(self, evidence):
        return "the caller asked for it"

    def ablate(self, evidence):
        return self.built


def test_rule_3_a_tuple_is_read_as_an_ablated_setup_and_anything_else_names_the_fix():
    sim = cg.MapSimulator(lambda y, a: a * y)
    assert ablated_setup(Returns(), (sim, 0.5, "half")) == cg.AblatedSetup(sim, 0.5, "half")
    assert ablated_setup(Returns(), (sim, 0.5, "half", {"a": 1})).options == {"a": 1}
    assert ablated_setup(Returns(), cg.AblatedSetup(sim, 0.5, "half")).options == {}
    for built, problem in [
        (sim, "returned a MapSimulator"),
        ((sim, 0.5), "returned a tuple of 2 elements"),
        ((sim, 0.5, "half", None), "options of type NoneType"),
    ]:
        with pytest.raises(cg.ChaosgradInputError, match=r"Returns\.ablate \(cause 'saturation'\)") as info:
            ablated_setup(Returns(), built)
        assert problem in str(info.value) and "AblatedSetup(simulator, args, change)" in str(info.value)
    # In a diagnosis the malformed ablation is reported as failed, with that message.
    evidence = CAUSES["README Saturation"][1]()
    ablation, after = try_cause(Returns(built=(sim, 0.5)), evidence, None, lambda *a, **k: None)
    assert ablation.status == "failed" and after is None and "tuple of 2 elements" in ablation.error


@params
def test_rules_5_6_8_target_recommendations_and_confirmation_serialise(case):
    cause, suspect_on, _ = CAUSES[case]
    evidence = suspect_on()
    target = cause.target(evidence)
    assert isinstance(target, float)
    measurement = None
    if callable(getattr(cause, "confirm", None)):
        confirmed, why, measurement = cause.confirm(evidence)
        assert isinstance(confirmed, bool) and isinstance(why, str) and why
        text = measurement.to_json()
        assert type(measurement).from_json(text).to_json() == text
    recommendations = cause.recommend(evidence, None if measurement is not None else evidence.gradient)
    assert isinstance(recommendations, list)
    # The default (no advice) is allowed; a cause that gives advice gives some when suspect.
    assert recommendations or type(cause).recommend is cg.AbstractCause.recommend
    for r in recommendations:
        assert isinstance(r, cg.Recommendation) and r.topic and r.text
        assert cg.Recommendation.from_json(r.to_json()) == r


@params
def test_what_a_cause_contributes_to_a_diagnosis_serialises(case):
    cause, suspect_on, _ = CAUSES[case]
    evidence = suspect_on()
    # The ablated measurement, synthetic: a rate that moved to the physics' prediction.
    after = make_gradient(rate=PHYSICS[0], interval=(0.86, 0.95), dtype="float64", seed=2)
    ablation, _ = try_cause(cause, evidence, None, lambda sim, args, y0s, **options: after)
    assert ablation.name == ablation_name(cause) and ablation.cause == cause.name
    assert ablation.status == "ok", ablation.error
    assert isinstance(ablation.confirmed, bool) and ablation.reason
    text = ablation.to_json()
    assert cg.Ablation.from_json(text).to_json() == text
    assert dataclasses.replace(ablation) == ablation  # a frozen record
