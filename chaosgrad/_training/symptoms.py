"""The training symptoms of exploding and vanishing gradients, as pure rules on a log.

Each rule maps the per-step arrays of a :class:`~chaosgrad.TrainingLog` to a boolean per
step; its constant and its reason are stated here and tested in ``tests/test_monitor.py``
on cases built to trigger it and on cases built not to:

1. ``nan-gradient``: a gradient entry is NaN.
2. ``overflow``: a gradient entry or the loss is infinite, or the largest gradient
   entry is within ``OVERFLOW_MARGIN`` of the dtype's largest number (the next
   multiplication by a Jacobian of that size overflows).
3. ``huge-update``: the update moves the parameters by more than
   ``HUGE_UPDATE_RATIO`` of their norm in one step (healthy training moves them by
   about 1e-3 per step; above 0.1 a step leaves the region its gradient described).
4. ``loss-spike``: the loss exceeds the median of the previous ``SPIKE_WINDOW`` finite
   losses by more than ``SPIKE_MADS`` robust standard deviations (1.4826 MAD, Hampel
   1974), with a floor of ``SPIKE_FLOOR`` of the median's size so a flat loss does not
   spike on round-off; needs ``SPIKE_MIN_HISTORY`` previous losses.
5. ``oscillating-loss``: over the last ``OSC_WINDOW`` changes ``d_t`` of the loss, at least
   ``OSC_ALTERNATION`` of consecutive changes flip sign, the loss travels more than
   ``OSC_TRAVEL`` times its net change (it moves a lot and goes nowhere: a step larger than
   2 / sharpness bounces across a valley), and the alternating component stands out from
   noise: ``|sum (-1)^t d_t| / (sd(d) sqrt(n)) > OSC_Z`` (about ``N(0, 1)`` for independent
   changes, ``sqrt(n) = 4`` for a perfect bounce), so minibatch noise alone rarely fires.
"""

from __future__ import annotations

import numpy as np

OVERFLOW_MARGIN = 16.0
HUGE_UPDATE_RATIO = 0.1
SPIKE_WINDOW, SPIKE_MADS, SPIKE_FLOOR, SPIKE_MIN_HISTORY = 20, 10.0, 1e-3, 5
OSC_WINDOW, OSC_ALTERNATION, OSC_TRAVEL, OSC_Z = 16, 0.8, 4.0, 3.0

WORDS = {
    "nan-gradient": "NaN gradients",
    "overflow": "overflow: gradients or the loss at or near the dtype's largest number",
    "huge-update": f"huge updates: a step moves the parameters by more than {HUGE_UPDATE_RATIO:g} of their norm",
    "loss-spike": f"loss spikes: more than {SPIKE_MADS:g} robust standard deviations above the recent median",
    "oscillating-loss": "oscillating loss: the loss bounces with alternating sign and makes no progress",
}


def nan_gradient(nan_count):
    return np.asarray(nan_count) > 0


def overflow(inf_count, max_abs_grad, loss, dtype_max):
    near = np.asarray(max_abs_grad, float) >= float(dtype_max) / OVERFLOW_MARGIN
    return (np.asarray(inf_count) > 0) | near | np.isinf(np.asarray(loss, float))


def huge_update(update_ratio):
    r = np.asarray(update_ratio, float)
    return np.isfinite(r) & (r > HUGE_UPDATE_RATIO)


def loss_spike(loss):
    loss = np.asarray(loss, float)
    out = np.zeros(loss.size, bool)
    for s in range(loss.size):
        prev = loss[max(0, s - SPIKE_WINDOW) : s]
        prev = prev[np.isfinite(prev)]
        if prev.size < SPIKE_MIN_HISTORY or not np.isfinite(loss[s]):
            continue
        med = np.median(prev)
        sd = 1.4826 * np.median(np.abs(prev - med))
        out[s] = loss[s] - med > SPIKE_MADS * max(sd, SPIKE_FLOOR * abs(med), np.finfo(float).tiny)
    return out


def oscillating_loss(loss):
    loss = np.asarray(loss, float)
    out = np.zeros(loss.size, bool)
    for s in range(OSC_WINDOW, loss.size):
        window = loss[s - OSC_WINDOW : s + 1]
        if not np.isfinite(window).all():
            continue
        d = np.diff(window)
        flips = np.mean(np.sign(d[1:]) * np.sign(d[:-1]) < 0)
        travel, net = np.abs(d).sum(), abs(window[-1] - window[0])
        spread = d.std(ddof=1)
        z = abs(np.sum(d * (-1.0) ** np.arange(d.size))) / (spread * np.sqrt(d.size)) if spread > 0 else np.inf
        out[s] = flips >= OSC_ALTERNATION and travel > OSC_TRAVEL * net and travel > 0 and z > OSC_Z
    return out


def symptoms_of(log_arrays: dict, dtype_max: float) -> dict:
    """Every rule on a log's arrays: name -> boolean per step."""
    a = log_arrays
    return {
        "nan-gradient": nan_gradient(a["nan_count"]),
        "overflow": overflow(a["inf_count"], a["max_abs_grad"], a["loss"], dtype_max),
        "huge-update": huge_update(a["update_ratio"]),
        "loss-spike": loss_spike(a["loss"]),
        "oscillating-loss": oscillating_loss(a["loss"]),
    }
