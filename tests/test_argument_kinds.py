"""Every public parameter has a kind, and each kind's wrong values are refused by name,
before anything is compiled.

The public callables are enumerated from ``chaosgrad.__all__`` (and the lazily exported
names), the bundled systems' factories (``chaosgrad.zoo.SYSTEMS``) and the environment
adapters; their parameters are read from their signatures and classified by the package's
one table (``chaosgrad._parameter_kinds.PARAMETER_KINDS``). A parameter the table does not know
fails the first test: a new argument cannot skip its check.
"""

from __future__ import annotations

import inspect
import logging
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chaosgrad as cg
from chaosgrad._parameter_kinds import parameter_kind

# ---------------------------------------------------------------- the public callables

# Records the library builds from measured numbers (results, documents, evidence handed
# to a cause) and the set-up a cause hands back: they are read, not called by users with
# options to check.
_RECORDS = {"AblatedSetup", "CauseEvidence", "SpectrumCost", "Symptom", "TrainingLog"}


def _public_callables() -> dict[str, object]:
    found = {}
    for name in sorted(set(cg.__all__) | set(cg._EXPORTS)):
        obj = getattr(cg, name)
        if inspect.ismodule(obj) or not callable(obj) or name in _RECORDS:
            continue
        if inspect.isclass(obj) and (issubclass(obj, BaseException) or inspect.isabstract(obj)):
            continue
        try:
            params = inspect.signature(obj).parameters
        except (TypeError, ValueError):
            continue
        if "kind" in params or name.endswith("Result"):  # a serialisable result or report document
            continue
        found[name] = obj
    for factory in cg.zoo.SYSTEMS.values():
        found[f"zoo.{factory.__name__}"] = factory
    found["envs.brax"] = cg.envs.brax
    found["envs.gymnax"] = cg.envs.gymnax
    return found


PUBLIC = _public_callables()


def _parameters(qualname: str):
    return [p for p in inspect.signature(PUBLIC[qualname]).parameters.values()]


def test_every_public_parameter_has_a_kind():
    assert {
        "diagnose",
        "gradient_growth",
        "lyapunov_spectrum",
        "MapSimulator",
        "UntilConverged",
        "NearStart",
        "zoo.lorenz63",
        "envs.brax",
    } <= set(PUBLIC)
    unclassified = [
        f"{q}({p.name})" for q in PUBLIC for p in _parameters(q) if parameter_kind(q.rpartition(".")[2], p.name) is None
    ]
    assert not unclassified, (
        "public parameters without a kind in chaosgrad._parameter_kinds.PARAMETER_KINDS (add each with its rule): "
        + ", ".join(unclassified)
    )


# ---------------------------------------------------------------- a cheap valid call of each


def _half(x, a):
    return 0.5 * x  # a 2-D linear contraction: exact, and nothing to compile before the checks


LINEAR = cg.MapSimulator(_half)
Y0 = jnp.array([0.3, 0.2])
FLOW = dict(simulator=LINEAR, y0=Y0, args=None)


class _BraxLike:
    """What chaosgrad.envs.brax reads of a Brax environment, and no more."""

    action_size = 1
    dt = 0.05

    def reset(self, key):
        return {"q": jnp.zeros(2)}

    def step(self, state, action):
        raise AssertionError("never stepped here")


def _optax_sgd():
    import optax

    return optax.sgd(0.1)


