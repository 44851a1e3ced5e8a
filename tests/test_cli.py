"""The ``chaosgrad`` command as a script would use it: exit codes, one-line errors,
files written atomically, reports rebuilt from JSON, progress and help."""

from __future__ import annotations

import dataclasses
import inspect
import io
import itertools
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import _synthetic as syn
import pytest

import chaosgrad
from chaosgrad import Study, cli, load_result, studies
from chaosgrad._runtime.progress import StderrProgress
from chaosgrad.report import _document, _matplotlib_pdf

FAST = ["--dpi", "40", "-q"]
_UNIQUE = itertools.count()  # small figures and no progress: fast and quiet


@pytest.fixture
def registry(monkeypatch, tmp_path):
    """A registry holding the synthetic study, plus a helper to register more."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(studies, "_MODULES", {"synthetic-lorenz": "_synthetic"})
    mod_dir = tmp_path / "_studies"
    mod_dir.mkdir()
    monkeypatch.syspath_prepend(str(mod_dir))

    def add(name, run_body, title="A test study"):
        module = f"cg_test_study_{name.replace('-', '_')}_{next(_UNIQUE)}"  # fresh module per test
        body = ["    " + ln for ln in textwrap.dedent(run_body).strip().splitlines()]
        (mod_dir / f"{module}.py").write_text(
            "\n".join(
                [
                    "import _synthetic as syn",
                    "from chaosgrad.studies import StudySpec",
                    "CALLS = []",
                    "def run(fast=False, progress=None):",
                    "    CALLS.append(fast)",
                    *body,
                    f"SPEC = StudySpec(name={name!r}, title={title!r}, description='', run=run)",
                ]
            )
            + "\n"
        )
        studies.register(name, module)
        return module

    return add


def _run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _files(root: Path):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


# ------------------------------------------------------------------ success paths


def test_list(registry, capsys):
    module = registry("broken-one", "raise RuntimeError('never runs')")
    Path(f"_studies/{module}.py").write_text("raise ImportError('missing dependency xyz')\n")
    code, out, err = _run(["list"], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    columns = [re.split(r" {2,}", line) for line in lines[:3]]
    assert columns[0] == ["analysis", "--fast", "--fast on 2 cores", "title"]
    # the synthetic study takes `fast` and was never timed: no number is made up for it
    assert columns[2] == ["synthetic-lorenz", "yes", "not measured", "Lorenz-63 (synthetic results)"]
    assert lines[1].startswith("broken-one") and "cannot load: ImportError: missing dependency xyz" in lines[1]
    assert lines[3] == "" and lines[4].startswith("times: ")


@pytest.mark.slow
def test_analyze_writes_every_file_and_the_index(registry, capsys, tmp_path):
    code, out, err = _run(["analyze", "synthetic-lorenz", "--fast", "--out", "rep", "--dpi", "40"], capsys)
    assert code == 0
    assert _files(tmp_path / "rep") == [
        "index.html",
        "synthetic-lorenz",
        "synthetic-lorenz/report.html",
        "synthetic-lorenz/report.pdf",
        "synthetic-lorenz/results.json",
    ]
    study = load_result(tmp_path / "rep/synthetic-lorenz/results.json")
    assert isinstance(study, Study) and study.mode == "fast"
    assert study.diagnosis.to_json() == syn.lorenz_diagnosis().to_json()  # lossless
    # the summary table on stdout
    assert "verdict             intrinsic explosion" in out
    assert "gradient rate       +0.890 [+0.850, +0.930]" in out
    assert "rep/synthetic-lorenz/report.pdf" in out and "rep/index.html" in out
    # progress on stderr: the stage label, then the rendering step
    assert "synthetic analysis (1/3)" in err and "rendering the report" in err
    index = (tmp_path / "rep/index.html").read_text(encoding="utf-8")
    assert "intrinsic explosion" in index and 'href="synthetic-lorenz/report.html"' in index


def test_analyze_records_the_command_versions_and_device(registry, capsys, tmp_path):
    module = registry(
        "bare",
        """
        import dataclasses
        s = syn.lorenz_study()
        d = dataclasses.replace(s.diagnosis, config={})
        return dataclasses.replace(s, diagnosis=d, config={})
    """,
    )
    code, _, _ = _run(["analyze", "bare", "--format", "json", "--out", "rep", *FAST], capsys)
    assert code == 0
    cfg = load_result(tmp_path / "rep/bare/results.json").config
    assert cfg["command"] == "chaosgrad analyze bare --format json --out rep --dpi 40 -q"
    assert cfg["versions"]["chaosgrad"] == chaosgrad.__version__ and "jax" in cfg["versions"]
    assert "cpu" in cfg["device"].lower() or "gpu" in cfg["device"].lower() or "tpu" in cfg["device"].lower()
    assert sys.modules[module].CALLS == [False]  # --fast not given


def test_partial_result_exits_1(registry, capsys, tmp_path):
    registry("f16", "return syn.float16_study()")
    code, out, _ = _run(["analyze", "f16", "--format", "json", "--out", "rep", *FAST], capsys)
    assert code == cli.EXIT_INCOMPLETE == 1
    assert "verdict             numerical explosion" in out and "status              partial" in out
    assert (tmp_path / "rep/f16/results.json").is_file()


def test_analyze_all_runs_every_system_and_reports_the_worst(registry, capsys, tmp_path):
    registry("f16", "return syn.float16_study()")
    registry("crashing", "raise ValueError('no convergence')")
    code, out, err = _run(["analyze", "all", "--format", "json", "--out", "rep", *FAST], capsys)
    assert code == 4  # the worst outcome: one analysis failed
    assert "analysed 3 systems: 1 ok, 1 incomplete, 1 failed (crashing)" in out
    assert err == "chaosgrad: error: crashing: the analysis failed: ValueError: no convergence\n"
    assert _files(tmp_path / "rep") == [
        "f16",
        "f16/results.json",
        "index.html",
        "synthetic-lorenz",
        "synthetic-lorenz/results.json",
    ]
    studies._MODULES.pop("crashing")
    assert _run(["analyze", "all", "--format", "json", "--out", "rep", *FAST], capsys)[0] == 1  # f16 is partial


@pytest.mark.slow
def test_report_rebuilds_from_json_without_recomputing(registry, capsys, tmp_path):
    module = registry("counted", "return syn.lorenz_study()")
    assert _run(["analyze", "counted", "--format", "json", "--out", "rep", *FAST], capsys)[0] == 0
    assert sys.modules[module].CALLS == [False]
    before = (tmp_path / "rep/counted/results.json").read_bytes()
    code, out, _ = _run(["report", "rep/counted/results.json", "--format", "html", *FAST], capsys)
    assert code == 0
    assert sys.modules[module].CALLS == [False]  # the analysis did not run again
    assert (tmp_path / "rep/counted/results.json").read_bytes() == before  # input untouched
    html = (tmp_path / "rep/counted/report.html").read_text(encoding="utf-8")
    assert "The gradient explodes because the dynamics are chaotic" in html
    assert str(tmp_path / "rep/index.html") in out  # the existing index is refreshed
    # --out DIR: the DIR/NAME/ layout, with its own copy of the results and an index
    code, _, _ = _run(["report", "rep/counted/results.json", "--out", "other", "--format", "html,json", *FAST], capsys)
    assert code == 0  # with --out, the folder is named after the study's system
    assert _files(tmp_path / "other") == ["index.html", "lorenz63", "lorenz63/report.html", "lorenz63/results.json"]
    assert (
        load_result(tmp_path / "other/lorenz63/results.json").to_json()
        == load_result(tmp_path / "rep/counted/results.json").to_json()
    )


# Modules a re-render must not import: the numerical stack of the analyses, whose start-up
# (over a second for JAX alone on 2 cores) was most of the time `chaosgrad report` took.
_ANALYSIS_STACK = ("jax", "jaxlib", "equinox", "diffrax", "optax", "scipy", "matplotlib.pyplot")


@pytest.mark.parametrize("command", ["report", "index"])
def test_file_only_commands_never_import_jax(command, tmp_path):
    """`chaosgrad report` and `chaosgrad index` read results files and write HTML/PDF: the
    command line run as a user runs it (``python -m chaosgrad``), with ``-X importtime``
    listing every module the process imported."""
    (tmp_path / "rep/lorenz63").mkdir(parents=True)
    results = tmp_path / "rep/lorenz63/results.json"
    results.write_text(syn.lorenz_study().to_json())
    argv = (
        ["report", str(results), "--out", str(tmp_path / "out"), "--pdf-engine", "matplotlib", *FAST]
        if command == "report"
        else ["index", str(tmp_path / "rep")]
    )
    res = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "chaosgrad", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CHAOSGRAD_CHROMIUM": "none"},
    )
    assert res.returncode == 0, res.stderr[-3000:]
    imported = {ln.rsplit("|", 1)[-1].strip() for ln in res.stderr.splitlines() if ln.startswith("import time:")}
    assert "chaosgrad.cli" in imported and "numpy" in imported  # the listing does show what was imported
    if command == "report":
        assert "matplotlib.figure" in imported and (tmp_path / "out/lorenz63/report.pdf").is_file()
    found = {m if m in _ANALYSIS_STACK else m.split(".")[0] for m in imported}
    assert sorted(found & set(_ANALYSIS_STACK)) == []


def test_report_of_a_bare_diagnosis(registry, capsys, tmp_path):
    Path("diag.json").write_text(syn.float16_diagnosis().to_json())
    code, out, _ = _run(["report", "diag.json", "--format", "html", *FAST], capsys)
    assert code == 0 and (tmp_path / "report.html").is_file()
    assert "lorenz63-float16" in out


def test_index_command(registry, capsys, tmp_path):
    assert _run(["analyze", "synthetic-lorenz", "--format", "json", "--out", "rep", *FAST], capsys)[0] == 0
    (tmp_path / "rep/index.html").unlink()
    code, out, _ = _run(["index", "rep"], capsys)
    assert code == 0 and out.strip() == "rep/index.html"
    assert 'href="synthetic-lorenz/results.json"' in (tmp_path / "rep/index.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------ your own simulator


def _fake_diagnose(calls):
    def diagnose(
        simulator,
        y0,
        args=None,
        *,
        loss=None,
        horizons=None,
        wrt="y0",
        reference=None,
        name=None,
        members=8,
        seed=0,
        progress=None,
    ):
        calls.append(
            dict(
                simulator=simulator, y0=y0, args=args, loss=loss, horizons=horizons, wrt=wrt, name=name, members=members
            )
        )
        for i in range(4):
            progress("fake stage", i + 1, 4)
        return dataclasses.replace(syn.lorenz_diagnosis(), name=name)

    return diagnose


FACTORY = """
def make():
    return {"simulator": "SIM", "y0": [1.0, 2.0], "args": {"rho": 28.0}, "loss": "LOSS",
            "horizons": [1.0, 2.0], "wrt": "rho", "name": "my model", "members": 3}
