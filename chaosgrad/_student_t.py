"""Student's t quantiles without importing ``scipy.stats``.

``scipy.stats`` is slow to import (it builds the docstrings of every distribution;
``benchmarks/RESULTS_design.md``), and chaosgrad needs one function of it.
``scipy.special.stdtrit`` is the inverse of Student's t distribution function, the
routine that ``scipy.stats.t.ppf`` itself calls, so the quantiles are the same to the
last bit (``tests/test_properties.py``). That import happens at the
first call, not when the module is imported: reading and rendering a results file needs
none.
"""

from __future__ import annotations


def t_quantile(p: float, dof: float) -> float:
    """The ``p`` quantile of Student's t with ``dof`` degrees of freedom (``dof = inf``:
    the normal distribution's)."""
    from scipy import special

    return float(special.stdtrit(dof, p))
