"""Whole module runs with --env docker: image built from the spec, mounts, outputs, the cache."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import docker
import pytest
from ctrl_c import RUNNER_WITH_CTRL_C

import runner
from runner.cli.main import main

pytestmark = pytest.mark.docker

SPEC = """\
$schema: http://azureml/sdk-2-0/CommandComponent.json
type: CommandComponent
name: docker_probe
version: 1
environment:
  conda:
    conda_dependencies:
      name: probe
      dependencies: [python=3.11, pip, {pip: [six==1.16.0]}]
inputs:
  table: {type: AnyFile}
  folder: {type: AnyDirectory}
  label: {type: String}
outputs:
  report: {type: AnyFile}
  copies: {type: AnyDirectory}
command: >-
  python probe.py --table {inputs.table} --folder {inputs.folder} --label {inputs.label}
  --report {outputs.report} --copies {outputs.copies}
"""

PROBE = """\
import argparse, json, os, shutil, six
from pathlib import Path
p = argparse.ArgumentParser()
for flag in ("--table", "--folder", "--label", "--report", "--copies"):
    p.add_argument(flag)
a = p.parse_args()
try:
    Path(a.folder, "intruder.txt").write_text("x")
    inputs_writable = True
except OSError:
    inputs_writable = False
for f in sorted(Path(a.folder).iterdir()):
    shutil.copy(f, Path(a.copies, f.name))
Path(a.report).write_text(json.dumps({
    "label": a.label, "six": six.__version__, "table": Path(a.table).read_text(),
    "table_name": Path(a.table).name, "uid": os.getuid(), "cwd": os.getcwd(),
    "inputs_writable": inputs_writable,
}))
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base_image: str) -> Path:
    monkeypatch.setenv("RUNNER_DOCKER_BASE_IMAGE", base_image)
    monkeypatch.setenv("RUNNER_ENV", "docker")
    (tmp_path / "module").mkdir()
    (tmp_path / "module" / "probe.yaml").write_text(SPEC)
    (tmp_path / "module" / "probe.py").write_text(PROBE)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("alpha")
    (tmp_path / "data" / "b.txt").write_text("beta")
    (tmp_path / "table.csv").write_text("x,y\n1,2\n")
    return tmp_path


def test_module_runs_in_a_built_image_and_is_cached(project: Path) -> None:
    module = runner.load_module(project / "module" / "probe.yaml")
    values = {"table": project / "table.csv", "folder": project / "data", "label": "two words"}
    report_path = project / "elsewhere" / "report.json"
    result = module.run(**values, outputs={"report": report_path}, quiet=True)
    assert result.ok, result.log.read_text()
    report = json.loads(report_path.read_text())
    assert report["label"] == "two words" and report["six"] == "1.16.0"
    assert report["table"] == "x,y\n1,2\n" and report["table_name"] == "table.csv"
    assert report["uid"] == os.getuid()
    assert report["cwd"] == "/mnt/runner/snapshot"
    assert report["inputs_writable"] is False
    assert not (project / "data" / "intruder.txt").exists()
    copies = result.outputs["copies"]
    assert sorted(p.name for p in copies.iterdir()) == ["a.txt", "b.txt"]
    assert copies.stat().st_uid == os.getuid()
    record = json.loads((result.workdir / "run.json").read_text())
    assert record["environment"]["backend"] == "docker"
    assert record["container"]["user"] == f"{os.getuid()}:{os.getgid()}"
    assert "docker run" in (result.workdir / "rerun.sh").read_text()

    again = module.run(**values, quiet=True)
    assert again.cached
    assert json.loads(again.outputs["report"].read_text())["label"] == "two words"


def test_cli_env_commands_see_the_image(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(project / "module" / "probe.yaml")
    assert main(["env", "build", spec]) == 0
    built = capsys.readouterr().out
    assert built.startswith("ready: docker ")
    assert main(["env", "show", spec]) == 0
    shown = capsys.readouterr().out
    assert "backend:     docker" in shown and "state:       built" in shown
    assert main(["env", "ls"]) == 0
    fingerprint = built.split()[2]
    assert fingerprint in capsys.readouterr().out
    assert main(["env", "rm", fingerprint[:12]]) == 0
    assert main(["env", "show", spec]) == 0
    assert "not built yet" in capsys.readouterr().out


def test_parallel_module_in_a_container(
    project: Path,
    samples: Path,
    docker_client: docker.DockerClient,
    base_image: str,
    request: pytest.FixtureRequest,
) -> None:
    module = runner.load_module(samples / "legacy" / "parallel_score" / "parallel_score.yaml")
    # The spec builds on AzureML's base image; no registry is reachable here, so a local image
    # stands in under that name, as a user would `docker load` it.
    wanted = module.spec.environment.base_image
    assert wanted is not None
    repository, _, tag = wanted.partition(":")
    docker_client.images.get(base_image).tag(repository, tag or "latest")
    request.addfinalizer(lambda: docker_client.images.remove(wanted))
    result = module.run(
        reviews=samples / "data" / "reviews",
        lexicon=samples / "shared" / "lexicon",
        threshold=0.5,
        quiet=True,
    )
    assert result.ok, result.log.read_text()
    lines = (result.outputs["scores"] / "parallel_run_step.txt").read_text().splitlines()
    assert len(lines) == 6


SLEEPY = """\
$schema: http://azureml/sdk-2-0/CommandComponent.json
type: CommandComponent
name: sleepy
version: 1
environment:
  docker:
    image: {image}
outputs:
  out: {{type: AnyDirectory}}
command: >-
  python -c "import time; print('ready', flush=True); time.sleep(60)" {{outputs.out}}
"""


def test_an_interrupted_container_run_records_its_real_end(
    tmp_path: Path, base_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "sleepy.yaml"
    spec.write_text(SLEEPY.format(image=base_image))
    runs = tmp_path / "runs"
    env = {**os.environ, "RUNNER_ENV": "docker", "RUNNER_CACHE_DIR": str(tmp_path / "cache")}
    process = subprocess.Popen(
        [*RUNNER_WITH_CTRL_C, "run", str(spec), "--runs-dir", str(runs), "--quiet"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not any("stdout ready" in log.read_text() for log in runs.glob("*/execution.log")):
            assert time.monotonic() < deadline and process.poll() is None, "never got ready"
            time.sleep(0.05)
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    (run_dir,) = runs.glob("sleepy-*")
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "interrupted"
    assert record["exit_code"] == -signal.SIGINT  # python died of the SIGINT it was sent
    assert record["duration"] > 1
    assert record["containment"] == "container"
    footer = (run_dir / "execution.log").read_text().splitlines()[-1]
    assert f"end: exit code -2, duration {record['duration']:.3f} s, interrupted" in footer
