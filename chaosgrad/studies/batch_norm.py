"""Batch normalisation at initialisation: gradient explosion that no initialisation removes.

A depth-``L`` fully connected network acting on a batch ``X`` (``B x n``, one example per
row), ``X_{l+1} = phi(BN(X_l W_l^T))``, where ``BN`` normalises each unit over the batch.
The layer map couples the examples, so it is a map on the whole batch and its Lyapunov
exponent is the rate per layer of the gradient of a readout of ``X_L`` with respect to
``X_0``. Yang, Pennington, Rao, Sohl-Dickstein & Schoenholz, "A mean field theory of batch
normalization" (ICLR 2019), state, and this study measures:

1. at initialisation the gradient grows exponentially with depth for every activation
   (tanh, ReLU, even linear);
2. the initialisation cannot remove it: ``BN(s X W^T) = BN(X W^T)``, so the weight scale
   ``s`` leaves every gradient unchanged, up to BN's ``epsilon`` (relative effect about
   ``epsilon / (s^2 var)`` per layer);
3. the rate shrinks as the network is pushed towards the linear regime
   (``phi(h) = tanh(a h) / a`` with ``a -> 0``);
4. residual connections, ``X_{l+1} = X_l + phi(BN(X_l W_l^T))``, reduce the explosion
   several-fold (the residual stream's variance grows with depth, so each branch's share,
   and the rate it adds, falls as the network gets deeper);

beside layer normalisation (per example, no coupling across the batch).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._diagnosis.diagnose import diagnose
from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._gradients.growth import gradient_growth
from chaosgrad._results.study import Study, Table
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._simulators.base import MapSimulator
from chaosgrad.studies import StudySpec
from chaosgrad.studies._common import (
    Figure,
    Section,
    Series,
    activation_histogram_figure,
    layerwise_gradient_figure,
    make_study,
    no_progress,
)

EPS = 1e-5

ACTIVATIONS = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "linear": lambda h: h,
    "tanh(2h)/2": lambda h: jnp.tanh(2 * h) / 2,
    "2 tanh(h/2)": lambda h: 2 * jnp.tanh(h / 2),
    "4 tanh(h/4)": lambda h: 4 * jnp.tanh(h / 4),
}
LINEARITY = ("tanh(2h)/2", "tanh", "2 tanh(h/2)", "4 tanh(h/4)", "linear")  # a = 2, 1, 1/2, 1/4, 0


def normalise(H, norm: str):
    """Batch norm (over rows, per unit), layer norm (over units, per row) or none."""
    if norm == "batch":
        return (H - H.mean(0)) / jnp.sqrt(H.var(0) + EPS)
    if norm == "layer":
        return (H - H.mean(1, keepdims=True)) / jnp.sqrt(H.var(1, keepdims=True) + EPS)
    return H


def network(activation: str, norm: str, residual: bool = False) -> MapSimulator:
    """The layer map on ``{"x": X, "l": layer}``; ``args = {"W": (depth, n, n), "scale": s}``."""
    phi = ACTIVATIONS[activation]

    def layer(y, a):
        X, l = y["x"], y["l"]
        out = phi(normalise(X @ (a["scale"] * a["W"][l]).T, norm))
        return {"x": X + out if residual else out, "l": l + 1}

    return MapSimulator(layer)


def _rate_text(g):
    return f"{g.rate:+.4f} [{g.rate_low:+.4f}, {g.rate_high:+.4f}]"


@dataclass(frozen=True)
class Measured:
    """What :func:`measure` computes and :func:`narrate` reports."""

    n: int  # width
    batch: int
    depth: int
    members: int  # input batches
    results: dict  # (activation, norm, residual, weight scale) -> gradient growth per layer
    main: Diagnosis  # the batch-normalised tanh network, read layer by layer
    activations: dict  # label -> activations of the batch-normalised tanh network at a few layers


def measure(fast: bool, progress) -> Measured:
    """Gradient growth per layer of every network in the case list, and a diagnosis of the
    batch-normalised tanh network."""
    n, batch, depth, members = (48, 16, 40, 4) if fast else (128, 32, 100, 8)
    rng = np.random.default_rng(0)
    W = jnp.asarray(rng.standard_normal((depth + 1, n, n)) / np.sqrt(n))
    X0 = jnp.asarray(rng.standard_normal((members, batch, n)))
    y0 = {"x": X0, "l": jnp.zeros(members, jnp.int32)}
    horizons = [depth / 4, depth / 2, 3 * depth / 4, depth]
    cases = [
        ("tanh", "batch", False, 1.0),
        ("tanh", "batch", False, 0.25),
        ("tanh", "batch", False, 4.0),
        ("relu", "batch", False, 1.0),
        ("relu", "batch", False, 4.0),
        ("linear", "batch", False, 1.0),
        *((a, "batch", False, 1.0) for a in LINEARITY if a not in ("tanh", "linear")),
        ("tanh", "batch", True, 1.0),
        ("relu", "batch", True, 1.0),
        ("tanh", "layer", False, 1.0),
        ("relu", "layer", False, 1.0),
        ("tanh", "none", False, 1.0),
    ]
    results = {}
    for i, (act, norm, res, scale) in enumerate(cases):
        progress(f"{act}, {norm} norm", i, len(cases))
        results[(act, norm, res, scale)] = gradient_growth(
            network(act, norm, res),
            y0,
            {"W": W, "scale": jnp.asarray(scale)},
            horizons=horizons,
            wrt="y0",
            ensemble=True,
        )
    progress("diagnosis", len(cases), len(cases) + 1)
    args = {"W": W, "scale": jnp.asarray(1.0)}
    main = diagnose(
        network("tanh", "batch"),
        {"x": X0[0], "l": jnp.asarray(0, jnp.int32)},
        args,
        wrt="y0",
        horizons=horizons,
        members=members,
        transient=0.0,
        lyapunov_time=float(depth),
        k=1,
        name="batch-normalised tanh network, read layer by layer",
        progress=None,
    )
    progress("done", len(cases) + 1, len(cases) + 1)
    return Measured(n, batch, depth, members, results, main, _activations("tanh", "batch", W, X0[0], depth))


def _findings(results: dict) -> list[str]:
    same = np.max(
        np.abs(results[("tanh", "batch", False, 0.25)].norms / results[("tanh", "batch", False, 4.0)].norms - 1)
    )
    g = {k[:3]: v for k, v in results.items() if k[3] == 1.0}
    return [
        f"With batch norm every activation explodes: tanh {g[('tanh', 'batch', False)].rate:+.3f}, "
        f"ReLU {g[('relu', 'batch', False)].rate:+.3f}, linear {g[('linear', 'batch', False)].rate:+.3f} per layer.",
        "The weight scale does not change the rate: at scales 0.25, 1, 4 it is "
        + ", ".join(f"{results[('tanh', 'batch', False, sc)].rate:+.4f}" for sc in (0.25, 1.0, 4.0))
        + f" per layer. Individual gradients at 0.25 and 4 differ by up to {same:.1e} (relative) only through BN's "
        f"epsilon = {EPS:g} (against a pre-activation variance of about 0.03 at scale 0.25), a perturbation of every "
        "layer that the same explosion amplifies.",
        "Towards the linear regime the rate falls: "
        + ", ".join(f"{a} {results[(a, 'batch', False, 1.0)].rate:+.3f}" for a in LINEARITY)
        + ".",
        f"Residual connections: tanh {_rate_text(g[('tanh', 'batch', True)])}, ReLU "
        f"{_rate_text(g[('relu', 'batch', True)])} per layer.",
        f"Layer norm instead: tanh {_rate_text(g[('tanh', 'layer', False)])}, ReLU "
        f"{_rate_text(g[('relu', 'layer', False)])}; no normalisation, tanh at unit weight scale: "
        f"{_rate_text(g[('tanh', 'none', False)])}.",
    ]


def _section(m: Measured) -> Section:
    results = m.results
    label = lambda act, norm, res, scale: (
        f"{act}, {norm} norm" + (", residual" if res else "") + (f", weight scale {scale:g}" if scale != 1.0 else "")
    )
    rows = tuple((label(*k), _rate_text(g), g.status) for k, g in results.items())
    table = Table(
        title="Gradient growth per layer",
        columns=("network", "rate of ln||dL/dX_0|| per layer [95%]", "status"),
        rows=rows,
        caption=f"Width {m.n}, batch {m.batch}, depth {m.depth}, {m.members} input batches; weights N(0, scale^2/n).",
    )
    lin = [results[(a, "batch", False, 1.0)] for a in LINEARITY]
    lin_fig = Figure(
        title="Towards the linear regime",
        xlabel="a in phi(h) = tanh(a h) / a (0: linear)",
        ylabel="rate per layer",
        series=(
            Series(
                "batch-normalised rate (95%)",
                np.array([2.0, 1.0, 0.5, 0.25, 0.0]),
                np.array([g.rate for g in lin]),
                lower=np.array([g.rate_low for g in lin]),
                upper=np.array([g.rate_high for g in lin]),
                style="line+marker",
            ),
        ),
        caption="The explosion shrinks as the activation becomes linear but stays positive at a = 0 (finite batch).",
    )
    profile = layerwise_gradient_figure(
        {
            "tanh, batch norm": results[("tanh", "batch", False, 1.0)],
            "tanh, batch norm, residual": results[("tanh", "batch", True, 1.0)],
            "tanh, layer norm": results[("tanh", "layer", False, 1.0)],
            "relu, batch norm": results[("relu", "batch", False, 1.0)],
        }
    )
    hist = activation_histogram_figure(m.activations, title="Activations of the batch-normalised tanh network")
    return Section(
        title="Batch norm at initialisation",
        text=(
            "The gradient of a unit readout of the last layer's batch with respect to the input batch, against "
            "depth, for each network; the rate is the batch map's leading Lyapunov exponent per layer. Batch norm "
            "divides by the batch's spread, which depends on every example: its Jacobian has a component that "
            "grows the gradient at every layer, whatever the activation and the weights' scale."
        ),
        figures=(lin_fig, profile, hist),
        tables=(table,),
    )


def narrate(m: Measured, *, fast: bool) -> Study:
    """The study's section, summary and findings from the numbers :func:`measure` returned."""
    results = m.results
    main_case = results[("tanh", "batch", False, 1.0)]
    res_case = results[("tanh", "batch", True, 1.0)]
    summary = (
        f"A batch-normalised tanh network's gradient grows at {main_case.rate:.3f} per layer at initialisation; "
        f"no weight scale changes that rate, a more linear activation reduces it, residual connections reduce it "
        f"to {res_case.rate:.3f}."
    )
    return make_study(
        "batch_norm",
        "Batch normalisation at initialisation",
        summary,
        m.main,
        [_section(m)],
        _findings(results),
        fast=fast,
        config={"width": m.n, "batch": m.batch, "depth": m.depth, "members": m.members},
        extra={},
    )


def _activations(act, norm, W, X, depth):
    sim = network(act, norm)
    y = {"x": X, "l": jnp.asarray(0, jnp.int32)}
    picks = {1, depth // 4, depth // 2, depth}
    out = {}
    for l in range(1, depth + 1):
        y = sim.step(0.0, y, {"W": W, "scale": jnp.asarray(1.0)})
        if l in picks:
            out[f"layer {l}"] = np.asarray(y["x"])
    return out


@float64_scope
def run(*, fast: bool = False, progress=None) -> Study:
    return narrate(measure(fast, progress or no_progress), fast=fast)


SPEC = StudySpec(
    name="batch_norm",
    title="Batch normalisation",
    description="Gradient explosion of batch-normalised networks at initialisation (Yang et al. 2019), beside layer norm and residuals.",
    run=run,
)
