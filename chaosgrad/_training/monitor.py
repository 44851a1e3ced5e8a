"""A training monitor: an ``optax`` gradient transformation that measures every step.

``monitor(inner)`` wraps the user's optimiser (any ``optax.GradientTransformation``) and
keeps, in its state, the statistics of the last step: the global and per-leaf gradient
norms, the largest gradient entry, NaN and infinity counts, the update's and the
parameters' norms and their ratio, whether clipping at ``clip_norm`` was active, and the
loss (passed as optax's ``value=`` extra argument). Everything is computed inside the
user's compiled step; on the host, :class:`TrainingRecorder` reads it from the returned
state after each step and builds a :class:`~chaosgrad.TrainingLog` whose symptoms come
from the rules of :mod:`chaosgrad._training.symptoms`.

    tx = cg.monitor(optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3)), clip_norm=1.0)
    state = tx.init(params)
    rec = cg.TrainingRecorder(params)
    for batch in data:
        loss, grads = jax.value_and_grad(f)(params, batch)
        updates, state = tx.update(grads, state, params, value=loss)
        params = optax.apply_updates(params, updates)
        rec.record(state)
    log = rec.log()          # serialises; log.symptoms says what went wrong, and when
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._checks import check_real
from chaosgrad._errors import bad_argument
from chaosgrad._landscape.types import Symptom, TrainingLog
from chaosgrad._pytree import float_leaves, leaf_names
from chaosgrad._training.symptoms import WORDS, symptoms_of

_SCALARS = (
    "loss",
    "grad_norm",
    "max_abs_grad",
    "nan_count",
    "inf_count",
    "update_norm",
    "param_norm",
    "update_ratio",
    "clipped",
)


class MonitorState(NamedTuple):
    inner: Any
    stats: dict


def _norm(leaves):
    return (
        jnp.sqrt(sum(jnp.sum(jnp.square(x.astype(jnp.float32 if x.dtype == jnp.float16 else x.dtype))) for x in leaves))
        if leaves
        else jnp.zeros(())
    )


def _stats(grads, updates, params, value, clip_norm):
    g = float_leaves(grads)
    layer = jnp.stack([_norm([x]) for x in g]) if g else jnp.zeros((0,))
    grad_norm = _norm(g)
    update_norm = _norm(float_leaves(updates))
    param_norm = _norm(float_leaves(params)) if params is not None else jnp.asarray(jnp.nan)
    f32 = lambda x: jnp.asarray(x, jnp.float32 if jnp.asarray(x).dtype == jnp.float16 else jnp.asarray(x).dtype)
    return {
        "loss": jnp.asarray(jnp.nan if value is None else value, jnp.float32),  # one dtype at init and update
        "grad_dtype": jnp.zeros((0,), g[0].dtype if g else jnp.float32),  # which range overflow is judged in
        "grad_norm": f32(grad_norm),
        "layer_norms": layer,
        "max_abs_grad": f32(jnp.max(jnp.stack([jnp.max(jnp.abs(jnp.nan_to_num(x, nan=0.0))) for x in g])))
        if g
        else jnp.zeros(()),
        "nan_count": sum(jnp.sum(jnp.isnan(x)) for x in g) if g else jnp.zeros((), jnp.int32),
        "inf_count": sum(jnp.sum(jnp.isinf(x)) for x in g) if g else jnp.zeros((), jnp.int32),
        "update_norm": f32(update_norm),
        "param_norm": f32(param_norm),
        "update_ratio": f32(update_norm / param_norm),
        "clipped": (grad_norm > clip_norm) if clip_norm is not None else jnp.asarray(False),
    }


def monitor(inner, *, clip_norm: float | None = None):
    """``inner`` (an ``optax`` transformation) with the last step's statistics in its state.

    ``clip_norm``: the threshold of the ``optax.clip_by_global_norm`` inside ``inner``, if
    any, so the log records when clipping was active (the gradient's norm above it).
    Call ``update(grads, state, params, value=loss)``: without ``params`` the update ratio
    is NaN, without ``value`` the loss is NaN.
    """
    import optax

    if not hasattr(inner, "init") or not hasattr(inner, "update"):
        raise bad_argument(
            "inner",
            f"{inner!r} is not an optax gradient transformation",
            "pass e.g. optax.adam(1e-3) or an optax.chain(...)",
        )
    check_real(
        "clip_norm", clip_norm, positive=True, allow_none=True, example="the max_norm of your optax.clip_by_global_norm"
    )
    inner = optax.with_extra_args_support(inner)

    def init(params):
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        return MonitorState(inner.init(params), _stats(zeros, zeros, params, None, clip_norm))

    def update(grads, state, params=None, *, value=None, **extra):
        updates, inner_state = inner.update(grads, state.inner, params, **extra)
        return updates, MonitorState(inner_state, _stats(grads, updates, params, value, clip_norm))

    return optax.GradientTransformationExtraArgs(init, update)


def _find_monitor_state(state):
    found = [
        x
        for x in jax.tree_util.tree_leaves(state, is_leaf=lambda x: isinstance(x, MonitorState))
        if isinstance(x, MonitorState)
    ]
    if len(found) != 1:
        raise bad_argument(
            "state",
            f"holds {len(found)} monitor states, not one",
            "pass the state returned by the update of chaosgrad.monitor(...)",
        )
    return found[0]


class TrainingRecorder:
    """Host-side record of a monitored training run; ``params`` (optional) names the leaves."""

    def __init__(self, params=None):
        self.names = (
            tuple(
                leaf_names(
                    params,
                    jax.tree_util.tree_map(lambda x: bool(jnp.issubdtype(jnp.result_type(x), jnp.floating)), params),
                )
            )
            if params is not None
            else None
        )
        self.dtype = None
        self.grad_dtype = None
        if params is not None and float_leaves(params):
            self.dtype = str(jnp.result_type(*float_leaves(params)))
        self.rows: list[dict] = []

    def record(self, state) -> None:
        stats = jax.device_get(_find_monitor_state(state).stats)
        self.grad_dtype = str(np.asarray(stats["grad_dtype"]).dtype)
        self.rows.append({k: np.asarray(v) for k, v in stats.items() if k != "grad_dtype"})

    def log(self) -> TrainingLog:
        if not self.rows:
            raise bad_argument("record", "nothing was recorded", "call record(state) after each update")
        arrays = {k: np.array([r[k] for r in self.rows]) for k in _SCALARS}
        layers = np.stack([r["layer_norms"] for r in self.rows]).astype(np.float64)
        dtype = self.grad_dtype or self.dtype or "float32"
        flags = symptoms_of(arrays, float(jnp.finfo(jnp.dtype(dtype)).max))
        symptoms = tuple(
            Symptom(name=name, steps=np.nonzero(mask)[0].astype(np.int64), words=WORDS[name])
            for name, mask in flags.items()
            if mask.any()
        )
        names = self.names or tuple(f"leaf {i}" for i in range(layers.shape[1]))
        return TrainingLog(
            steps=np.arange(len(self.rows), dtype=np.int64),
            **{k: arrays[k].astype(np.float64) for k in _SCALARS if k not in ("nan_count", "inf_count", "clipped")},
            nan_count=arrays["nan_count"].astype(np.int64),
            inf_count=arrays["inf_count"].astype(np.int64),
            clipped=arrays["clipped"].astype(bool),
            layer_norms=layers,
            layer_names=tuple(names),
            dtype=dtype,
            symptoms=symptoms,
        )
