"""Soak under faults, short: `chaosgrad report` writes into one folder round after round
while seeded SIGINT, SIGTERM and SIGKILL arrive at random moments (the code of
benchmarks/soak_faults.py, which runs the long campaign).

The input, tests/data/soak_results.json, is the results file of a real analysis:
`python benchmarks/soak_faults.py` makes the same one (`chaosgrad analyze --simulator`
on the logistic map at r = 4, json only) before its rounds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import soak_faults  # noqa: E402

BASE = Path(__file__).parent / "data" / "soak_results.json"


@pytest.mark.slow
@pytest.mark.user_process
def test_faults_never_leave_a_half_written_report(tmp_path):
    camp = soak_faults.run(tmp_path, rounds=6, seed=3, base=BASE)
    assert not camp.problems, "\n".join(camp.problems)
    assert not camp.left_after_clean_run, camp.left_after_clean_run
    # The seeded rounds hit the runs: at least one was ended by a signal, so the checks
    # above looked at a folder some writer left mid-way.
    assert any(code != 0 for *_, code, _ in camp.rows), camp.rows


def test_the_inspection_finds_a_cut_report_and_a_mismatched_round(tmp_path):
    """The inspection itself can fail: a report cut short, or of another round than the
    results beside it, is found."""
    import json

    folder = tmp_path / "reports" / "soak-map"
    folder.mkdir(parents=True)
    data = json.loads(BASE.read_text())
    data["result"]["summary"] = soak_faults.MARK.format(1)
    (folder / "results.json").write_text(json.dumps(data))
    (folder / "report.html").write_text(f"<html><body>{soak_faults.MARK.format(2)}</body></html>")
    assert any("not of the round" in p for p in soak_faults.inspect_folder(tmp_path / "reports"))
    (folder / "report.html").write_text(f"<html><body>{soak_faults.MARK.format(1)}</body>")
    assert any("cut short" in p for p in soak_faults.inspect_folder(tmp_path / "reports"))
    (folder / "report.html").write_text(f"<html><body>{soak_faults.MARK.format(1)}</body></html>")
    assert soak_faults.inspect_folder(tmp_path / "reports") == []
    (folder / "results.json").write_text(json.dumps(data)[:-40])
    assert any("does not load" in p for p in soak_faults.inspect_folder(tmp_path / "reports"))
