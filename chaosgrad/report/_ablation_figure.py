"""The ablation figure: the gradient rate before and after each single change, with
intervals (``ablations``), and which of its marks are drawn (``ablation_marks``, read by
its caption)."""

from __future__ import annotations

import numpy as np

from chaosgrad.report._numbers import fmt, is_finite
from chaosgrad.report._plot import BAD, GRAD, GREY, NUM, PHYSICS_LINE, figure_legend, new_figure, note

ABLATION_COLOURS = (GREY, GRAD, NUM)  # before; after, confirmed; after, not confirmed


def ablation_marks(d) -> dict:
    """Which marks :func:`ablations` draws for ``d``: ``{"before", "confirmed", "other"}``
    each ``True`` when some row has a finite rate or interval of that kind."""

    def shown(rate, interval):
        lo, hi = (tuple(interval) + (np.nan, np.nan))[:2] if interval is not None else (np.nan, np.nan)
        return is_finite(rate) or (is_finite(lo) and is_finite(hi))

    abl = tuple(d.ablations or ())
    return {
        "before": any(shown(a.rate_before, a.interval_before) for a in abl),
        "confirmed": any(a.confirmed and shown(a.rate_after, a.interval_after) for a in abl),
        "other": any(not a.confirmed and shown(a.rate_after, a.interval_after) for a in abl),
    }


def ablations(d, width=6.4, height=None):
    abl = tuple(d.ablations or ())
    n = max(len(abl), 1)
    fig, axes = new_figure(width, height or (1.1 + 0.55 * n))
    ax = axes[0, 0]
    if not abl:
        note(ax, "no ablations were run", blank=True)
        return fig
    labels = []
    xs = []
    for row, a in enumerate(abl):
        y = len(abl) - 1 - row
        labels.append(f"{a.name}\n({a.cause})")
        for rate, interval, dy, color, name in (
            (a.rate_before, a.interval_before, 0.14, ABLATION_COLOURS[0], "before"),
            (
                a.rate_after,
                a.interval_after,
                -0.14,
                ABLATION_COLOURS[1] if a.confirmed else ABLATION_COLOURS[2],
                "after",
            ),
        ):
            lo, hi = (tuple(interval) + (np.nan, np.nan))[:2] if interval is not None else (np.nan, np.nan)
            if is_finite(lo) and is_finite(hi):
                ax.plot([lo, hi], [y + dy, y + dy], "-", color=color, linewidth=2.2, alpha=0.7, solid_capstyle="butt")
                xs += [float(lo), float(hi)]
            if is_finite(rate):
                ax.plot([rate], [y + dy], "o" if name == "after" else "s", color=color, markersize=5, label=None)
                xs.append(float(rate))
        if a.status != "ok" or not is_finite(a.rate_after):
            msg = a.error or f"status {a.status}"
            msg = msg if len(msg) <= 70 else msg[:67] + "…"
            ax.text(
                0.02,
                y - 0.14,
                f"after: {'failed' if a.status != 'ok' else 'no rate'} — {msg}",
                transform=_blend_y(ax),
                color=BAD,
                fontsize=7,
                va="center",
            )
        elif a.confirmed:
            ax.text(
                0.99,
                y - 0.14,
                "confirmed",
                transform=_blend_y(ax),
                ha="right",
                va="center",
                fontsize=7,
                color=GRAD,
                fontweight="bold",
            )
    if is_finite(d.expected_rate):
        ax.axvline(
            float(d.expected_rate),
            color=PHYSICS_LINE[0],
            linestyle=PHYSICS_LINE[1],
            linewidth=1.2,
            label=f"expected from physics {fmt(d.expected_rate, 3, signed=True)}",
        )
        xs.append(float(d.expected_rate))
    marks = ablation_marks(d)
    for key, marker, color, label in (
        ("before", "s", ABLATION_COLOURS[0], "before"),
        ("confirmed", "o", ABLATION_COLOURS[1], "after (confirmed)"),
        ("other", "o", ABLATION_COLOURS[2], "after (not confirmed)"),
    ):
        if marks[key]:
            ax.plot([], [], marker, color=color, label=label)
    if xs:
        lo_x, hi_x = min(xs), max(xs)
        pad = max(0.1 * (hi_x - lo_x), 0.05)
        ax.set_xlim(lo_x - pad, hi_x + pad)
    ax.set_yticks(range(len(abl)), labels[::-1], fontsize=7.5)
    ax.set_ylim(-0.6, len(abl) - 0.4)
    ax.set_xlabel("gradient growth rate γ (1 / time), with confidence interval")
    figure_legend(fig, ax)
    return fig


def _blend_y(ax):
    from matplotlib.transforms import blended_transform_factory

    return blended_transform_factory(ax.transAxes, ax.transData)
