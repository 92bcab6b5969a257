"""`runner runs ls | prune`: run folders listed with headers, and removed only as asked."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import is_iso

from runner.cli.main import main

# Writes its value, fails on "fail", sleeps on "sleep", and makes its output read-only on "ro".
MODULE = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: maker
version: 1
inputs:
  word: {type: string}
outputs:
  out: {type: uri_folder}
code: .
command: python make.py ${{inputs.word}} ${{outputs.out}}
"""
MAKE = """\
import os, sys, time
from pathlib import Path
word, out = sys.argv[1], Path(sys.argv[2])
(out / "sub").mkdir()
(out / "sub" / "word.txt").write_text(word)
if word == "sleep":
    Path(os.environ["SLEEPING"]).write_text("yes")
    time.sleep(60)
if word == "ro":
    os.chmod(out / "sub", 0o555)
sys.exit(1 if word == "fail" else 0)
"""
PIPELINE = """\
type: pipeline
name: twice
jobs:
  first:
    component: ./maker.yaml
    inputs: {word: one}
  second:
    component: ./maker.yaml
    inputs: {word: two}
"""


@pytest.fixture
def maker(write_module: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RUNNER_ENV", "host")
    return write_module(MODULE, {"make.py": MAKE, "twice.yml": PIPELINE}, name="maker.yaml")


def runs_root() -> Path:
    return Path(os.environ["RUNNER_RUNS_DIR"])


def make_runs(maker: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Oldest first: ok, failed, a pipeline, read-only, cached (a second `ok`)."""
    for word in ("ok", "fail"):
        main(["run", str(maker), "-i", f"word={word}", "--quiet"])
    assert main(["pipeline", "run", str(maker.parent / "twice.yml"), "--quiet"]) == 0
    for word in ("ro", "ok"):
        assert main(["run", str(maker), "-i", f"word={word}", "--quiet"]) == 0
    capsys.readouterr()


def listed(capsys: pytest.CaptureFixture[str], *flags: str) -> list[dict[str, object]]:
    assert main(["runs", "ls", "--json", *flags]) == 0
    runs: list[dict[str, object]] = json.loads(capsys.readouterr().out)["runs"]
    return runs


def test_ls_lists_runs_newest_first_with_headers(
    maker: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs", "ls"]) == 0
    assert capsys.readouterr().out == f"no runs in {runs_root()}\n"
    make_runs(maker, capsys)
    runs = listed(capsys)
    assert [(r["kind"], r["status"]) for r in runs] == [
        ("module", "cached"),
        ("module", "succeeded"),
        ("pipeline", "succeeded"),
        ("module", "failed"),
        ("module", "succeeded"),
    ]
    assert all(is_iso(r["started_at"]) for r in runs)
    assert runs[2]["module_or_pipeline"] == "twice"
    assert [r["status"] for r in listed(capsys, "--failed")] == ["failed"]
    assert main(["runs", "ls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["RUN", "KIND", "STATUS", "STARTED", "DURATION"]
    assert lines[3].startswith("twice-") and " pipeline  succeeded " in lines[3]
    assert lines[-1] == f"5 runs in {runs_root()}"


def test_prune_removes_only_what_it_is_told(
    maker: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_runs(maker, capsys)
    assert main(["runs", "prune"]) == 2
    assert "say which runs to remove" in capsys.readouterr().err
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(runs_root(), elsewhere, ignore=shutil.ignore_patterns(".runner-runs"))
    assert main(["runs", "prune", "--all", "--runs-dir", str(elsewhere)]) == 2
    assert "is not a runs folder made by runner" in capsys.readouterr().err
    assert len(list(elsewhere.iterdir())) == 5
    before = listed(capsys)

    assert main(["runs", "prune", "--all", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("would remove ") == 6 and "would remove 5 runs, 0 left" in out
    assert listed(capsys) == before

    assert main(["runs", "prune", "--failed", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == [before[3]["name"]]
    assert main(["runs", "prune", "--older-than", "1h"]) == 0
    assert "removed 0 runs, 4 left" in capsys.readouterr().out

    # --keep protects the most recent runs; the read-only folder and the cache's read-only
    # files go, and the cache itself is untouched.
    assert main(["runs", "prune", "--keep", "1", "--older-than", "0s"]) == 0
    assert "removed 3 runs, 1 left" in capsys.readouterr().out
    assert [r["name"] for r in listed(capsys)] == [before[0]["name"]]
    assert sorted(p.name for p in runs_root().iterdir()) == [".runner-runs", before[0]["name"]]
    assert main(["cache", "verify"]) == 0


def test_a_running_run_is_never_pruned(maker: Path, tmp_path: Path) -> None:
    flag = tmp_path / "sleeping"
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", str(maker), "-i", "word=sleep", "--quiet"],
        env={**os.environ, "SLEEPING": str(flag)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pruned = subprocess.run(
            [sys.executable, "-m", "runner", "runs", "prune", "--all"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "kept maker-" in pruned.stdout and "marked running" in pruned.stdout
        assert "removed 0 runs, 1 left" in pruned.stdout
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    assert process.returncode == 130
    (run,) = [p for p in runs_root().iterdir() if p.is_dir()]
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
