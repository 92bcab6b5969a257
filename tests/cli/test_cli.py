"""The command line through its main function (and, for signals, as a real process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from ctrl_c import RUNNER_WITH_CTRL_C

from runner.cli import main as cli

ECHO = """\
$schema: http://azureml/sdk-2-0/CommandComponent.json
type: CommandComponent
name: echo
version: 0.0.1
inputs:
  text: {type: String}
  code: {type: Integer, default: 0, min: 0, max: 9}
outputs:
  out: {type: AnyDirectory}
command: >-
  python -c "import sys; from pathlib import Path;
  Path(sys.argv[2], 'said.txt').write_text(sys.argv[1]); print(sys.argv[1]);
  sys.exit(int(sys.argv[3]))" {inputs.text} {outputs.out} {inputs.code}
"""


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def echo_spec(write_module: Callable[..., Path]) -> Path:
    return write_module(ECHO)


def test_run_json_success(
    capsys: pytest.CaptureFixture[str], echo_spec: Path, tmp_path: Path
) -> None:
    code, out, err = run_cli(
        capsys, "run", str(echo_spec), "-i", "text=hello world", "--workdir", str(tmp_path / "w"),
        "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "succeeded"
    assert result["exit_code"] == 0
    assert result["workdir"] == str(tmp_path / "w")
    assert Path(result["outputs"]["out"], "said.txt").read_text() == "hello world"
    assert Path(result["log"]).is_file()
    assert "hello world" in err  # the module's output streams to stderr under --json


def test_failed_run_exits_1_and_says_where_everything_is(
    capsys: pytest.CaptureFixture[str], echo_spec: Path, tmp_path: Path
) -> None:
    workdir = tmp_path / "w"
    code, _, err = run_cli(
        capsys, "run", str(echo_spec), "-i", "text=x", "-i", "code=5", "--workdir", str(workdir)
    )
    assert code == 1
    assert "failed: the command exited with code 5" in err
    assert f"workdir: {workdir}" in err
    assert f"log:     {workdir / 'execution.log'}" in err
    assert f"output out: {workdir / 'outputs' / 'out'}" in err
    assert "rerun.sh" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-i", "text"], "-i 'text': expected NAME=VALUE"),
        (["-i", "code=1"], "missing required input 'text'"),
        (["-i", "text=a", "-i", "code=12"], "12 is above the maximum 9"),
        (["-i", "text=a", "-i", "code=two"], "'code'"),
        (["-i", "text=a", "-i", "nope=1"], "nope"),
    ],
)
def test_binding_errors_exit_2(
    capsys: pytest.CaptureFixture[str], echo_spec: Path, argv: list[str], message: str
) -> None:
    code, _, err = run_cli(capsys, "run", str(echo_spec), *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_invalid_yaml_reports_line_and_column(
    capsys: pytest.CaptureFixture[str], write_module: Callable[..., Path]
) -> None:
    spec = write_module(
        "amlModuleIdentifier: {moduleName: x, moduleVersion: 1}\n"
        "implementation:\n"
        "  container:\n"
        "    command: [python]\n"
        "    args:[--x, y]\n"
    )
    code, _, err = run_cli(capsys, "validate", str(spec))
    assert code == 2
    assert f"{spec}:5:5: invalid YAML" in err
    assert "put a space after the colon (`args: [`)" in err


def test_missing_spec_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "show", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "nope.yaml: spec file not found" in err


def test_validate_show_render(capsys: pytest.CaptureFixture[str], echo_spec: Path) -> None:
    code, out, _ = run_cli(capsys, "validate", str(echo_spec))
    assert code == 0
    assert "(component-2.0, echo:0.0.1)" in out
    code, out, _ = run_cli(capsys, "show", str(echo_spec), "--json")
    shown = json.loads(out)
    assert [i["python_name"] for i in shown["inputs"]] == ["text", "code"]
    assert shown["inputs"][1]["default"] == 0
    code, out, _ = run_cli(capsys, "show", str(echo_spec))
    assert "text" in out and "Integer [0..9] = 0" in out
    run = echo_spec.parent / "run"
    render = ("render", str(echo_spec), "-i", "text=a b", "--workdir", str(run))
    code, out, _ = run_cli(capsys, *render, "--json")
    argv = json.loads(out)["argv"]
    assert argv[0] == sys.executable and argv[-3:] == ["a b", str(run / "outputs" / "out"), "0"]
    code, out, _ = run_cli(capsys, *render)
    assert out.endswith(f"'a b' {run / 'outputs' / 'out'} 0\n")


def test_usage_errors_exit_2_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "frobnicate")
    assert code == 2
    assert "unknown command 'frobnicate'" in err and "hint: commands: validate, show" in err
    code, _, err = run_cli(capsys, "cach", "ls")
    assert code == 2
    assert "hint: did you mean cache?" in err
    code, _, err = run_cli(capsys, "cache", "lss")
    assert code == 2
    assert "runner cache: argument ACTION: invalid choice: 'lss'" in err
    assert "see `runner cache --help`" in err
    code, _, err = run_cli(capsys, "run", "--bogus")
    assert code == 2
    assert "unrecognized arguments" in err or "required" in err


def test_internal_error_exits_3_with_a_saved_traceback(
    capsys: pytest.CaptureFixture[str], echo_spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("runner.cli.show.interface_text", broken)
    code, _, err = run_cli(capsys, "show", str(echo_spec))
    assert code == 3
    assert "internal error (RuntimeError)" in err
    crash_log = Path(err.split("traceback is in ")[1].split()[0])
    assert "boom" in crash_log.read_text()
    crash_log.unlink()


def test_ctrl_c_ends_the_tree_and_exits_130(
    write_module: Callable[..., Path], tmp_path: Path
) -> None:
    sleeper = (
        "import subprocess, sys, time\n"
        "from pathlib import Path\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "Path(sys.argv[1], 'pid').write_text(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    spec = write_module(
        "$schema: http://azureml/sdk-2-0/CommandComponent.json\n"
        "type: CommandComponent\nname: sleeper\nversion: 1\n"
        "outputs: {out: {type: AnyDirectory}}\n"
        "command: python sleeper.py {outputs.out}\n",
        {"sleeper.py": sleeper},
    )
    workdir = tmp_path / "w"
    process = subprocess.Popen(
        [*RUNNER_WITH_CTRL_C, "run", str(spec), "--workdir", str(workdir), "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    )
    pid_file = workdir / "outputs" / "out" / "pid"
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    os.kill(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == "zombie"
    record = json.loads((workdir / "run.json").read_text())
    assert record["status"] == "interrupted"
