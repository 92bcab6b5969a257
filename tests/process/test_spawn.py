"""A command started through a trampoline (runner.process.spawn) starts exactly as one started
by Popen: the same argv, environment, working directory, empty stdin and default signals, and
the same start errors; and, in a pipeline, every step after the first is started that way."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.process import contain
from runner.process.spawn import Trampoline

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux containment")

# What a started command can see of how it was started.
PROBE = r"""
printf 'argv:'; printf ' [%s]' "$@"; echo
echo "cwd: $(pwd -P)"
echo "stdin: $(cat)"
[ "$(ps -o sid= -p $$ | tr -d ' ')" = "$$" ] && echo "a session leader"
env | LC_ALL=C sort
exec grep -E '^(SigIgn|SigBlk|Uid|Gid)' /proc/self/status
"""


def nowhere(pid: int, cgroup: Path) -> None:
    """Moves nothing: what is tested here is the hand-over, not the cgroup."""


def test_the_command_starts_as_popen_would_start_it(tmp_path: Path) -> None:
    env = {"ONLY_THIS": "a value with spaces", "PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
    argv = ["sh", "-c", PROBE, "probe", "two words", "", "ünïcode"]
    trampoline = Trampoline(tmp_path, nowhere)
    proc = trampoline.launch(argv, tmp_path, env)
    through_trampoline, _ = proc.communicate(timeout=30)
    direct = subprocess.run(
        argv, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True,
        start_new_session=True, check=True,
    ).stdout  # fmt: skip
    assert proc.returncode == 0
    assert through_trampoline.decode() == direct.decode()
    assert "argv: [two words] [] [ünïcode]" in direct.decode()
    assert "a session leader" in direct.decode()


def failure(tmp_path: Path, argv: list[str], cwd: Path) -> Exception:
    trampoline = Trampoline(tmp_path, nowhere)
    try:
        proc = trampoline.launch(argv, cwd, {"PATH": os.environ["PATH"]})
    except ValueError as early:
        seen: Exception = early
    else:
        proc.communicate()
        assert proc.returncode == 127
        late = trampoline.failure()
        assert late is not None
        seen = late
    try:
        subprocess.Popen(argv, cwd=cwd, env={"PATH": os.environ["PATH"]}).wait()
    except (OSError, ValueError) as expected:
        assert type(seen) is type(expected)
        if isinstance(expected, OSError):
            assert isinstance(seen, OSError)
            assert seen.errno == expected.errno
    else:
        pytest.fail("Popen started it")
    return seen


def test_start_errors_are_those_of_popen(tmp_path: Path) -> None:
    script = tmp_path / "not-executable.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(stat.S_IRUSR)
    assert "No such file" in str(failure(tmp_path, ["no-such-command"], tmp_path))
    assert failure(tmp_path, [str(script)], tmp_path)
    missing = failure(tmp_path, ["true"], tmp_path / "missing")
    assert isinstance(missing, OSError) and missing.filename == str(tmp_path / "missing")
    assert failure(tmp_path, ["true", "nul\0byte"], tmp_path)


def test_a_start_failure_ahead_is_reported_as_one(tmp_path: Path) -> None:
    from runner.process.local import Invocation, execute

    if contain.CONTAINMENT.describe().startswith("subreaper"):
        pytest.skip("this system gives runner no cgroup of its own")

    def run(*argv: str) -> object:
        return execute(Invocation(argv, tmp_path, dict(os.environ), tmp_path / "log.txt"))

    with contain.CONTAINMENT.keep_ready():
        assert run("true").exit_code == 0  # type: ignore[attr-defined]
        time.sleep(0.5)  # the next one is ready by now
        outcome = run("no-such-command", "x")
    assert outcome.start_error == "command not found: no-such-command"  # type: ignore[attr-defined]
    assert outcome.exit_code is None  # type: ignore[attr-defined]
    assert "start failed: command not found: no-such-command" in (tmp_path / "log.txt").read_text()


def test_an_unused_trampoline_ends_with_its_input(tmp_path: Path) -> None:
    trampoline = Trampoline(tmp_path, nowhere)
    trampoline.discard()
    assert trampoline.proc.returncode == 0


def test_pipeline_steps_after_the_first_start_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runner.pipeline.load import load_pipeline
    from runner.pipeline.run import run_pipeline

    used: list[int] = []
    launch = Trampoline.launch

    def counted(self: Trampoline, *args: object) -> subprocess.Popen[bytes]:
        used.append(self.proc.pid)
        return launch(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Trampoline, "launch", counted)
    if contain.CONTAINMENT.describe().startswith("subreaper"):
        pytest.skip("this system gives runner no cgroup of its own")
    (tmp_path / "step.yaml").write_text(
        "$schema: http://azureml/sdk-2-0/CommandComponent.json\ntype: CommandComponent\n"
        "name: step\nversion: 1\ninputs:\n  tag: {type: Integer}\n"
        "command: python -c pass {inputs.tag}\n"
    )
    jobs = "".join(
        f"  s{i}:\n    component: ./step.yaml\n    inputs: {{tag: {i}}}\n" for i in range(4)
    )
    pipeline = tmp_path / "p.yml"
    pipeline.write_text(f"type: pipeline\nname: p\njobs:\n{jobs}")
    monkeypatch.setenv("RUNNER_ENV", "host")
    result = run_pipeline(load_pipeline(pipeline), runs_root=tmp_path / "runs", jobs=1)
    assert result.ok
    assert len(used) >= 2  # the first step starts directly, later ones mostly ahead
    records = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/steps/*/run.json")]
    assert {record["containment"] for record in records} == {"cgroup"}
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN  # ours untouched
