"""`runner debug-config`: the launch configuration runs the step as runner would (executed here
as VS Code executes it, and once through debugpy's own adapter with a breakpoint); `--write`
merges into launch.json keeping the user's entries and comments."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from dap import DapClient
from debug_helpers import HELPER_LINE, Project, add_pipeline

from runner.debug.jsonc import plain_json

RUNNER = [sys.executable, "-m", "runner"]


def _config(project: Project, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [*RUNNER, "debug-config", *args, "--runs-dir", str(project.root / "runs"), "--json"],
        cwd=project.root, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _expand(value: str) -> str:
    """VS Code's `${env:NAME}` in launch.json values."""
    return re.sub(r"\$\{env:(\w+)\}", lambda m: os.environ.get(m.group(1), ""), value)


def _execute_as_vscode(entry: dict[str, object]) -> None:
    assert entry["type"] == "debugpy" and entry["request"] == "launch"
    env = {**os.environ, **{k: _expand(v) for k, v in entry["env"].items()}}  # type: ignore[attr-defined]
    target = ["-m", entry["module"]] if "module" in entry else [entry["program"]]
    argv = [entry["python"], *entry.get("pythonArgs", []), *target, *entry["args"]]  # type: ignore[misc]
    subprocess.run([str(a) for a in argv], cwd=str(entry["cwd"]), env=env, check=True, timeout=60)


def test_the_launch_configuration_produces_the_same_outputs(project: Project) -> None:
    module = [str(project.spec), "-i", f"words={project.words}"]
    entry = _config(project, *module, "--env", "venv")["configuration"]
    assert isinstance(entry, dict)
    assert "/envs/venv/" in str(entry["python"])
    assert Path(str(entry["program"])).name == "main.py"
    _execute_as_vscode(entry)
    args = entry["args"]
    assert isinstance(args, list)
    produced = Path(args[args.index("--out") + 1], "loud.txt").read_text()
    ran = subprocess.run(
        [*RUNNER, "run", *module, "--env", "venv", "--no-cache", "--json", "--quiet"],
        cwd=project.root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert produced == Path(json.loads(ran.stdout)["outputs"]["out"], "loud.txt").read_text()


def test_a_pipeline_step_reads_its_upstream_output(project: Project) -> None:
    entry = _config(project, str(add_pipeline(project)), "--step", "loud")["configuration"]
    assert isinstance(entry, dict)
    args = entry["args"]
    assert isinstance(args, list)
    assert Path(args[args.index("--words") + 1]).read_text() == "from upstream"
    _execute_as_vscode(entry)
    assert Path(args[args.index("--out") + 1], "loud.txt").read_text() == "FROM UPSTREAM!"


def test_launched_through_debugpys_adapter_a_source_breakpoint_binds(project: Project) -> None:
    """What VS Code does with the entry: start debugpy's adapter and send it as `launch`."""
    entry = _config(project, str(project.spec), "-i", f"words={project.words}")["configuration"]
    assert isinstance(entry, dict)
    entry = {**entry, "env": {k: _expand(v) for k, v in entry["env"].items()},
             "console": "internalConsole"}  # fmt: skip
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = subprocess.Popen(
        [sys.executable, "-m", "debugpy.adapter", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with DapClient.open("127.0.0.1", port) as client:
            launch = client.send("launch", **entry)
            client.event("initialized")
            answer = client.request("setBreakpoints", source={"path": str(project.helper)},
                                    breakpoints=[{"line": HELPER_LINE}])  # fmt: skip
            assert answer["body"]["breakpoints"][0]["verified"]
            client.request("configurationDone")
            client.response(launch, "launch")
            stopped = client.event("stopped")["body"]
            frame = client.top_frame(stopped["threadId"])
            assert (frame["source"]["path"], frame["line"]) == (str(project.helper), HELPER_LINE)
            client.continue_to_end(stopped["threadId"])
    finally:
        adapter.kill()
        adapter.wait()


LAUNCH_JSON = """\
// The user's own file: their entry and comments stay.
{
  "version": "0.2.0",
  "configurations": [
    /* mine */
    {"name": "my app", "type": "debugpy", "request": "launch", "program": "app.py"},
  ]
}
"""


def test_write_merges_into_launch_json_keeping_entries_and_comments(project: Project) -> None:
    vscode = project.root / ".vscode"
    vscode.mkdir()
    (vscode / "launch.json").write_text(LAUNCH_JSON)
    module = [str(project.spec), "-i", f"words={project.words}"]
    for _ in range(2):  # the second time replaces runner's entry, adds nothing
        written = _config(project, *module, "--write")
        assert written["written"] == str(vscode / "launch.json")
    text = (vscode / "launch.json").read_text()
    assert text.startswith("// The user's own file") and "/* mine */" in text
    names = [c["name"] for c in json.loads(plain_json(text))["configurations"]]
    assert names == ["my app", "runner: loud"]


def test_a_module_that_is_not_python_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "echo.yml"
    spec.write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
        "type: command\nname: echo\nversion: 1\ncommand: echo hello\n"
    )
    done = subprocess.run([*RUNNER, "debug-config", str(spec)], cwd=tmp_path,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 2 and "runs a python command" in done.stderr, done.stderr


@pytest.mark.docker
def test_docker_steps_get_an_attach_entry_and_the_command_to_start(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = os.environ.get("RUNNER_TEST_IMAGE", "runner-test/bookworm-python:1")
    monkeypatch.setenv("RUNNER_DOCKER_BASE_IMAGE", image)
    result = _config(project, str(project.spec), "-i", f"words={project.words}", "--env",
                     "docker", "--port", "5699")  # fmt: skip
    entry = result["configuration"]
    assert isinstance(entry, dict) and entry["request"] == "attach"
    assert entry["connect"] == {"host": "127.0.0.1", "port": 5699}
    remote = {m["remoteRoot"] for m in entry["pathMappings"]}  # type: ignore[attr-defined]
    assert remote == {"/mnt/runner/snapshot", "/mnt/runner/snapshot/helpers"}
    assert str(result["start"]).endswith("--env docker --debug 5699")


def test_jsonc_comments_and_trailing_commas_but_never_inside_strings() -> None:
    from runner.debug.jsonc import read_jsonc

    text = '{ // VS Code\n  "a": "x, }", /* b */ "q": "\\"//\\"",\n  "l": [1, 2, ],\n}\n'
    assert read_jsonc(text, "launch.json") == {"a": "x, }", "q": '"//"', "l": [1, 2]}
