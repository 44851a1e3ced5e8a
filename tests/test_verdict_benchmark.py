"""The verdict benchmark (tests/verdict_cases.py): real diagnoses of set-ups whose answer
follows from theory. Each case states its expected verdict, causes and why."""

import pytest
from verdict_cases import CASES

import chaosgrad as cg


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.slow else []) for c in CASES]
)
def test_verdict_benchmark_case(case):
    simulator, y0, args, kwargs = case.build()
    d = cg.diagnose(simulator, y0, args, **kwargs)
    assert (d.verdict, tuple(d.causes)) == (case.verdict, case.causes), f"{case.why}\n{d.summary()}"
    # Nothing was raised and nothing was lost: the verdict says why, and an inconclusive
    # one what would decide it.
    assert d.reasons
    assert d.verdict != "inconclusive" or d.to_decide


def test_the_benchmark_covers_every_verdict_but_inconclusive_and_every_cause():
    verdicts = {c.verdict for c in CASES}
    # Inconclusive is the honest answer where the evidence does not decide; a benchmark
    # with known answers has none (test_verdict_rules.py covers it).
    assert verdicts == set(cg.VERDICTS) - {"inconclusive"}
    assert {cause for c in CASES for cause in c.causes} >= set(cg.CAUSES)
    assert len(CASES) >= 24
