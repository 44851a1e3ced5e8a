"""``wrt`` as a path into ``args``: dotted strings, tuples, literal keys holding dots,
equinox modules' fields, and the paths a refusal offers."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg

# x -> a x + b: dx_T/db = sum_{k<T} a^k = (1 - a^T) / (1 - a) exactly, for every member.
AFFINE = cg.MapSimulator(lambda x, args: args["p"]["a"] * x + args["p"]["b"])
ARGS = {"i": jnp.zeros(()), "p": {"a": 0.5, "b": 0.1}}
X0 = jnp.array([0.3])


def _norms(sim, y0, args, wrt, horizons=(2, 4, 8)):
    g = cg.gradient_growth(sim, y0, args, horizons=horizons, wrt=wrt, members=2)
    return g, np.asarray(g.norms)[:, np.asarray(g.reported)]


def test_a_dotted_path_into_a_nested_dict_gives_the_exact_gradient():
    g, norms = _norms(AFFINE, X0, ARGS, "p.b")
    exact = (1 - 0.5 ** np.array([2, 4, 8])) / (1 - 0.5)
    # float64 throughout; a few steps of an affine map: rounding only.
    np.testing.assert_allclose(norms, np.broadcast_to(exact, norms.shape), rtol=1e-12)
    assert g.wrt == "args['p']['b']"
    _, by_tuple = _norms(AFFINE, X0, ARGS, ("p", "b"))
    np.testing.assert_array_equal(norms, by_tuple)


def test_a_key_holding_a_dot_is_taken_literally_when_it_exists():
    sim = cg.MapSimulator(lambda x, args: args["a.b"] * x + args["a"]["b"])
    args = {"a.b": 0.5, "a": {"b": 0.1}}
    literal, _ = _norms(sim, X0, args, "a.b")
    nested, _ = _norms(sim, X0, args, ("a", "b"))
    assert literal.wrt == "args['a.b']"
    assert nested.wrt == "args['a']['b']"
    # d x_T / d(a.b) depends on the state, d x_T / d b does not: the two really differ.
    assert not np.allclose(np.asarray(literal.norms), np.asarray(nested.norms))


def test_a_dotted_path_through_an_equinox_mlp():
    mlp = eqx.nn.MLP(2, 2, 4, 1, activation=jnp.tanh, key=jax.random.PRNGKey(0))
    sim = cg.MapSimulator(lambda y, m: jnp.tanh(m(y)))
    y0 = jnp.array([0.3, -0.2])
    g, weight = _norms(sim, y0, mlp, "layers.0.weight")
    assert g.wrt == "args['layers'][0]['weight']"
    _, by_tuple = _norms(sim, y0, mlp, ("layers", 0, "weight"))
    np.testing.assert_array_equal(weight, by_tuple)
    _, layer = _norms(sim, y0, mlp, "layers.0")  # weight and bias together
    assert np.all(layer >= weight) and np.all(np.isfinite(weight)) and np.all(weight > 0)


def test_a_refused_path_lists_the_paths_args_offers():
    with pytest.raises(
        cg.ChaosgradInputError,
        match=r"argument `wrt`: 'p\.HH_gna' is not in args "
        r"\(selectable paths: i, p, p\.a, p\.b\)",
    ):
        cg.gradient_growth(AFFINE, X0, ARGS, horizons=(2, 4, 8), wrt="p.HH_gna")
    mlp = eqx.nn.MLP(2, 2, 4, 1, key=jax.random.PRNGKey(0))
    with pytest.raises(cg.ChaosgradInputError, match=r"layers\.0\.weight, layers\.0\.bias"):
        cg.diagnose(cg.MapSimulator(lambda y, m: m(y)), jnp.ones(2), mlp, horizons=(2, 4, 8), wrt="layers.5.weight")


def test_a_long_list_of_paths_is_cut_after_twenty():
    args = {f"k{i}": {"a": 1.0} for i in range(30)}
    with pytest.raises(cg.ChaosgradInputError) as info:
        cg.gradient_growth(AFFINE, X0, args, horizons=(2, 4, 8), wrt="nope")
    listed = str(info.value).split("selectable paths: ")[1].split(")")[0].split(", ")
    # Twenty of the top-level keys (in the order args is held), then "...".
    assert len(listed) == 21 and listed[-1] == "..."
    assert len(set(listed[:20])) == 20 and set(listed[:20]) <= set(args)
