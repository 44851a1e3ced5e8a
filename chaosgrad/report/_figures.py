"""The six standard figures of a diagnosis, drawn from the result data alone, in the
order the report shows them (``STANDARD``), and which of them would be empty
(``nothing_to_draw``).

1. ``gradient_growth``: ln||grad|| against the horizon, ensemble median and spread,
   the fitted rate, reference slopes from lambda_physical and lambda_numerical, and
   non-finite horizons marked (``_gradient_figures``).
2. ``convergence``: running Lyapunov estimates with standard-error bands (``_lyapunov_figures``).
3. ``ftle``: distribution of finite-time exponents (``_lyapunov_figures``).
4. ``cotangent``: norm of the backward cotangent dL/dy(t) along the trajectory, and its
   growth rate per interval (``_gradient_figures``).
5. ``ablations``: gradient rate before and after each single change, with intervals
   (``_ablation_figure``).
6. ``spectrum``: the spectra as bars, with literature values (``_lyapunov_figures``).

and ``growth-law`` (``_law_figure``), the gradient on the axes where exponential and
power growth are straight lines, drawn when the diagnosis fitted a law.
"""

from __future__ import annotations

import numpy as np

from chaosgrad.report._ablation_figure import ablations
from chaosgrad.report._gradient_figures import cotangent, gradient_growth
from chaosgrad.report._lyapunov_figures import convergence, ftle, spectrum


def _growth_law(d, width=6.4, height=3.0):
    from chaosgrad.report._law_figure import growth_law

    return growth_law(d, width, height)


def _has_law(d) -> bool:
    from chaosgrad.report._law_figure import growth_law_parts

    return growth_law_parts(d) is not None


def nothing_to_draw(fid: str, d) -> bool:
    """Whether standard figure ``fid`` would be an empty panel for ``d`` (then the report
    leaves it out and says why in words)."""
    if fid == "growth-law":
        return not _has_law(d)
    if fid == "ablations":
        return not tuple(d.ablations or ())
    if fid == "cotangent":
        t, c = np.asarray(d.gradient.cotangent_times), np.asarray(d.gradient.cotangent_norms)
        return t.size < 2 or c.ndim != 2 or c.shape[1] != t.size
    if fid == "ftle":
        return not any(
            np.asarray(r.finite_time_exponents, dtype=float).ndim == 3
            and np.asarray(r.finite_time_exponents).shape[2] > 0
            and np.isfinite(np.asarray(r.finite_time_exponents, dtype=float)[:, :, 0]).any()
            for r in (d.lambda_physical, d.lambda_numerical)
        )
    return False


STANDARD = (
    ("gradient-growth", "Gradient growth with the horizon", gradient_growth),
    ("growth-law", "Which law the growth follows", _growth_law),
    ("convergence", "Convergence of the Lyapunov estimates", convergence),
    ("ftle", "Distribution of finite-time exponents", ftle),
    ("cotangent", "Where along the trajectory the gradient grows", cotangent),
    ("ablations", "Ablations: the rate before and after each fix", ablations),
    ("spectrum", "Lyapunov spectrum", spectrum),
)
