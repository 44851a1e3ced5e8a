"""Matplotlib plumbing: a figure without pyplot's global state, PNG export, palette,
and the generic renderer for a study's :class:`chaosgrad.Figure` descriptions.

matplotlib is imported only inside these functions (Agg canvas, never pyplot), so
``import chaosgrad`` and ``import chaosgrad.report`` stay free of it.
"""

from __future__ import annotations

import io
import warnings

import numpy as np

PHYS = "#1f5fa8"  # lambda_physical
NUM = "#e07a1f"  # lambda_numerical
GRAD = "#1b7f5b"  # the measured gradient
BAD = "#c0392b"  # non-finite values, failures
REF = "#222222"  # literature values, reference lines
GREY = "#8a8f98"
PHYSICS_LINE = (PHYS, "--")  # lambda_1 or the expected rate as a reference line (captions name it)
CYCLE = ("#1f5fa8", "#e07a1f", "#1b7f5b", "#8e44ad", "#c0392b", "#5d6d7e", "#b7950b", "#17a2b8")

# Words for the palette and the line styles, so that captions name the colours and styles
# the figures draw from these same constants (one source of truth).
COLOUR_NAMES = {
    PHYS: "blue",
    NUM: "orange",
    GRAD: "green",
    BAD: "red",
    REF: "black",
    GREY: "grey",
    "#8e44ad": "purple",
    "#5d6d7e": "slate",
    "#b7950b": "ochre",
    "#17a2b8": "teal",
}
STYLE_NAMES = {"-": "solid", "--": "dashed", ":": "dotted", "-.": "dash-dotted"}


def colour_name(colour: str) -> str:
    """The word for a palette colour (``"#1f5fa8"`` is ``"blue"``)."""
    return COLOUR_NAMES[colour]


def series_colour(i: int) -> str:
    """The colour :func:`draw_generic` gives the ``i``-th series of a figure."""
    return CYCLE[i % len(CYCLE)]


BASE_SIZE = (6.4, 3.5)  # inches; one column of the report


def new_figure(width: float = BASE_SIZE[0], height: float = BASE_SIZE[1], ncols: int = 1, nrows: int = 1):
    """A matplotlib Figure on an Agg canvas and its axes (no pyplot, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        style_axes(ax)
    return fig, axes


def style_axes(ax) -> None:
    ax.grid(True, which="major", color="#e3e6ea", linewidth=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#9aa0a6")
    ax.tick_params(labelsize=8, colors="#333333")


def render_png(draw, dpi: int, *args, **kwargs) -> bytes:
    """Call ``draw(*args, **kwargs) -> Figure`` under the report style; return PNG bytes."""
    import matplotlib

    # Written in the call, where the keys are checked against matplotlib's rc names.
    style = matplotlib.rc_context(
        {
            "font.size": 8.5,
            "axes.titlesize": 9,
            "axes.labelsize": 8.5,
            "legend.fontsize": 7.5,
            "legend.frameon": False,
            "figure.dpi": dpi,
        }
    )
    with style, warnings.catch_warnings():
        # All-NaN slices and log scales of empty data are handled explicitly by the
        # drawing code; numpy's and matplotlib's warnings about them are noise here.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        fig = draw(*args, **kwargs)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    return buf.getvalue()


def legend(ax, **kw) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=7.5, frameon=False, **kw)


def figure_legend(fig, ax, ncol: int = 4) -> None:
    """One legend for the whole figure, below the axes, so it never hides data."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(
            handles, labels, loc="outside lower center", ncol=min(ncol, len(handles)), fontsize=7.5, frameon=False
        )


def note(ax, text: str, color: str = "#555555", *, blank: bool = False) -> None:
    """A centred message in an axes that has nothing to show (instead of a blank plot)."""
    if blank:
        ax.set_axis_off()
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=9, color=color, wrap=True)


def finite(a) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    return a[np.isfinite(a)]


# The most points a line draws: a figure 6.4 inches wide at 150 dpi has under a
# thousand pixel columns, so more points only cost time (20 000 intervals took half a
# second per figure).
MAX_LINE_POINTS = 1500


