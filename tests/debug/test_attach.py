"""`runner run --debug`: a real runner process, a real debugpy, and the tests' DAP client
attaching as an IDE would; breakpoints are set in the ORIGINAL source files."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from dap import DapClient
from debug_helpers import HELPER_LINE, SCRIPT_LINE, Project, add_pipeline

RUNNER = [sys.executable, "-m", "runner"]
LISTENING = re.compile(r"debugger listening on (\S+):(\d+) \(waiting for the IDE to attach\)")


class DebuggedRun:
    """`runner run ... --debug 0` started in the background; its address read from stderr."""

    def __init__(self, args: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [*RUNNER, *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr: list[str] = []
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            found = LISTENING.search(line)
            if found:
                self.host, self.port = found.group(1), int(found.group(2))
                break
        else:
            self.proc.wait()
            raise AssertionError("no `debugger listening` line:\n" + "".join(self.stderr))
        # The rest through the same buffered reader (communicate would read the raw pipe and
        # miss what the reader already holds).
        self.reader = threading.Thread(target=self._read_rest, daemon=True)
        self.reader.start()

    def _read_rest(self) -> None:
        assert self.proc.stderr is not None
        self.stderr.extend(self.proc.stderr)

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        self.proc.wait(timeout)
        self.reader.join(timeout)
        self.close()
        return self.proc.returncode, out, "".join(self.stderr)

    def close(self) -> None:
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def started(project: Project) -> Iterator[list[DebuggedRun]]:
    runs: list[DebuggedRun] = []
    yield runs
    for run in runs:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()
        run.reader.join(10)
        run.close()


def _debug(project: Project, runs: list[DebuggedRun], *extra: str) -> DebuggedRun:
    args = [*_run_args(project), "--debug", "0", *extra]
    run = DebuggedRun(args, project.root)
    runs.append(run)
    return run


def _run_args(project: Project) -> list[str]:
    runs = str(project.root / "runs")
    return ["run", str(project.spec), "-i", f"words={project.words}", "--runs-dir", runs]


def _hit(run: DebuggedRun, source: Path, line: int, **attach: object) -> None:
    with DapClient.open(run.host, run.port) as client:
        hit = client.attach_and_break(source, line, **attach)
        assert hit["breakpoints"][0]["verified"], hit
        stopped = hit["stopped"]["body"]
        assert stopped["reason"] == "breakpoint"
        frame = client.top_frame(stopped["threadId"])
        assert frame["source"]["path"] == str(source)
        assert frame["line"] == line
        client.continue_to_end(stopped["threadId"])


def _succeeded(run: DebuggedRun, project: Project) -> None:
    code, _, err = run.finish()
    assert code == 0, err
    outputs = project.root / "runs"
    assert [p.read_text() for p in outputs.glob("*/outputs/out/loud.txt")] == ["HELLO!"]


def test_host_breakpoint_in_an_additional_include_binds_with_a_plain_attach(
    project: Project, started: list[DebuggedRun]
) -> None:
    run = _debug(project, started, "--env", "host")
    _hit(run, project.helper, HELPER_LINE)
    _succeeded(run, project)
    # rerun.sh keeps the module's own command: it runs again without a debugger.
    run_dir = next((project.root / "runs").glob("loud-*"))
    (run_dir / "outputs" / "out" / "loud.txt").unlink()
    again = subprocess.run(["bash", str(run_dir / "rerun.sh")], capture_output=True, text=True,
                           timeout=60, check=False)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "debug_start" not in (run_dir / "rerun.sh").read_text()
    assert (run_dir / "outputs" / "out" / "loud.txt").read_text() == "HELLO!"


def test_mappings_an_ide_sends_do_not_undo_runners(
    project: Project, started: list[DebuggedRun]
) -> None:
    """VS Code maps its workspace onto itself for a local attach that names no mappings."""
    run = _debug(project, started)
    identity = [{"localRoot": str(project.root), "remoteRoot": str(project.root)}]
    _hit(run, project.script, SCRIPT_LINE, pathMappings=identity)
    _succeeded(run, project)


def test_venv_gets_debugpy_without_changing_its_environment(
    project: Project, started: list[DebuggedRun]
) -> None:
    run = _debug(project, started, "--env", "venv")
    _hit(run, project.script, SCRIPT_LINE)
    code, _, err = run.finish()
    assert code == 0, err
    record = json.loads(next((project.root / "runs").glob("*/run.json")).read_text())
    venv = Path(record["environment_overrides"]["set"]["VIRTUAL_ENV"])
    assert not list(venv.glob("lib/python*/site-packages/debugpy")), "debugpy was installed"
    # The next plain run is served from the cache that the debugged run filled.
    again = subprocess.run(
        [*RUNNER, *_run_args(project), "--env", "venv", "--json"],
        cwd=project.root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert json.loads(again.stdout)["status"] == "cached", again.stderr


@pytest.mark.docker
def test_docker_port_published_and_breakpoint_binds(
    project: Project, started: list[DebuggedRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    image = os.environ.get("RUNNER_TEST_IMAGE", "runner-test/bookworm-python:1")
    env = {**os.environ, "RUNNER_DOCKER_BASE_IMAGE": image}
    run = DebuggedRun([*_run_args(project), "--env", "docker", "--debug", "0"], project.root, env)
    started.append(run)
    _hit(run, project.script, SCRIPT_LINE)
    _succeeded(run, project)
    record = json.loads(next((project.root / "runs").glob("*/run.json")).read_text())
    mounts = {m["container"]: m for m in record["container"]["mounts"]}
    assert "/mnt/runner/debugpy/debugpy" not in mounts  # the record is the run without debugger


def test_the_announcement_under_json_is_one_object_on_stderr(
    project: Project, started: list[DebuggedRun]
) -> None:
    run = _debug(project, started, "--json")
    with DapClient.open(run.host, run.port) as client:
        hit = client.attach_and_break(project.script, SCRIPT_LINE)
        client.continue_to_end(hit["stopped"]["body"]["threadId"])
    code, out, err = run.finish()
    assert code == 0, err
    assert json.loads(out)["status"] == "succeeded"
    announced = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert announced, err
    assert announced[0]["debugger"] == "listening" and announced[0]["port"] == run.port
    configuration = announced[0]["configuration"]
    assert configuration["request"] == "attach" and configuration["type"] == "debugpy"
    assert configuration["connect"] == {"host": "127.0.0.1", "port": run.port}


def test_killing_the_ide_leaves_the_run_to_finish(
    project: Project, started: list[DebuggedRun]
) -> None:
    run = _debug(project, started)
    client = DapClient.open(run.host, run.port)
    client.attach_and_break(project.script, SCRIPT_LINE)
    client.sock.close()  # the IDE is gone without a word: the module goes on
    _succeeded(run, project)


def test_a_module_that_is_not_python_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "echo.yml"
    spec.write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
        "type: command\nname: echo\nversion: 1\ncommand: echo hello\n"
    )
    done = subprocess.run(
        [*RUNNER, "run", str(spec), "--debug", "5678"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "--debug needs a python command" in done.stderr and "echo hello" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").glob("echo-*"))


def test_a_pipeline_step_whose_input_comes_from_a_cached_upstream_step(
    project: Project, started: list[DebuggedRun]
) -> None:
    pipeline = str(add_pipeline(project))
    runs = ["--runs-dir", str(project.root / "runs")]
    first = subprocess.run(
        [*RUNNER, "pipeline", "run", pipeline, *runs, "--json", "--quiet"],
        cwd=project.root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    run = DebuggedRun(["pipeline", "run", pipeline, *runs, "--json", "--debug", "loud=0"],
                      project.root)  # fmt: skip
    started.append(run)
    _hit(run, project.helper, HELPER_LINE)
    code, out, err = run.finish()
    assert code == 0, err
    steps = json.loads(out)["steps"]
    assert steps["write"]["status"] == "cached"
    assert steps["loud"]["status"] == "succeeded"  # debugged: executed, never from the cache
    assert Path(steps["loud"]["outputs"]["out"], "loud.txt").read_text() == "FROM UPSTREAM!"


LEGACY = """\
amlModuleIdentifier:
  moduleName: Loud legacy
  moduleVersion: 0.0.1