"""


def test_simulator_factory(registry, capsys, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(chaosgrad, "diagnose", _fake_diagnose(calls))
    Path("mysim.py").write_text(FACTORY)
    code, out, err = _run(
        ["analyze", "--simulator", "mysim:make", "--format", "html,json", "--out", "rep", "--dpi", "40"], capsys
    )
    assert code == 0, err
    assert calls == [
        dict(
            simulator="SIM",
            y0=[1.0, 2.0],
            args={"rho": 28.0},
            loss="LOSS",
            horizons=[1.0, 2.0],
            wrt="rho",
            name="my model",
            members=3,
        )
    ]
    study = load_result(tmp_path / "rep/my-model/results.json")  # folder name made safe
    assert study.sections == () and study.title == "my model"
    # No absolute path of the machine it ran on is recorded.
    assert study.config["simulator"] == "mysim:make" and str(tmp_path) not in study.to_json()
    assert "fake stage" in err
    # a path to a file works as well as a module name
    Path("sub").mkdir()
    Path("sub/other.py").write_text(FACTORY.replace('"my model"', '"other"'))
    code, _, _ = _run(
        ["analyze", "--simulator", "sub/other.py:make", "--format", "json", "--out", "rep", *FAST], capsys
    )
    assert code == 0 and (tmp_path / "rep/other/results.json").is_file()
    # Unnamed factories of one module get folders of their own (module-factory).
    Path("two.py").write_text(
        FACTORY.replace('"name": "my model", ', "").replace("def make", "def first")
        + FACTORY.replace('"name": "my model", ', "").replace("def make", "def second")
    )
    for factory in ("first", "second"):
        code, _, err = _run(
            ["analyze", "--simulator", f"two:{factory}", "--format", "json", "--out", "rep", *FAST], capsys
        )
        assert code == 0, err
    assert (tmp_path / "rep/two-first/results.json").is_file() and (tmp_path / "rep/two-second/results.json").is_file()


@pytest.mark.slow
def test_simulator_factory_with_the_real_diagnosis(registry, capsys, tmp_path):
    """End to end on the logistic map at r = 4, whose exponent is ln 2 exactly."""
    Path("logistic.py").write_text(
        textwrap.dedent("""
        import jax.numpy as jnp
        import chaosgrad as cg
        def make():
            sim = cg.MapSimulator(lambda y, a: a["r"] * y * (1 - y))
            return {"simulator": sim, "y0": jnp.array([0.3]), "args": {"r": jnp.array(4.0)},
                    "horizons": [2, 4, 6, 8, 10], "members": 4, "lyapunov_time": 2000}
    """)
    )
    code, out, err = _run(
        ["analyze", "--simulator", "logistic:make", "--format", "html,json", "--out", "rep", *FAST], capsys
    )
    assert code in (0, 1), err
    d = load_result(tmp_path / "rep/logistic-make/results.json").diagnosis
    # 2000 iterations give a standard error near 0.01 on lambda_1; 0.05 is five of them.
    assert abs(d.lambda_physical.exponents[0] - math.log(2)) < 0.05
    assert d.verdict in chaosgrad.VERDICTS
    assert "verdict" in out and (tmp_path / "rep/logistic-make/report.html").is_file()


# ------------------------------------------------------------------ bad input


def _write_inputs(tmp_path):
    Path("bad.json").write_text("{not json")
    Path("schema.json").write_text(json.dumps({"schema": 1, "result": {"__type__": "Nope"}}))
    Path("lyap.json").write_text(syn.make_lyapunov([0.5, -1.0], spread=(0.5, 0.5)).to_json())
    Path("diag.json").write_text(syn.lorenz_diagnosis().to_json())
    Path("afile").write_text("not a folder")
    Path("adir").mkdir()
    Path("factories.py").write_text(
        textwrap.dedent("""
        def as_list():
            return [1, 2]
        def no_y0():
            return {"simulator": 1, "args": None}
        def extra_key():
            return {"simulator": 1, "y0": 0, "args": None, "solver": "tsit5"}
        def raises():
            return 1 / 0
        not_callable = 3
    """)
    )
    Path("breaks_on_import.py").write_text("raise RuntimeError('no licence for the solver')\n")


BAD = [
    (["analyze", "nosuch"], 2, "unknown system 'nosuch' (known: synthetic-lorenz); run `chaosgrad list`"),
    (["analyze"], 2, "give either a SYSTEM"),
    (["analyze", "synthetic-lorenz", "--simulator", "m:f"], 2, "not both"),
    (["analyze", "--simulator", "factories:no_y0", "--fast"], 2, "--fast applies to bundled systems"),
    (["analyze", "synthetic-lorenz", "--format", "html,docx"], 2, "--format 'html,docx': use a comma-separated subset"),
    (["analyze", "synthetic-lorenz", "--format", ","], 2, "--format"),
    (["analyze", "synthetic-lorenz", "--dpi", "5"], 2, "--dpi 5"),
    (["analyze", "synthetic-lorenz", "--pdf-engine", "word"], 2, "invalid choice: 'word'"),
    (["frobnicate"], 2, "invalid choice: 'frobnicate'"),
    (["analyze", "synthetic-lorenz", "--out", "afile/sub"], 3, "cannot write to output folder afile/sub"),
    (["report", "missing.json"], 3, "no such results file: missing.json"),
    (["report", "adir"], 3, "adir is a folder"),
    (["report", "bad.json"], 3, "bad.json is not valid JSON"),
    (["report", "schema.json"], 3, "unknown result type 'Nope'"),
    (["report", "lyap.json"], 3, "is a LyapunovResult"),
    (["report", "lyap.json", "--format", "pdf,html,xml"], 2, "--format"),
    (["report", "diag.json", "--dpi", "0"], 2, "--dpi 0: use a value between 20 and 600"),
    (["report", "diag.json", "--dpi", "-5"], 2, "--dpi -5: use a value between 20 and 600"),
    (["report", "diag.json", "--dpi", "100000"], 2, "--dpi 100000: use a value between 20 and 600"),
    (["report", "missing.json", "--out", "afile/x"], 3, "no such results file"),
    (["index", "nowhere"], 3, "no such reports folder: nowhere"),
    (["analyze", "--simulator", "nocolon"], 2, "expected MODULE:FACTORY"),
    (["analyze", "--simulator", "no_such_module_xyz:make"], 2, "cannot import 'no_such_module_xyz'"),
    (["analyze", "--simulator", "missing.py:make"], 2, "no file missing.py"),
    (["analyze", "--simulator", "./bad.json:make"], 2, "bad.json is not a Python file"),
    (["analyze", "--simulator", "factories:nope"], 2, "has no 'nope'"),
    (["analyze", "--simulator", "factories:not_callable"], 2, "has a non-callable 'not_callable'"),
    (["analyze", "--simulator", "factories:as_list"], 2, "returned a list"),
    (["analyze", "--simulator", "factories:no_y0"], 2, "lacks y0"),
    (["analyze", "--simulator", "factories:extra_key"], 2, "unknown key(s) solver"),
    (["analyze", "--simulator", "factories:raises"], 2, "raised ZeroDivisionError: division by zero; fix the factory"),
    (
        ["analyze", "--simulator", "breaks_on_import:make"],
        2,
        "importing 'breaks_on_import' raised RuntimeError: no licence for the solver; fix the module",
    ),
    (
        ["analyze", "--simulator", "breaks_on_import.py:make"],
        2,
        "importing 'breaks_on_import.py' raised RuntimeError: no licence for the solver",
    ),
]


@pytest.mark.parametrize("argv, code, message", BAD, ids=[" ".join(a) for a, _, _ in BAD])
def test_bad_input_gets_one_line_and_its_exit_code(registry, capsys, tmp_path, argv, code, message):
    _write_inputs(tmp_path)
    before = _files(tmp_path)
    got, out, err = _run(argv, capsys)
    assert got == code
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err  # exactly one line
    assert err.startswith("chaosgrad: error: ") and message in err, err
    new = sorted(set(_files(tmp_path)) - set(before))
    assert [p for p in new if not p.startswith("__pycache__")] == []  # nothing written


def test_output_folder_is_checked_before_the_analysis(registry, capsys):
    module = registry("counted", "return syn.lorenz_study()")
    Path("afile").write_text("")
    code, _, err = _run(["analyze", "counted", "--out", "afile/reports", *FAST], capsys)
    assert code == 3 and "pass --out with a writable folder" in err
    assert sys.modules[module].CALLS == []  # the long analysis never started


# ------------------------------------------------------------------ failures mid-way


def _broken_pdf(exc):
    def broken(doc, path, reason):
        Path(path).write_bytes(b"%PDF-1.4 half a page")
        raise exc

    return broken


@pytest.mark.parametrize(
    "exc, code, message",
    [
        (RuntimeError("renderer crashed"), 4, "the analysis failed: RuntimeError: renderer crashed"),
        (OSError(28, "No space left on device"), 3, "No space left on device"),
    ],
)
def test_failure_mid_render_leaves_nothing_behind(registry, capsys, tmp_path, monkeypatch, exc, code, message):
    monkeypatch.setattr(_matplotlib_pdf, "matplotlib_pdf", _broken_pdf(exc))
    build = _document.build  # the figures are not what this test is about: skip drawing them
    monkeypatch.setattr(_document, "build", lambda study, **kw: build(study, figures=False))
    got, out, err = _run(["analyze", "synthetic-lorenz", "--pdf-engine", "matplotlib", "--out", "rep", *FAST], capsys)
    assert got == code and message in err and err.count("\n") == 1
    assert _files(tmp_path / "rep") == []  # no report, no temporary file, no index, no folder


@pytest.mark.slow
def test_failed_rerender_keeps_the_previous_report(registry, capsys, tmp_path, monkeypatch):
    assert _run(["analyze", "synthetic-lorenz", "--format", "html,json", "--out", "rep", *FAST], capsys)[0] == 0
    snapshot = {p: (tmp_path / "rep" / p).read_bytes() for p in _files(tmp_path / "rep") if "." in p}
    assert len(snapshot) == 3
    monkeypatch.setattr(_matplotlib_pdf, "matplotlib_pdf", _broken_pdf(RuntimeError("crash")))
    build = _document.build
    monkeypatch.setattr(_document, "build", lambda study, **kw: build(study, figures=False))
    code, _, _ = _run(["report", "rep/synthetic-lorenz/results.json", "--pdf-engine", "matplotlib", *FAST], capsys)
    assert code == 4
    assert {p: (tmp_path / "rep" / p).read_bytes() for p in _files(tmp_path / "rep") if "." in p} == snapshot


def test_interrupt_and_crash_during_the_analysis(registry, capsys, tmp_path):
    registry("interrupted", "raise KeyboardInterrupt")
    registry("crashing", "raise ValueError('the simulator blew up the stack')")
    code, _, err = _run(["analyze", "interrupted", "--out", "rep", *FAST], capsys)
    assert code == 130 and "interrupted" in err
    code, _, err = _run(["analyze", "crashing", "--out", "rep", *FAST], capsys)
    assert code == 4 and err.count("\n") == 1
    assert "ValueError: the simulator blew up the stack (rerun with --debug" in err
    code, _, err = _run(["analyze", "crashing", "--out", "rep", "--debug", *FAST], capsys)
    assert code == 4 and "Traceback (most recent call last)" in err
    assert not Path("rep").exists()


def test_an_interrupt_that_surfaces_as_a_write_error_exits_130(registry, capsys, tmp_path, monkeypatch):
    """An interrupt can leave a busy temporary folder behind, whose removal fails with an
    OSError: that is still an interrupt (exit 130), not a report that could not be written."""
    from chaosgrad._runtime import interrupts as _interrupts

    def interrupted_mid_write(doc, path, reason):
        _interrupts._STATE["interrupted"] = True
        raise OSError(39, "Directory not empty")

    monkeypatch.setattr(_matplotlib_pdf, "matplotlib_pdf", interrupted_mid_write)
    build = _document.build
    monkeypatch.setattr(_document, "build", lambda study, **kw: build(study, figures=False))
    try:
        code, _, err = _run(
            ["analyze", "synthetic-lorenz", "--pdf-engine", "matplotlib", "--out", "rep", *FAST], capsys
        )
    finally:
        _interrupts._STATE["interrupted"] = False
    assert code == 130 and "interrupted" in err and "cannot write" not in err
    assert _files(tmp_path / "rep") == []


def _listed_names(out: str) -> list[str]:
    """The names `chaosgrad list` prints: the first column, between the header and the note."""
    return [line.split()[0] for line in out.split("\n\n")[0].splitlines()[1:]]


def test_every_script_and_readme_row_names_a_listed_study(capsys):
    """A new study is one module and one registry line: a `systems/` script and a README row
    are optional, but each one that exists must name a registered study (no stale ones)."""
    code, out, _ = _run(["list"], capsys)
    names = _listed_names(out)
    assert code == 0 and "lorenz63" in names and len(names) == len(studies.names())
    root = Path(__file__).resolve().parents[1]
    scripts = sorted((root / "systems").glob("*.py"))
    assert scripts
    for script in scripts:
        text = script.read_text(encoding="utf-8")
        ran = re.findall(r'entry\(\["analyze", "([^"]+)", \*sys\.argv\[1:\]\]\)', text)
        assert ran == [script.stem], f"{script} does not run the study {script.stem!r}"
        assert script.stem in names, f"{script} runs {script.stem!r}, which is not a registered study"
    readme = (root / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| analysis | what it shows |") :].split("\n\n")[0]
    rows = re.findall(r"^\| `([^`]+)` \|", table, flags=re.MULTILINE)
    assert "lorenz63" in rows
    stale = sorted(set(rows) - set(names))
    assert not stale, f"README's table of bundled systems names unregistered studies: {stale}"


def test_every_listed_time_was_measured_and_every_study_has_fast(capsys):
    _, out, _ = _run(["list"], capsys)
    rows = {line.split()[0]: line.split()[1:4] for line in out.split("\n\n")[0].splitlines()[1:]}
    for name, (fast, took, unit) in rows.items():
        assert fast == "yes", name
        seconds = studies.FAST_SECONDS.get(name)
        assert (took, unit) == (("not", "measured") if seconds is None else (f"{seconds:.0f}", "s")), name
    assert set(studies.FAST_SECONDS) <= set(rows)


@pytest.mark.parametrize("typed, meant", [("lorenz36", "lorenz63"), ("lorentz63", "lorenz63"), ("rosler", "rossler")])
def test_a_misspelt_system_gets_did_you_mean(capsys, tmp_path, typed, meant):
    code, out, err = _run(["analyze", typed, "--out", str(tmp_path / "rep")], capsys)
    assert code == cli.EXIT_USAGE and out == ""
    assert err.startswith(f"chaosgrad: error: unknown system {typed!r}; did you mean {meant!r}")
    assert "known:" not in err and err.count("\n") == 1  # the close names, not all of them
    assert not (tmp_path / "rep").exists()


def test_system_names_ignore_case(registry, capsys, tmp_path):
    code, _, _ = _run(["analyze", "Synthetic-LORENZ", "--format", "json", "--out", "rep", *FAST], capsys)
    assert code == 0
    assert _files(tmp_path / "rep") == ["index.html", "synthetic-lorenz", "synthetic-lorenz/results.json"]
    code, out, _ = _run(["analyze", "ALL", "--format", "json", "--out", "rep2", *FAST], capsys)
    assert code == 0 and "analysed 1 systems" in out
    assert _files(tmp_path / "rep2") == _files(tmp_path / "rep")


@pytest.mark.parametrize(
    "argv, helped, close",
    [
        (["analyze", "synthetic-lorenz", "--fats"], "chaosgrad analyze --help", "--fast"),
        (["report", "x.json", "--formt", "html"], "chaosgrad report --help", "--format"),
        (["list", "--verbose"], "chaosgrad list --help", None),
        (["--verbose"], "chaosgrad --help", "--version"),
        (["--frobnicate"], "chaosgrad --help", None),
    ],
)
def test_a_usage_error_points_to_the_help_of_its_sub_command(registry, capsys, argv, helped, close):
    code, out, err = _run(argv, capsys)
    assert code == cli.EXIT_USAGE and out == ""
    assert err.rstrip("\n").endswith(f"See `{helped}`"), err
    assert (f"(did you mean {close}?)" in err) if close else ("did you mean" not in err)


# ------------------------------------------------------------------ help, entry point, progress


@pytest.mark.parametrize("command", [None, "list", "analyze", "report", "index"])
def test_help_explains_every_option_and_the_exit_codes(capsys, command):
    argv = ([command] if command else []) + ["--help"]
    code, out, _ = _run(argv, capsys)
    assert code == 0
    parser = cli.build_parser()
    if command:
        parser = parser._subparsers._group_actions[0].choices[command]
    for action in parser._actions:
        assert action.help, f"{command}: {action.option_strings or action.dest} has no help"
        for opt in action.option_strings:
            assert opt in out
    assert "exit codes:" in out
    for code_ in (0, 1, 2, 3, 4, 130):
        assert f"\n  {code_} " in out


EVERY_CODE = {
    0: (["report", "diag.json", "--format", "html", "--out", "rep"], "report.html"),
    1: (["analyze", "f16", "--format", "json", "--out", "rep"], "status              partial"),
    2: (["analyze", "--simulator", "factories:raises"], "raised ZeroDivisionError"),
    3: (["report", "schema.json"], "not a chaosgrad results file"),
    4: (["analyze", "crashing", "--out", "rep"], "the analysis failed: ValueError"),
    130: (["analyze", "interrupted", "--out", "rep"], "interrupted"),
}


@pytest.mark.slow
@pytest.mark.parametrize("code", sorted(EVERY_CODE))
def test_every_exit_code_of_the_table_is_provoked(registry, capsys, tmp_path, code):
    assert sorted(EVERY_CODE) == sorted(cli.EXIT_MEANINGS)  # the table and this test list the same codes
    _write_inputs(tmp_path)
    registry("f16", "return syn.float16_study()")
    registry("crashing", "raise ValueError('no convergence')")
    registry("interrupted", "raise KeyboardInterrupt")
    argv, words = EVERY_CODE[code]
    got, out, err = _run(argv + FAST, capsys)
    assert got == code and words in out + err, (got, out, err)


def test_console_entry_point(capsys):
    code, out, _ = _run(["--version"], capsys)
    assert code == 0 and out.strip() == f"chaosgrad {chaosgrad.__version__}"
    res = subprocess.run([sys.executable, "-m", "chaosgrad.cli", "report", "nope.json"], capture_output=True, text=True)
    assert res.returncode == 3 and res.stderr.startswith("chaosgrad: error: no such results file")


def test_progress_lines_and_bars():
    log = io.StringIO()
    p = StderrProgress(log, bars=False)
    for label, done in (("lambda_numerical", 0), ("lambda_physical", 1), ("gradient growth", 2), ("done", 5)):
        p(label, done, 5)
    p.close()
    lines = [ln.split("] ", 1)[1] for ln in log.getvalue().splitlines()]
    assert lines[:4] == ["lambda_numerical (0/5)", "lambda_physical (1/5)", "gradient growth (2/5)", "done (5/5)"]
    assert lines[4].startswith("finished in") and len(lines) == 5
    bars = io.StringIO()
    p = StderrProgress(bars, bars=True)
    for i in range(4):
        p("sweep", i, 3 if i < 3 else 7)  # a new total starts a new bar
    p.close()
    text = bars.getvalue()
    assert "sweep" in text and "2/3" in text and "3/7" in text
    quiet = io.StringIO()
    StderrProgress(quiet, enabled=False)("x", 1, 2)
    assert quiet.getvalue() == ""


def test_main_signature():
    assert list(inspect.signature(cli.main).parameters) == ["argv"]


@pytest.mark.parametrize(
    "edit,field",
    [
        (lambda r: r["result"].__setitem__("lambda_physical", "abc"), "Diagnosis.lambda_physical"),
        (lambda r: r["result"].__setitem__("gradient_rate", "abc"), "Diagnosis.gradient_rate"),
        (lambda r: r["result"].__setitem__("verdict", 5), "Diagnosis.verdict"),
        (lambda r: r.__setitem__("schema", "1"), "schema '1' is a str"),
        (
            lambda r: r["result"].__setitem__("verdict", "not-a-verdict"),
            "Diagnosis.verdict holds 'not-a-verdict', not one of stable",
        ),
        (lambda r: r["result"].__setitem__("physics", "weird"), "Diagnosis.physics holds 'weird', not one of chaotic"),
        (
            lambda r: r["result"]["lambda_physical"]["exponents"].__setitem__("dtype", "object"),
            "array dtype 'object' is not",
        ),
        (
            lambda r: r["result"]["lambda_physical"]["exponents"].__setitem__("dtype", "<M8[s]"),
            "array dtype '<M8[s]' is not",
        ),
        (
            lambda r: r["result"]["lambda_physical"]["exponents"].__setitem__("shape", [4]),
            "array of shape [4] holds 3 values",
        ),
        (
            lambda r: r["result"]["lambda_physical"]["exponents"].__setitem__("shape", [-1, 3]),
            "array shape [-1, 3] is not",
        ),
        (lambda r: r["result"]["lambda_physical"]["exponents"]["__ndarray__"].__setitem__(1, "1.5"), "holds str '1.5'"),
        (
            lambda r: r["result"]["lambda_physical"]["exponents"]["__ndarray__"].__setitem__(1, None),
            "holds NoneType None",
        ),
        (
            lambda r: r["result"]["lambda_physical"]["valid_intervals"]["__ndarray__"].__setitem__(0, 2.5),
            "holds float 2.5",
        ),
        (lambda r: r["result"]["lambda_physical"].__setitem__("status", ["ok"]), "LyapunovResult.status"),
    ],
)
def test_report_validates_every_field_against_the_schema(edit, field, capsys, tmp_path):
    data = json.loads(syn.lorenz_diagnosis().to_json())
    edit(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    code, _, err = _run(["report", str(path), "--format", "html", "--out", str(tmp_path / "out"), *FAST], capsys)
    assert code == cli.EXIT_IO and str(path) in err and field in err, err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("report.html"))


def test_report_refuses_a_file_that_never_ends(capsys, tmp_path, monkeypatch):
    from chaosgrad._results import serialize as _serialize

    endless = tmp_path / "results.json"
    endless.symlink_to("/dev/zero")  # refused at its first byte, which no JSON text begins with
    code, _, err = _run(["report", str(endless), "--format", "html", *FAST], capsys)
    assert code == cli.EXIT_IO and "not a chaosgrad results file (it begins with byte b'\\x00'" in err, err
    assert _serialize.MAX_RESULTS_BYTES >= 512 * 2**20  # the bundled Lorenz-63 study is about 60 MB
    monkeypatch.setattr(_serialize, "MAX_RESULTS_BYTES", 4096)
    big = tmp_path / "big.json"
    big.write_text(" " * 5000 + syn.lorenz_diagnosis().to_json())
    code, _, err = _run(["report", str(big), "--format", "html", *FAST], capsys)
    assert code == cli.EXIT_IO and "not a chaosgrad results file (it holds" in err and "MAX_RESULTS_BYTES" in err, err
    # A stream that never ends but begins like JSON: cut at the limit, not read to its end.
    fifo = tmp_path / "stream.json"
    os.mkfifo(fifo)
    stop = threading.Event()

    def feed():
        try:
            with open(fifo, "wb") as fh:
                while not stop.is_set():
                    fh.write(b" " * 1024)
        except BrokenPipeError:  # the reader stopped at the limit and closed its end
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        code, _, err = _run(["report", str(fifo), "--format", "html", *FAST], capsys)
    finally:
        stop.set()
    writer.join(timeout=10)
    assert code == cli.EXIT_IO and "not a chaosgrad results file (it goes on past the 0.00390625 MiB" in err, err


def test_report_refuses_json_nested_too_deeply(capsys, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = _run(["report", str(path), "--format", "html", *FAST], capsys)
    assert code == cli.EXIT_IO and "nested too deeply" in err


def test_results_record_the_chaosgrad_version():
    assert json.loads(syn.lorenz_diagnosis().to_json())["chaosgrad"] == chaosgrad.__version__


FAULTY = textwrap.dedent("""
    import jax.numpy as jnp
    import chaosgrad as cg

    TRACES = {"n": 0}

    def make():
        def step(x, r):
            TRACES["n"] += 1  # the step is traced once per compiled program
            if TRACES["n"] == FAULT_AT:
                raise RuntimeError("injected fault")
            return r * x * (1 - x)
        return {"simulator": cg.MapSimulator(step), "y0": jnp.array([0.3]), "args": 4.0,
                "horizons": [2, 4, 8], "members": 2, "lyapunov_time": 200, "name": "faulty"}