# Arguments with which each callable that needs some runs (every other parameter keeps its
# default). A callable missing here is called with its defaults alone.
VALID = {
    "diagnose": lambda: dict(FLOW, horizons=(2, 4, 8)),
    "gradient_growth": lambda: dict(FLOW, horizons=(2, 4, 8)),
    "lyapunov_spectrum": lambda: dict(FLOW, time=20.0),
    "curvature": lambda: dict(FLOW, horizons=(2, 4, 8), k=1),
    "gradient_noise": lambda: dict(FLOW, args=jnp.array([0.5]), horizons=(2, 4, 8)),
    "smoothed_gradients": lambda: dict(FLOW, args=jnp.array([0.5]), horizons=(2, 4, 8), sigma=0.1),
    "loss_slice": lambda: dict(FLOW, args=jnp.array([0.5]), horizons=(2, 4, 8)),
    "shadowing_gradient": lambda: dict(FLOW, args=jnp.array([0.5]), objective=jnp.sum, wrt="args", time=50.0),
    "covariant_vectors": lambda: dict(FLOW, time=20.0),
    "first_failure": lambda: dict(FLOW, n_steps=4),
    "spectrum_cost": lambda: dict(dimension=2, k=2, intervals=10),
    "kaplan_yorke_dimension": lambda: dict(exponents=[0.5, -1.0]),
    "monitor": lambda: dict(inner=_optax_sgd()),
    "MapSimulator": lambda: dict(map_step=_half),
    "ODESimulator": lambda: dict(vector_field=lambda t, y, a: -y, dt=0.1),
    "StepSizeMapSimulator": lambda: dict(step_factory=lambda dt: _half, dt=0.1),
    "RolloutSimulator": lambda: dict(env_step=lambda y, u, a: y, policy=lambda y, a: y),
    "GivenStates": lambda: dict(states=jnp.ones((3, 2))),
    "FinalStateLoss": lambda: dict(fn=jnp.sum),
    "TimeAveragedLoss": lambda: dict(fn=jnp.sum),
    "replace_fields": lambda: dict(simulator=LINEAR),
    "envs.brax": lambda: dict(env=_BraxLike(), policy=lambda p, obs: jnp.zeros(1), dtype="float32"),
}
# Callables whose parameters are classified but not fed here: each needs an object only a
# run makes (a measured result) or an optional package.
NOT_FED = {
    "smoothed_advice": "needs a SmoothedGradientResult",
    "load_result": "reads a file (tests/test_loader.py)",
    "envs.gymnax": "needs gymnax",
}


# ---------------------------------------------------------------- each kind's wrong values


class _Stranger:
    """An object of no kind chaosgrad knows."""

    def __repr__(self):
        return "<stranger>"


NAN, INF = float("nan"), float("inf")
WRONG = {
    "seed": [-1, 2**63, True, 1.5, "0", None, NAN],
    "count": [-1, True, 1.5, "3", NAN, _Stranger()],
    "time": [NAN, INF, -1.0, "1.0", True, _Stranger()],
    "real": [NAN, INF, -INF, "1.0", _Stranger()],
    "probability": [0.0, 1.0, 1.5, -0.5, NAN, "0.9", True],
    "flag": ["yes", 2, 0.5, _Stranger()],
    "callable": [3, "f", [1]],
    "strategy": ["no-such-word", 3, _Stranger()],
    "mapping": ["str", [("a", 1)], 3],
    "simulator": ["x", 3, None, _Stranger()],
    "reference": ["x", 3, _Stranger()],
    "state": [jnp.array([0.3 + 0.1j, 0.2]), jnp.array([1, 2]), [0.3, 0.2], jnp.array([NAN, 0.2]), "y"],
    "horizons": ["abc", [-1.0, 2.0, 4.0], [NAN, 2.0, 4.0], [], [2.0, INF, 8.0]],
    "wrt": [3, "no-such-path", _Stranger()],
    "members": [0, -1, 1.5, True, "8", _Stranger()],
    "dtype": ["float13", 3, _Stranger()],
    "text": [3, ["a"]],
    "axes": ["x", (0,), 3],
    "counts": [(0, 3), (1.5,), "32", -1],
    "exponents": ["abc", [NAN, 1.0], [[1.0]]],
    "path": [3, None],
    "pytree": [],  # any pytree is an argument: nothing to refuse
    "keywords": [],  # each option is checked by its own name
}


