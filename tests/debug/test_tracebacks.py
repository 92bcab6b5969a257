"""A failure names the user's file and line (not the run's snapshot copy): `runner run`'s
live output, summary and --json, the run record, a pipeline's summary and log tail, in every
environment where the run sees its code elsewhere (host snapshot, container mount;
in-process compiles the sources themselves)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from debug_helpers import Project, add_pipeline

RUNNER = [sys.executable, "-m", "runner"]
BROKEN_LINE = 3


@pytest.fixture
def broken(project: Project) -> Project:
    project.helper.write_text(
        "def shout(text):\n    louder = text.upper()\n    return louder + 1\n"
    )
    return project


def _runner(
    project: Project, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    done = subprocess.run(
        [*RUNNER, *args], cwd=project.root, capture_output=True, text=True, check=False, env=env
    )
    return done.returncode, done.stdout, done.stderr


def _module_args(project: Project) -> list[str]:
    return ["run", str(project.spec), "-i", f"words={project.words}"]


@pytest.mark.parametrize("extra", [[], ["--in-process"]])
def test_run_names_the_source_file_and_line(broken: Project, extra: list[str]) -> None:
    code, out, err = _runner(broken, *_module_args(broken), *extra, "--json")
    assert code == 1, err
    result = json.loads(out)
    expected = f"{broken.helper}:{BROKEN_LINE}"
    assert result["error_at"] == expected
    record = json.loads(Path(result["workdir"], "run.json").read_text())
    assert record["error_at"] == expected
    code, shown, err = _runner(broken, *_module_args(broken), *extra)
    assert f"  error at: {expected}" in err
    # The module's own output, shown live, names the user's files too (the log keeps the copy).
    assert f'File "{broken.helper}", line {BROKEN_LINE}, in shout' in shown, shown
    assert "/snapshot/" not in shown


def test_frames_outside_the_users_files_are_passed_over(project: Project) -> None:
    # Words that are not UTF-8: the decoder raises, frames below the script's line 10.
    words = project.root / "latin1.txt"
    words.write_bytes(b"caf\xe9 \xff")
    code, out, err = _runner(project, "run", str(project.spec), "-i", f"words={words}", "--json")
    assert code == 1, err
    assert json.loads(out)["error_at"] == f"{project.script}:10"


def test_pipeline_summary_and_status_map_the_traceback(broken: Project) -> None:
    pipeline = str(add_pipeline(broken))
    runs = ["--runs-dir", str(broken.root / "runs")]
    code, _, err = _runner(broken, "pipeline", "run", pipeline, *runs)
    assert code == 1, err
    assert f'File "{broken.helper}", line {BROKEN_LINE}, in shout' in err
    assert f'File "{broken.script}", line 10' in err
    assert "/snapshot/" not in err.split("step 'loud' failed")[1].split("  log:")[0]
    assert f"  error at: {broken.helper}:{BROKEN_LINE}" in err
    code, out, _ = _runner(broken, "pipeline", "status", *runs, "--json")
    assert json.loads(out)["steps"]["loud"]["error_at"] == f"{broken.helper}:{BROKEN_LINE}"


@pytest.mark.docker
def test_a_container_run_maps_its_mount(broken: Project) -> None:
    image = os.environ.get("RUNNER_TEST_IMAGE", "runner-test/bookworm-python:1")
    env = {**os.environ, "RUNNER_DOCKER_BASE_IMAGE": image}
    code, out, err = _runner(broken, *_module_args(broken), "--env", "docker", "--json", env=env)
    assert code == 1, err
    assert json.loads(out)["error_at"] == f"{broken.helper}:{BROKEN_LINE}"