""")


@pytest.mark.slow
@pytest.mark.parametrize("fault_at", [2, 3, 5, 8])
def test_a_step_that_raises_part_way_leaves_the_old_report(registry, capsys, tmp_path, fault_at):
    Path("faulty.py").write_text(FAULTY.replace("FAULT_AT", "10**9"))
    code, _, err = _run(
        ["analyze", "--simulator", "faulty:make", "--format", "html,json", "--out", "rep", *FAST], capsys
    )
    assert code in (0, 1), err
    before = {p: p.read_bytes() for p in (tmp_path / "rep").rglob("*") if p.is_file()}
    sys.modules.pop("faulty", None)
    Path("faulty.py").write_text(FAULTY.replace("FAULT_AT", str(fault_at)))
    code, _, err = _run(
        ["analyze", "--simulator", "faulty:make", "--format", "html,json", "--out", "rep", *FAST], capsys
    )
    sys.modules.pop("faulty", None)
    if code in (0, 1):  # the fault hit an ablation, which is reported as failed, not raised
        assert load_result(tmp_path / "rep/faulty/results.json").diagnosis.status in ("ok", "partial")
        return
    assert code in (cli.EXIT_FAILED, cli.EXIT_USAGE) and "injected fault" in err, err
    after = {p: p.read_bytes() for p in (tmp_path / "rep").rglob("*") if p.is_file()}
    assert after == before  # nothing half-written, the old report intact


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["disk full", "read-only"])
def test_a_write_that_fails_at_each_file_keeps_the_old_report(registry, capsys, tmp_path, monkeypatch, fault):
    from chaosgrad.report import _atomic

    build = _document.build  # the figures are not what this test is about: skip drawing them
    monkeypatch.setattr(_document, "build", lambda study, **kw: build(study, figures=False))
    argv = [
        "analyze",
        "synthetic-lorenz",
        "--format",
        "html,pdf,json",
        "--pdf-engine",
        "matplotlib",
        "--out",
        "rep",
        *FAST,
    ]
    assert _run(argv, capsys)[0] == 0
    snapshot = {p: (tmp_path / "rep" / p).read_bytes() for p in _files(tmp_path / "rep") if "." in p}
    real = _atomic._fsync_write
    error = OSError(28, "No space left on device") if fault == "disk full" else PermissionError(13, "Permission denied")
    for k in range(1, 6):  # the k-th file written fails: results, html, pdf, index...
        calls = {"n": 0}

        def failing(path, data, k=k):
            calls["n"] += 1
            if calls["n"] == k:
                raise error
            return real(path, data)

        monkeypatch.setattr(_atomic, "_fsync_write", failing)
        code, _, err = _run(argv, capsys)
        monkeypatch.setattr(_atomic, "_fsync_write", real)
        if calls["n"] < k:  # fewer writes than k: the run completed
            assert code == 0
            continue
        assert code == cli.EXIT_IO and error.strerror in err, (k, code, err)
        now = {p: (tmp_path / "rep" / p).read_bytes() for p in _files(tmp_path / "rep") if "." in p}
        report = lambda files: {p: v for p, v in files.items() if p.startswith("synthetic-lorenz/")}
        if report(now) != report(snapshot):
            # The report's files are staged and committed together; a failure after the
            # commit (writing the index) leaves the complete new report, never a mix.
            load_result(tmp_path / "rep/synthetic-lorenz/results.json")
            assert b"</html>" in now["synthetic-lorenz/report.html"]
            assert now["synthetic-lorenz/report.pdf"].rstrip().endswith(b"%%EOF")
        assert not [p for p in _files(tmp_path / "rep") if ".tmp" in p]


@pytest.mark.slow
@pytest.mark.parametrize("version", ["0.0.1", "9.9.9"])
def test_report_says_when_the_file_is_from_another_version(registry, capsys, tmp_path, version):
    data = json.loads(syn.lorenz_diagnosis().to_json())
    data["chaosgrad"] = version
    path = tmp_path / "other.json"
    path.write_text(json.dumps(data))
    code, _, err = _run(["report", str(path), "--format", "html", "--out", str(tmp_path / "out"), *FAST], capsys)
    # Same schema: it renders, with one warning line and no error.
    assert code == 0 and err.count("\n") == 1, err
    assert (
        err.startswith(f"chaosgrad: warning: {path} was written by chaosgrad {version}; rendering with")
        and "error" not in err
    )


def test_temporaries_of_a_killed_writer_are_removed_by_the_next(tmp_path):
    from chaosgrad.report._atomic import STALE_SECONDS, write_atomic

    folder = tmp_path / "rep"
    folder.mkdir()
    # A writer killed with SIGKILL between staging and commit leaves its temporary behind.
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import time
        from chaosgrad.report._atomic import Staging
        st = Staging({str(folder)!r}).__enter__()
        st.write("report.html", "half a report")
        print("staged", flush=True)
        time.sleep(120)
    """),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert writer.stdout.readline().strip() == "staged"
    writer.kill()
    writer.wait()
    killed = [p.name for p in folder.iterdir()]
    assert len(killed) == 1 and killed[0].startswith(f".report.{writer.pid}-") and killed[0].endswith(".tmp.html")
    old = time.time() - STALE_SECONDS - 60
    unnamed_old = folder / ".report.abcd1234.tmp.html"  # no pid (older versions), past the age
    unnamed_new = folder / ".results.efgh5678.tmp.json"  # no pid, recent: perhaps being written
    alive = folder / f".report.{os.getppid()}-ijkl9012.tmp.pdf"  # a live writer's (the parent process)
    other = folder / ".notes.txt"  # not of the pattern
    for p in (unnamed_old, unnamed_new, alive, other):
        p.write_text("x")
    os.utime(unnamed_old, (old, old))
    os.utime(other, (old, old))
    write_atomic(folder / "report.html", "the new report")
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted(["report.html", unnamed_new.name, alive.name, other.name]), left