def _generated_wrong(kind: str):
    """More wrong values of ``kind`` than the fixed list: the shapes of mistakes, drawn.
    Counts are left to the fixed list: a drawn count that is valid but huge would build
    a system of that size."""
    return {
        "seed": st.one_of(st.integers(max_value=-1), st.integers(min_value=2**63), st.floats()),
        "time": st.one_of(st.floats(max_value=-1e-9), st.just(NAN), st.just(INF), st.text(max_size=3)),
        "real": st.one_of(st.sampled_from([NAN, INF, -INF]), st.text(max_size=3)),
        "probability": st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0), st.just(NAN)),
        "flag": st.one_of(st.integers().filter(lambda v: v not in (0, 1)), st.text(max_size=3)),
        "callable": st.one_of(st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=2)),
        "strategy": st.one_of(st.integers(), st.text(min_size=12, max_size=14)),
        "mapping": st.one_of(st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=2)),
        "simulator": st.one_of(st.integers(), st.text(max_size=3), st.none()),
        "dtype": st.one_of(st.integers(), st.text(min_size=9, max_size=12)),
        "text": st.one_of(st.integers(), st.floats()),
    }.get(kind)


# ---------------------------------------------------------------- the checks


def _program_size(jaxpr) -> tuple[int, bool]:
    """``(equations, has a loop)`` of a jaxpr, the jaxprs inside its equations included."""
    size, loop = 0, False
    for eqn in jaxpr.eqns:
        size += 1
        loop = loop or eqn.primitive.name in ("scan", "while")
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(sub, "jaxpr", sub)  # a ClosedJaxpr holds its Jaxpr
                if hasattr(inner, "eqns"):
                    n, has_loop = _program_size(inner)
                    size, loop = size + n, loop or has_loop
    return size, loop


def _compiling_now() -> tuple[int, bool] | None:
    """The size of the program JAX is lowering, read from the frame that logs "Compiling"
    (``_cached_lowering_to_hlo`` holds it as ``closed_jaxpr``); ``None`` if not found."""
    frame = sys._getframe()
    while frame is not None:
        program = frame.f_locals.get("closed_jaxpr") if frame.f_code.co_name == "_cached_lowering_to_hlo" else None
        if program is not None:
            return _program_size(program.jaxpr)
        frame = frame.f_back
    return None


# A check may cast or compare a value with one of JAX's operations, whose one-operation
# program (jit(convert_element_type), jit(_where), jit(clip)) compiles once per process:
# counted, it made the assertion depend on which test warmed JAX's cache first. Such a
# program has no loop and a few equations; anything chaosgrad runs (a transient, a
# trajectory, an ensemble) is a loop over steps. 16 equations is twice the largest such
# program seen while refusing here (jax.random.PRNGKey's seeding, 7). A program whose size
# cannot be read is counted, so a change in JAX makes the check stricter, never blind.
TRIVIAL_EQUATIONS = 16


class _Compilations(logging.Handler):
    """Counts the programs JAX compiles while installed (``with _Compilations() as c``),
    except the trivial ones (``TRIVIAL_EQUATIONS``); ``names`` lists those counted."""

    LOGGERS = ("jax._src.dispatch", "jax._src.interpreters.pxla", "jax._src.compiler")

    def __init__(self):
        super().__init__()
        self.count = 0
        self.seen = 0  # every program compiled, trivial ones included
        self.names = []
        self._log = jax.log_compiles(True)

    def emit(self, record):
        message = record.getMessage()
        if not message.startswith("Compiling "):
            return
        self.seen += 1
        size = _compiling_now()
        if size is None or size[1] or size[0] > TRIVIAL_EQUATIONS:
            self.count += 1
            self.names.append(message.split(" with ")[0].removeprefix("Compiling ") + f" {size}")

    def __enter__(self):
        for name in self.LOGGERS:
            logging.getLogger(name).addHandler(self)
        self._log.__enter__()
        return self

    def __exit__(self, *exc):
        self._log.__exit__(*exc)
        for name in self.LOGGERS:
            logging.getLogger(name).removeHandler(self)
        return False


