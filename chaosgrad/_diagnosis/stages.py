"""The progress stages of a diagnosis, announced to ``progress(label, done, total)``."""

# The progress stages of a diagnosis, in order; ``progress(label, done, total)`` hears
# each as it starts, then "done" (with "shadowing" before it when the derivative of a
# long-time average is computed, one stage more).
STAGES = ("transient", "lambda_physical", "lambda_numerical", "gradient growth", "ablations")
STEPS = len(STAGES)


def stage(report, name: str) -> None:
    """Announce the stage ``name`` of :data:`STAGES` to ``report``."""
    report(name, STAGES.index(name), STEPS)