def thin_index(y, limit: int = MAX_LINE_POINTS) -> np.ndarray:
    """Indices of at most about ``limit`` points of ``y`` that draw the same line at
    report resolution: the first and last point and, in each of ``limit // 2`` equal
    blocks, the smallest and largest finite value (so spikes stay). All indices when
    ``y`` is short enough."""
    y = np.asarray(y, dtype=float).reshape(-1)
    n = y.size
    if n <= limit:
        return np.arange(n)
    blocks = max(limit // 2, 1)
    edges = np.linspace(0, n, blocks + 1).round().astype(int)
    keep = [0, n - 1]
    finite_y = np.isfinite(y)
    for lo, hi in zip(edges[:-1], edges[1:]):
        ok = np.flatnonzero(finite_y[lo:hi])
        if ok.size:
            part = y[lo:hi][ok]
            keep += [lo + int(ok[np.argmin(part)]), lo + int(ok[np.argmax(part)])]
        elif hi > lo:
            keep.append(lo)
    return np.unique(keep)


# ------------------------------------------------------------------ generic figures


def _is_categorical(x) -> bool:
    return np.asarray(x).dtype.kind in "USO"


def draw_generic(spec, *, width: float = BASE_SIZE[0], height: float = BASE_SIZE[1]):
    """Draw a :class:`chaosgrad.Figure` description: each Series by its ``style``; its
    labels in the report's one notation (``lambda_1`` as ``λ₁``)."""
    from chaosgrad.report._text import notation

    fig, axes = new_figure(width, height)
    ax = axes[0, 0]
    series = tuple(spec.series or ())
    bars = [s for s in series if s.style == "bar"]
    cats: list = []  # the categories of categorical bars, in order of appearance
    for s in bars:
        if _is_categorical(s.x):
            for c in np.asarray(s.x).reshape(-1).tolist():
                if c not in cats:
                    cats.append(c)
    bar_i = 0
    drew = False
    for i, s in enumerate(series):
        color = series_colour(i)
        x = np.asarray(s.x)
        y = np.asarray(s.y, dtype=float) if s.y is not None else np.zeros(0)
        style = str(s.style)
        if style == "hline":
            drew = _draw_hline(ax, s, y, notation) or drew
        elif style == "hist":
            drew = _draw_hist(ax, s, x, color, notation) or drew
        elif style == "bar":
            _draw_bar(ax, s, x, y, color, cats, (bar_i, len(bars)), notation)
            bar_i += 1
            drew = True
        else:
            _draw_line(ax, s, x, y, color, style, notation)
            drew = True
    for setter, scale in ((ax.set_xscale, spec.xscale), (ax.set_yscale, spec.yscale)):
        if scale in ("log", "symlog", "logit"):
            setter(scale)
    if cats:
        ax.set_xticks(range(len(cats)), [str(c) for c in cats], fontsize=8)
    ax.set_xlabel(notation(spec.xlabel))
    ax.set_ylabel(notation(spec.ylabel))
    if not drew:
        note(ax, "no finite data to show")
    legend(ax)
    return fig


def _draw_hline(ax, s, y, notation) -> bool:
    """A horizontal reference line at the series' first value, when it is finite."""
    if y.size and np.isfinite(y[0]):
        ax.axhline(float(y[0]), color=REF, linestyle="--", linewidth=0.9, label=notation(s.label))
        return True
    return False


def _draw_hist(ax, s, x, color, notation) -> bool:
    """A histogram of the series' finite x values (8 to 40 bins, about sqrt(n))."""
    xs = finite(x)
    if not xs.size:
        return False
    ax.hist(
        xs,
        bins=min(40, max(8, int(np.sqrt(xs.size)))),
        color=color,
        alpha=0.55,
        edgecolor="white",
        linewidth=0.4,
        label=notation(s.label),
    )
    return True


def _draw_bar(ax, s, x, y, color, cats, place, notation) -> None:
    """Bars, side by side with the other bar series (``place`` = (this one's index, how
    many)): at category positions, or numeric x spread over 0.8 of the closest spacing;
    error bars from lower/upper, crosses where a value is not finite."""
    bar_i, nbar = place
    if _is_categorical(x):
        pos = np.array([cats.index(c) for c in x.reshape(-1).tolist()], dtype=float)
    else:
        pos = x.astype(float)
    if cats:
        wid = 0.8 / max(nbar, 1)
        pos = pos + (bar_i - (nbar - 1) / 2) * wid
    else:
        step = np.min(np.diff(np.unique(pos))) if np.unique(pos).size > 1 else 1.0
        wid = 0.8 * step / max(nbar, 1)
        pos = pos + (bar_i - (nbar - 1) / 2) * wid
    yerr = None
    if s.lower is not None and s.upper is not None:
        lo, hi = np.asarray(s.lower, float), np.asarray(s.upper, float)
        yerr = np.vstack([np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)])
    ax.bar(
        pos,
        np.nan_to_num(y),
        width=wid,
        color=color,
        alpha=0.85,
        label=notation(s.label),
        yerr=yerr,
        capsize=2,
        error_kw={"linewidth": 0.8},
    )
    bad = ~np.isfinite(y)
    if bad.any():
        ax.plot(pos[bad], np.zeros(bad.sum()), "x", color=BAD, markersize=7)


def _draw_line(ax, s, x, y, color, style, notation) -> None:
    """A line, markers or both, with its lower/upper band; non-finite values are crosses
    in a strip at the top."""
    xf = x.astype(float) if not _is_categorical(x) else np.arange(x.size, dtype=float)
    # A long plain line is thinned to what the figure can show; markers are not.
    idx = thin_index(y) if style not in ("marker", "line+marker") and xf.size == y.size else slice(None)
    if s.lower is not None and s.upper is not None:
        ax.fill_between(
            xf[idx],
            np.asarray(s.lower, float)[idx],
            np.asarray(s.upper, float)[idx],
            color=color,
            alpha=0.18,
            linewidth=0,
        )
    if style == "marker":
        ax.plot(xf, y, "o", color=color, markersize=4, label=notation(s.label))
    elif style == "line+marker":
        ax.plot(xf, y, "-o", color=color, markersize=3.5, linewidth=1.4, label=notation(s.label))
    else:
        ax.plot(xf[idx], y[idx], "-", color=color, linewidth=1.4, label=notation(s.label))
    bad = ~np.isfinite(y)
    if bad.any() and xf.size == y.size:
        from matplotlib.transforms import blended_transform_factory

        tr = blended_transform_factory(ax.transData, ax.transAxes)
        ax.plot(
            xf[bad],
            np.full(bad.sum(), 0.97),
            "x",
            color=BAD,
            transform=tr,
            markersize=6,
            clip_on=False,
            label="non-finite",
        )