version: microsoft.com/azureml/module/v2beta1
jobType: Basic
inputs:
- {name: words, type: AnyFile}
outputs:
- {name: out, type: AnyDirectory}
implementation:
  container:
    amlEnvironment:
      python:
        condaDependencies: {name: loud, dependencies: [python=3.11]}
    sourceDirectory: src
    command: [python, main.py]
    args: [--words, {inputPath: words}, --out, {outputPath: out}]
"""


@pytest.mark.parametrize("form", ["legacy", "bash -c"])
def test_a_legacy_python_module_and_a_command_run_under_bash(
    project: Project, started: list[DebuggedRun], form: str
) -> None:
    if form == "legacy":
        spec = project.spec.with_name("legacy.yaml")
        spec.write_text(LEGACY)
    else:  # shell syntax: the command runs as `bash -c '... && python main.py ...'`
        spec = project.spec.with_name("shell.yml")
        text = project.spec.read_text().replace("command: python", "command: echo go && python")
        spec.write_text(text)
    _debug_spec_to_the_end(project, started, spec, "host")


def _debug_spec_to_the_end(
    project: Project, started: list[DebuggedRun], spec: Path, env: str
) -> None:
    """Another spec of the project's module (its helpers included): debugged, breakpoint hit."""
    spec.with_suffix(".additional_includes").write_text("../shared/helpers\n")
    runs = str(project.root / "runs")
    args = ["run", str(spec), "-i", f"words={project.words}", "--runs-dir", runs, "--env", env]
    run = DebuggedRun([*args, "--debug", "0"], project.root)
    started.append(run)
    _hit(run, project.helper, HELPER_LINE)
    _succeeded(run, project)


