"""chaosgrad: why gradients through long simulations explode or vanish.

chaosgrad measures three rates on the same trajectory: the Lyapunov spectrum of the
physical flow (lambda_physical), that of the user's numerical map (lambda_numerical), and
the growth rate of the gradient the user actually gets, and attributes the difference.

Importing chaosgrad does not change JAX's configuration: its own computations run with
float64 enabled in a scope (``jax.enable_x64``), and a user's lower-precision simulator
keeps its own dtype.
"""

import importlib as _importlib

# Public names and the module that defines each, imported on first use (PEP 562), so that
# `import chaosgrad` (and the command line, which installs its interrupt handling first)
# starts without importing JAX.
_EXPORTS = {
    "envs": "",
    "Refinable": "_simulators.capabilities",
    "SwappableAdjoint": "_simulators.capabilities",
    "Episodic": "_simulators.capabilities",
    "BuiltPrecision": "_simulators.capabilities",
    "DEFAULT_CAUSES": "_diagnosis.causes",
    "AbstractCause": "_diagnosis.causes",
    "AblatedSetup": "_diagnosis.causes",
    "Adjoint": "_diagnosis.causes",
    "CauseEvidence": "_diagnosis.causes",
    "Discretization": "_diagnosis.causes",
    "LossScaling": "_diagnosis.causes",
    "DynamicLossScale": "_gradients.loss_scaling",
    "Precision": "_diagnosis.causes",
    "NonSmooth": "_nonsmooth.cause",
    "curvature": "_landscape.curvature",
    "loss_slice": "_landscape.curvature",
    "diagnose": "_diagnosis.diagnose",
    "shadowing_gradient": "_shadowing.api",
    "covariant_vectors": "_spectra.clv",
    "CovariantVectorsResult": "_shadowing.types",
    "NILSS": "_shadowing.methods",
    "LSS": "_shadowing.methods",
    "ShadowingResult": "_shadowing.types",
    "CAUSES": "_diagnosis.types",
    "Ablation": "_diagnosis.types",
    "Diagnosis": "_diagnosis.types",
    "GradientGrowthResult": "_diagnosis.types",
    "GrowthLaw": "_diagnosis.types",
    "AbstractMembers": "_gradients.members",
    "GivenStates": "_gradients.members",
    "OnAttractor": "_gradients.members",
    "NearStart": "_gradients.members",
    "Recommendation": "_diagnosis.types",
    "ChaosgradInputError": "_errors",
    "gradient_growth": "_gradients.growth",
    "gradient_noise": "_landscape.noise",
    "smoothed_gradients": "_nonsmooth.estimators",
    "smoothed_advice": "_nonsmooth.estimators",
    "SmoothedGradientResult": "_nonsmooth.types",
    "CurvatureResult": "_landscape.types",
    "GradientNoiseResult": "_landscape.types",
    "LossSliceResult": "_landscape.types",
    "Symptom": "_landscape.types",
    "TrainingLog": "_landscape.types",
    "monitor": "_training.monitor",
    "TrainingRecorder": "_training.monitor",
    "AbstractLoss": "_gradients.losses",
    "FinalStateLoss": "_gradients.losses",
    "LinearReadout": "_gradients.losses",
    "ReturnLoss": "_gradients.losses",
    "TimeAveragedLoss": "_gradients.losses",
    "LyapunovResult": "_spectra.lyapunov",
    "CostWarning": "_spectra.cost",
    "SpectrumCost": "_spectra.cost",
    "spectrum_cost": "_spectra.cost",
    "UntilConverged": "_spectra.lyapunov",
    "kaplan_yorke_dimension": "_spectra.lyapunov",
    "lyapunov_spectrum": "_spectra.lyapunov",
    "ODESimulator": "_simulators.ode",
    "RK4": "_simulators.rk",
    "Result": "_results.serialize",
    "load_result": "_results.serialize",
    "STEP_FAILURES": "_simulators.base",
    "SUCCESS": "_simulators.base",
    "AbstractSimulator": "_simulators.base",
    "MapSimulator": "_simulators.base",
    "StepSizeMapSimulator": "_simulators.step_size_map",
    "RolloutSimulator": "_simulators.base",
    "first_failure": "_simulators.base",
    "replace_fields": "_simulators.base",
    "Figure": "_results.study",
    "Section": "_results.study",
    "Series": "_results.study",
    "Study": "_results.study",
    "Table": "_results.study",
    "PHYSICS": "_diagnosis.verdict",
    "VERDICTS": "_diagnosis.verdict",
}


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is not None:
        value = (
            getattr(_importlib.import_module(f".{module}", __name__), name)
            if module
            else _importlib.import_module(f".{name}", __name__)
        )
        globals()[name] = value
        return value
    try:
        return _importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


__version__ = "0.1.0"

# Every public name is in the export table, so the two cannot disagree.
__all__ = sorted(_EXPORTS)
