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
    "Refinable": "_capabilities",
    "SwappableAdjoint": "_capabilities",
    "Episodic": "_capabilities",
    "BuiltPrecision": "_capabilities",
    "DEFAULT_CAUSES": "_causes",
    "AbstractCause": "_causes",
    "Adjoint": "_causes",
    "CauseEvidence": "_causes",
    "Discretization": "_causes",
    "LossScaling": "_causes",
    "DynamicLossScale": "_loss_scaling",
    "Precision": "_causes",
    "NonSmooth": "_nonsmooth",
    "curvature": "_curvature",
    "loss_slice": "_curvature",
    "diagnose": "_diagnose",
    "shadowing_gradient": "_shadowing_api",
    "covariant_vectors": "_clv",
    "CovariantVectorsResult": "_shadowing_types",
    "NILSS": "_shadowing",
    "LSS": "_shadowing",
    "ShadowingResult": "_shadowing_types",
    "CAUSES": "_diagnosis_types",
    "Ablation": "_diagnosis_types",
    "Diagnosis": "_diagnosis_types",
    "GradientGrowthResult": "_diagnosis_types",
    "GrowthLaw": "_diagnosis_types",
    "AbstractMembers": "_members",
    "GivenStates": "_members",
    "OnAttractor": "_members",
    "NearStart": "_members",
    "Recommendation": "_diagnosis_types",
    "ChaosgradInputError": "_errors",
    "gradient_growth": "_gradients",
    "gradient_noise": "_gradient_noise",
    "smoothed_gradients": "_smoothed",
    "smoothed_advice": "_smoothed",
    "SmoothedGradientResult": "_smoothed_types",
    "CurvatureResult": "_landscape_types",
    "GradientNoiseResult": "_landscape_types",
    "LossSliceResult": "_landscape_types",
    "Symptom": "_landscape_types",
    "TrainingLog": "_landscape_types",
    "monitor": "_monitor",
    "TrainingRecorder": "_monitor",
    "AbstractLoss": "_losses",
    "FinalStateLoss": "_losses",
    "LinearReadout": "_losses",
    "ReturnLoss": "_losses",
    "TimeAveragedLoss": "_losses",
    "LyapunovResult": "_lyapunov",
    "CostWarning": "_cost",
    "SpectrumCost": "_cost",
    "spectrum_cost": "_cost",
    "UntilConverged": "_lyapunov",
    "kaplan_yorke_dimension": "_lyapunov",
    "lyapunov_spectrum": "_lyapunov",
    "ODESimulator": "_ode",
    "RK4": "_rk",
    "Result": "_serialize",
    "load_result": "_serialize",
    "STEP_FAILURES": "_simulators",
    "SUCCESS": "_simulators",
    "AbstractSimulator": "_simulators",
    "MapSimulator": "_simulators",
    "StepSizeMapSimulator": "_step_size_map",
    "RolloutSimulator": "_simulators",
    "first_failure": "_simulators",
    "replace_fields": "_simulators",
    "Figure": "_study",
    "Section": "_study",
    "Series": "_study",
    "Study": "_study",
    "Table": "_study",
    "PHYSICS": "_verdict",
    "VERDICTS": "_verdict",
}


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(_importlib.import_module(f".{module}", __name__), name) if module else \
            _importlib.import_module(f".{name}", __name__)
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