def test_the_printed_configuration_attaches_as_pasted(
    project: Project, started: list[DebuggedRun]
) -> None:
    run = _debug(project, started)
    deadline = time.monotonic() + 30
    while not any(line.rstrip() == "}" for line in list(run.stderr)):
        assert time.monotonic() < deadline, "".join(run.stderr)
        time.sleep(0.05)
    printed = "".join(run.stderr)
    configuration = json.loads(printed[printed.index("{") : printed.rindex("}") + 1])
    connect = configuration["connect"]
    with DapClient.open(connect["host"], connect["port"]) as client:
        hit = client.attach_and_break(project.script, SCRIPT_LINE, **configuration)
        stopped = hit["stopped"]["body"]
        assert client.top_frame(stopped["threadId"])["source"]["path"] == str(project.script)
        client.continue_to_end(stopped["threadId"])
    _succeeded(run, project)


def test_ctrl_c_while_waiting_for_the_ide_leaves_nothing_behind(
    project: Project, started: list[DebuggedRun]
) -> None:
    run = _debug(project, started)
    run_dir = next((project.root / "runs").glob("loud-*"))
    deadline = time.monotonic() + 30  # announced as the session opens, before the start
    while not _processes_under(run_dir):
        assert time.monotonic() < deadline, "the debugged step never started"
        time.sleep(0.05)
    time.sleep(0.5)  # debugpy listening, its adapter started
    run.proc.send_signal(signal.SIGINT)
    code, _, err = run.finish(timeout=60)
    assert code == 130, err
    assert _processes_under(run_dir) == []


def _processes_under(folder: Path) -> list[int]:
    """Processes whose command line names the folder (the step, debugpy's adapter)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(folder).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _other_python() -> str | None:
    """A local python of another minor version than runner's (debugpy is runner's copy)."""
    ours = f"{sys.version_info.major}.{sys.version_info.minor}"
    for version in ("3.12", "3.10", "3.13", "3.11"):
        if version != ours and shutil.which(f"python{version}"):
            return version
    return None


@pytest.mark.skipif(_other_python() is None, reason="needs a python of another minor version")
def test_a_venv_of_another_python_version_gets_runners_debugpy(
    project: Project, started: list[DebuggedRun]
) -> None:
    version = _other_python()
    spec = project.spec.with_name("legacy.yaml")
    spec.write_text(LEGACY.replace("python=3.11", f"python={version}"))
    _debug_spec_to_the_end(project, started, spec, "venv")
    record = json.loads(next((project.root / "runs").glob("*/run.json")).read_text())
    venv = Path(record["environment_overrides"]["set"]["VIRTUAL_ENV"])
    assert list(venv.glob(f"lib/python{version}/site-packages"))
