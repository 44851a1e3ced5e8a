"""chaosgrad: why gradients through long simulations explode or vanish.

chaosgrad measures three rates on the same trajectory: the Lyapunov spectrum of the
physical flow (lambda_physical), that of the user's numerical map (lambda_numerical), and
the growth rate of the gradient the user actually gets, and attributes the difference.

Importing chaosgrad does not change JAX's configuration: its own computations run with
float64 enabled in a scope (``jax.enable_x64``), and a user's lower-precision simulator
keeps its own dtype.
"""

from . import envs
from ._capabilities import Refinable, SwappableAdjoint
from ._causes import (
    DEFAULT_CAUSES,
    AbstractCause,
    Adjoint,
    CauseEvidence,
    Discretization,
    Precision,
)
from ._diagnose import diagnose
from ._diagnosis_types import (
    CAUSES,
    Ablation,
    Diagnosis,
    GradientGrowthResult,
    Recommendation,
)
from ._errors import ChaosgradInputError
from ._gradients import gradient_growth
from ._losses import FinalStateLoss, LinearReadout, ReturnLoss, TimeAveragedLoss
from ._lyapunov import (
    LyapunovResult,
    UntilConverged,
    kaplan_yorke_dimension,
    lyapunov_spectrum,
)
from ._ode import ODESimulator
from ._rk import RK4
from ._serialize import Result, load_result
from ._simulators import (
    STEP_FAILURES,
    SUCCESS,
    AbstractSimulator,
    MapSimulator,
    RolloutSimulator,
    first_failure,
    replace_fields,
)
from ._study import Figure, Section, Series, Study, Table
from ._verdict import PHYSICS, VERDICTS

__version__ = "0.1.0"

__all__ = [
    "envs",
    "AbstractCause",
    "Adjoint",
    "CAUSES",
    "CauseEvidence",
    "DEFAULT_CAUSES",
    "Discretization",
    "Precision",
    "Refinable",
    "STEP_FAILURES",
    "SUCCESS",
    "SwappableAdjoint",
    "first_failure",
    "replace_fields",
    "UntilConverged",
    "PHYSICS",
    "VERDICTS",
    "Ablation",
    "Diagnosis",
    "Figure",
    "GradientGrowthResult",
    "RK4",
    "Recommendation",
    "Section",
    "Series",
    "Study",
    "Table",
    "AbstractSimulator",
    "FinalStateLoss",
    "LinearReadout",
    "TimeAveragedLoss",
    "ReturnLoss",
    "diagnose",
    "gradient_growth",
    "ChaosgradInputError",
    "LyapunovResult",
    "MapSimulator",
    "ODESimulator",
    "Result",
    "RolloutSimulator",
    "kaplan_yorke_dimension",
    "load_result",
    "lyapunov_spectrum",
]
