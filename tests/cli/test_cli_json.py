"""`--json`: one object on stdout, progress, notes and the module's output on stderr, and the
one timestamp format; as real processes where the split of the streams is the point."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import is_iso

from runner.cli.main import main

SAYER = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: sayer
version: 1
environment:
  image: example.org/sayer:1
inputs:
  text: {type: string}
outputs:
  out: {type: uri_folder}
code: .
command: python say.py ${{inputs.text}} ${{outputs.out}}
"""
SAY = """\
import sys
from pathlib import Path
print("said:", sys.argv[1])
Path(sys.argv[2], "said.txt").write_text(sys.argv[1])
"""
NOTE = "the spec names the image example.org/sayer:1, which a host run does not use"


PIPELINE = """\
type: pipeline
name: talk
jobs:
  hello:
    component: ./sayer.yaml
    inputs: {text: hello}
  bye:
    component: ./sayer.yaml
    inputs: {text: bye}
"""


@pytest.fixture
def sayer(write_module: Callable[..., Path]) -> Path:
    return write_module(SAYER, {"say.py": SAY, "talk.yml": PIPELINE}, name="sayer.yaml")


def runner_process(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner", *argv], capture_output=True, text=True, timeout=120
    )


def test_run_json_is_alone_on_stdout_and_the_image_note_is_shown_once(sayer: Path) -> None:
    first = runner_process("run", str(sayer), "-i", "text=hello", "--json")
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)  # nothing else on stdout
    assert result["status"] == "succeeded"
    assert "said: hello" in first.stderr  # the module's output
    assert first.stderr.count(NOTE) == 1
    assert any(NOTE in note for note in result["notes"])
    record = json.loads((Path(result["workdir"]) / "run.json").read_text())
    assert is_iso(record["started_at"]) and is_iso(record["ended_at"])

    again = runner_process("run", str(sayer), "-i", "text=hello", "--json")
    assert json.loads(again.stdout)["status"] == "cached"
    assert NOTE not in again.stderr  # said once for this spec, not on every run
    assert any(NOTE in note for note in json.loads(again.stdout)["notes"])  # still data


def test_pipeline_run_json_is_alone_on_stdout_with_progress_on_stderr(sayer: Path) -> None:
    done = runner_process("pipeline", "run", str(sayer.parent / "talk.yml"), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "succeeded"
    assert "] hello: succeeded in " in done.stderr and "] bye: succeeded in " in done.stderr
    step = result["steps"]["hello"]
    assert is_iso(step["started_at"]) and is_iso(step["ended_at"])
    record = json.loads(Path(result["run_dir"], "pipeline.json").read_text())
    assert is_iso(record["started_at"]) and is_iso(record["steps"]["bye"]["ended_at"])
    quiet = runner_process("pipeline", "run", str(sayer.parent / "talk.yml"), "--json", "-q")
    assert json.loads(quiet.stdout)["steps"]["bye"]["status"] == "cached"
    assert "] bye: " not in quiet.stderr


def test_validate_json_reports_every_spec(
    sayer: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("type: command\nname: [\n")
    assert main(["validate", str(sayer), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert main(["validate", str(sayer), str(broken), "--json"]) == 2
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["ok"] is False and err == ""
    good, bad = report["specs"]
    assert (good["ok"], good["identity"], good["generation"]) == (True, "sayer:1", "cli-v2")
    assert bad["ok"] is False and "invalid YAML" in bad["error"] and bad["path"] == str(broken)


def test_explain_exit_code_tells_hit_from_miss(
    sayer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["explain", str(sayer), "-i", "text=hi", "--exit-code"]
    assert main([*argv, "--json"]) == 1
    missed = json.loads(capsys.readouterr().out)
    assert missed["would_hit"] is False and missed["nearest"] is None
    assert main(["explain", str(sayer), "-i", "text=hi"]) == 0  # without --exit-code: answered
    assert main(["run", str(sayer), "-i", "text=hi", "--quiet"]) == 0
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["would_hit"] is True
    assert main(["explain", str(sayer), "-i", "text=ho", "--exit-code"]) == 1
    out = capsys.readouterr().out
    assert "compared with the nearest cached entry" in out and "parameter text: 'hi' -> 'ho'" in out


def test_cache_commands_json(sayer: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(sayer), "-i", "text=hi", "--json", "--quiet"]) == 0
    key = json.loads(capsys.readouterr().out)["cache_key"]

    assert main(["cache", "ls", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    (entry,) = listing["entries"]
    assert entry["key"] == key and entry["size"] == len("hi") == listing["size"]
    assert is_iso(entry["created_at"]) and is_iso(entry["last_used"])
    assert listing["environments"] == {"count": 0, "size": 0}

    assert main(["cache", "show", key[:8], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["outputs"]["out"]["files"] == 1 and shown["parts"]["parameters"] == {"text": "hi"}

    assert main(["cache", "verify", "--json"]) == 0
    verified = json.loads(capsys.readouterr().out)
    assert verified["ok"] is True and verified["entries"] == 1

    assert main(["cache", "rm", key[:8], "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"removed": [key]}
    assert main(["cache", "gc", "--json"]) == 0
    collected = json.loads(capsys.readouterr().out)
    assert collected["objects_removed"] == 1 and collected["size"] == 0


def test_render_json(sayer: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = sayer.parent / "run"
    assert main(["render", str(sayer), "-i", "text=a b", "--workdir", str(run), "--json"]) == 0
    rendered = json.loads(capsys.readouterr().out)
    out = str(run / "outputs" / "out")
    assert rendered["argv"] == [sys.executable, "say.py", "a b", out]
    assert rendered["command"] == shlex.join([sys.executable, "say.py", "a b", out])