def _refused(qualname: str, param: str, value) -> None:
    """Call ``qualname`` with ``param=value`` (everything else valid) and require the
    kind's refusal: a ChaosgradInputError naming ``param``, within 3 s, nothing compiled."""
    kwargs = VALID.get(qualname, dict)()
    kwargs[param] = value
    start = time.perf_counter()
    try:
        with _Compilations() as counter, pytest.raises(cg.ChaosgradInputError) as info:
            PUBLIC[qualname](**kwargs)
    except pytest.fail.Exception as exc:
        raise AssertionError(f"{qualname}({param}={value!r}) was accepted") from exc
    except cg.ChaosgradInputError:
        raise
    except Exception as exc:
        raise AssertionError(f"{qualname}({param}={value!r}) raised {type(exc).__name__}: {exc}") from exc
    elapsed = time.perf_counter() - start
    assert f"`{param}`" in str(info.value), f"{qualname}({param}={value!r}): {info.value}"
    # 3 s: a check is a few Python comparisons and at most one abstract trace of the step;
    # anything slower is a computation that started before the argument was looked at.
    assert elapsed < 3.0, f"{qualname}({param}={value!r}) took {elapsed:.1f} s before refusing"
    assert counter.count == 0, f"{qualname}({param}={value!r}) compiled {counter.names} before refusing"


def test_the_compile_count_sees_a_loop_and_not_one_operation():
    """The counter is not blind: a fresh loop over steps counts, while one of JAX's
    one-operation programs on a shape compiled nowhere else does not."""
    shape = (3, 5, 7, 11)  # a shape no other test casts, so this compile is cold

    def run(y):
        return jax.lax.scan(lambda c, _: (0.5 * c, None), y, None, length=3)[0]

    with _Compilations() as counter:
        jnp.asarray(np.ones(shape, np.float32), jnp.float16).block_until_ready()
    assert counter.seen >= 1 and counter.count == 0, (counter.seen, counter.names)
    with _Compilations() as counter:
        jax.jit(run)(jnp.ones(shape)).block_until_ready()
    assert counter.count == 1, counter.names


# Parameters whose wrong values cannot be refused where the test feeds them, each with
# the reason; expected to fail (strict: one that starts passing fails the run, and must
# leave this table).
OPEN = {
    ("NonSmooth", "wrt"): (
        "a path such as 'no-such-path' or 3 is well formed; whether it names a parameter depends on the args of "
        "the diagnosis the cause is later handed (resolve_wrt checks it then); the cause refuses what is not a "
        "path when built"
    ),
}


def _cases(pairs):
    return [
        pytest.param(q, p, marks=pytest.mark.xfail(strict=True, reason=OPEN[q, p])) if (q, p) in OPEN else (q, p)
        for q, p in pairs
    ]


FED = sorted(
    (q, p.name)
    for q in PUBLIC
    if q not in NOT_FED
    for p in _parameters(q)
    if p.kind is not inspect.Parameter.VAR_KEYWORD and WRONG.get(parameter_kind(q.rpartition(".")[2], p.name) or "", [])
)


@pytest.mark.parametrize("qualname, param", _cases(FED))
def test_each_wrong_value_of_the_kind_is_refused_by_name(qualname, param):
    kind = parameter_kind(qualname.rpartition(".")[2], param)
    for value in WRONG[kind]:
        _refused(qualname, param, value)


@pytest.mark.parametrize(
    "qualname, param",
    _cases(
        [
            (q, p)
            for q, p in FED
            if (q, p) not in OPEN and _generated_wrong(parameter_kind(q.rpartition(".")[2], p)) is not None
        ]
    ),
)
@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_drawn_wrong_values_are_refused_by_name(qualname, param, data):
    kind = parameter_kind(qualname.rpartition(".")[2], param)
    _refused(qualname, param, data.draw(_generated_wrong(kind), label=f"{param} ({kind})"))


def test_the_valid_calls_are_valid():
    """The fixed arguments above are accepted: a refusal in the tests is the wrong value's."""
    for qualname in ["MapSimulator", "ODESimulator", "GivenStates", "FinalStateLoss", "spectrum_cost", "monitor"]:
        PUBLIC[qualname](**VALID[qualname]())
    assert np.isfinite(cg.kaplan_yorke_dimension(np.array([0.5, -1.0])))
