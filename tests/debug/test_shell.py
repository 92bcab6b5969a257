"""`runner shell`: one command or an interactive shell in a step's environment and folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from debug_helpers import Project, add_pipeline

RUNNER = [sys.executable, "-m", "runner"]
PROBE = "import json, os, sys; print(json.dumps([sys.executable, os.getcwd(), os.environ.get('VIRTUAL_ENV')]))"  # noqa: E501


def _shell(
    project: Project, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RUNNER, "shell", *args], cwd=project.root, capture_output=True, text=True,
        check=False, env=env, timeout=300,
    )  # fmt: skip


def _module(project: Project) -> list[str]:
    return [
        str(project.spec),
        "-i",
        f"words={project.words}",
        "--runs-dir",
        str(project.root / "runs"),
    ]


def test_a_command_runs_with_the_steps_interpreter_and_folder(project: Project) -> None:
    done = _shell(project, *_module(project), "--env", "venv", "--", "python", "-c", PROBE)
    assert done.returncode == 0, done.stderr
    executable, cwd, venv = json.loads(done.stdout)
    assert venv and Path(executable).resolve() == (Path(venv) / "bin" / "python").resolve()
    run_dir = Path(cwd).parent
    assert Path(cwd).name == "snapshot" and (Path(cwd) / "main.py").is_file()
    assert (Path(cwd) / "helpers" / "text.py").is_file()
    assert json.loads((run_dir / "run.json").read_text())["status"] == "prepared"


def test_the_exit_code_is_the_commands(project: Project) -> None:
    assert _shell(project, *_module(project), "--", "sh", "-c", "exit 7").returncode == 7


def test_a_past_run_folder(project: Project) -> None:
    ran = subprocess.run(
        [*RUNNER, "run", *_module(project), "--json", "--quiet"],
        cwd=project.root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    folder = json.loads(ran.stdout)["workdir"]
    done = _shell(project, folder, "--", "python", "-c", PROBE)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[1] == str(Path(folder) / "snapshot")


def test_a_pipeline_step_gets_its_upstream_output(project: Project) -> None:
    pipeline = str(add_pipeline(project))
    read = "import json; print(open(json.load(open('../run.json'))['inputs']['words']).read())"
    runs = str(project.root / "runs")
    done = _shell(project, pipeline, "--step", "loud", "--runs-dir", runs, "--", "python", "-c",
                  read)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "from upstream"


def test_interactive_shell_has_the_command_in_history(project: Project) -> None:
    child = pexpect.spawn(
        sys.executable, ["-m", "runner", "shell", *_module(project)],
        cwd=str(project.root), encoding="utf-8", timeout=60,
        env={**os.environ, "HOME": str(project.root), "PS1": "$ "},
    )  # fmt: skip
    child.expect_exact("the step runs (Up, Enter):")
    child.expect_exact("main.py --words")
    child.sendline("pwd")
    child.expect(r"/snapshot\r?\n")
    child.sendline("history | tail -3")
    child.expect_exact("main.py --words")
    child.sendline("!-3")  # the step's own command, from the history
    child.sendline("cat ../outputs/out/loud.txt; echo; exit 5")
    child.expect_exact("HELLO!")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5


@pytest.mark.docker
def test_docker_step_gets_a_container_with_its_mounts(project: Project) -> None:
    image = os.environ.get("RUNNER_TEST_IMAGE", "runner-test/bookworm-python:1")
    env = {**os.environ, "RUNNER_DOCKER_BASE_IMAGE": image}
    probe = "import os, sys; print(os.getcwd(), os.getuid(), sorted(os.listdir('.')))"
    done = _shell(project, *_module(project), "--env", "docker", "--", "python", "-c", probe,
                  env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"/mnt/runner/snapshot {os.getuid()} ['helpers', 'main.py']")


def test_a_cached_steps_folder_is_laid_out_anew(project: Project) -> None:
    pipeline = str(add_pipeline(project))
    runs = ["--runs-dir", str(project.root / "runs")]
    for _ in range(2):  # the second run is served from the cache: its folders hold no snapshot
        ran = subprocess.run(
            [*RUNNER, "pipeline", "run", pipeline, *runs, "--json", "--quiet"],
            cwd=project.root, capture_output=True, text=True, check=True,
        )  # fmt: skip
    steps = json.loads(ran.stdout)["steps"]
    cached = Path(steps["loud"]["workdir"])
    assert steps["loud"]["status"] == "cached" and not (cached / "snapshot").exists()
    done = _shell(project, str(cached), "--", "python", "-c", PROBE)
    assert done.returncode == 0, done.stderr
    _, cwd, _ = json.loads(done.stdout)
    assert Path(cwd, "main.py").is_file() and Path(cwd, "helpers", "text.py").is_file()
    assert "warning" not in done.stderr
    configured = subprocess.run(
        [*RUNNER, "debug-config", str(cached), *runs], cwd=project.root,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    args = json.loads(configured.stdout)["args"]
    assert args[1] == steps["write"]["outputs"]["words"]  # the recorded input, from upstream
    project.script.write_text(project.script.read_text() + "# edited\n")
    done = _shell(project, str(cached), "--", "true")
    assert done.returncode == 0 and "the module's files changed since that run" in done.stderr


def test_a_registered_module_by_name(project: Project) -> None:
    subprocess.run(
        [*RUNNER, "module", "register", str(project.spec)],
        cwd=project.root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    done = _shell(
        project, "loud@0.0.1", "-i", f"words={project.words}", "--", "python", "-c", PROBE
    )
    assert done.returncode == 0, done.stderr
    _, cwd, _ = json.loads(done.stdout)
    assert Path(cwd, "main.py").is_file() and Path(cwd, "helpers", "text.py").is_file()
    configured = subprocess.run(
        [*RUNNER, "debug-config", "loud@0.0.1", "-i", f"words={project.words}"],
        cwd=project.root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(configured.stdout)["args"][1] == str(project.words)
