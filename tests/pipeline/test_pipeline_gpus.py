"""GPUs on the local executor: each step asking for GPUs gets distinct ids through
CUDA_VISIBLE_DEVICES, no GPU goes to two steps at once, a step queues until its GPUs are free,
and a request the machine can never meet fails before anything runs, naming the step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.errors import RunnerError
from runner.pipeline.load import load_pipeline
from runner.pipeline.run import run_pipeline

STEP_PY = """\
import json, os, sys, time
from pathlib import Path
started = time.time()
time.sleep(float(sys.argv[2]))
seen = {"gpus": os.environ.get("CUDA_VISIBLE_DEVICES"), "start": started, "end": time.time()}
Path(sys.argv[1], "seen.json").write_text(json.dumps(seen))
"""

COMPONENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: gpu_step_{gpus}
version: 1
inputs:
  tag: {{type: string}}
  sleep: {{type: number, default: 0}}
outputs:
  out: {{type: uri_folder}}
code: .
command: python step.py ${{{{outputs.out}}}} ${{{{inputs.sleep}}}} ${{{{inputs.tag}}}}
resources: {{gpus: {gpus}}}
"""


def pipeline(tmp_path: Path, jobs: dict[str, int], sleep: float = 0) -> Path:
    for gpus in set(jobs.values()):
        (tmp_path / f"g{gpus}.yml").write_text(COMPONENT.format(gpus=gpus))
    (tmp_path / "step.py").write_text(STEP_PY)
    lines = ["type: pipeline", "name: gpus", "jobs:"]
    for name, gpus in jobs.items():
        lines += [f"  {name}:", f"    component: ./g{gpus}.yml",
                  f"    inputs: {{tag: {name}, sleep: {sleep}}}"]  # fmt: skip
    path = tmp_path / "p.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def seen(result_outputs: dict[str, str]) -> dict[str, object]:
    return json.loads((Path(result_outputs["out"]) / "seen.json").read_text())  # type: ignore[no-any-return]


def test_two_gpus_three_steps_one_waits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNNER_ENV", "host")
    monkeypatch.setenv("RUNNER_GPUS", "0,1")
    path = pipeline(tmp_path, {"a": 1, "b": 1, "c": 1, "cpu": 0}, sleep=1.5)
    result = run_pipeline(load_pipeline(path), jobs=4, runs_root=tmp_path / "runs")
    assert result.ok
    runs = {name: seen(step.outputs) for name, step in result.steps.items()}
    assert runs["cpu"]["gpus"] is None  # a step asking for none is given none
    gpu_runs = sorted((runs[n] for n in "abc"), key=lambda r: float(r["start"]))  # type: ignore[arg-type]
    assert {r["gpus"] for r in gpu_runs} <= {"0", "1"}
    first, second, third = gpu_runs
    assert first["gpus"] != second["gpus"]  # side by side, on different ids
    assert float(second["start"]) < float(first["end"])  # type: ignore[arg-type]
    # The third waited until one of the first two had finished.
    assert float(third["start"]) >= min(float(first["end"]), float(second["end"]))  # type: ignore[arg-type]


def test_a_rerun_of_a_gpu_step_is_a_hit_without_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNNER_ENV", "host")
    monkeypatch.setenv("RUNNER_GPUS", "0")
    path = pipeline(tmp_path, {"a": 1, "b": 1})
    assert run_pipeline(load_pipeline(path), runs_root=tmp_path / "runs").ok
    again = run_pipeline(load_pipeline(path), runs_root=tmp_path / "runs")
    assert {step.state.value for step in again.steps.values()} == {"cached"}


@pytest.mark.parametrize(("listed", "have"), [("0,1", "2 (0, 1)"), ("", "none")])
def test_a_request_the_machine_cannot_meet_fails_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listed: str, have: str
) -> None:
    monkeypatch.setenv("RUNNER_ENV", "host")
    monkeypatch.setenv("RUNNER_GPUS", listed)
    path = pipeline(tmp_path, {"small": 0, "big": 3})
    with pytest.raises(RunnerError) as caught:
        run_pipeline(load_pipeline(path), runs_root=tmp_path / "runs")
    assert caught.value.message == f"step 'big' asks for 3 GPUs; this machine has {have}"
    assert "RUNNER_GPUS" in (caught.value.hint or "")
    assert not [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]  # nothing ran


def run_cli(spec: Path, *args: str) -> tuple[int, str, str]:
    import contextlib
    import io

    from runner.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["run", str(spec), "-i", "tag=x", "--json", "-q", *args])
    return code, out.getvalue(), err.getvalue()


def test_runner_run_gpus_n_gives_the_first_n_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNNER_ENV", "host")
    monkeypatch.setenv("RUNNER_GPUS", "3,5,7")
    pipeline(tmp_path, {"a": 0})
    code, out, err = run_cli(tmp_path / "g0.yml", "--gpus", "2", "--no-cache")
    assert code == 0, err
    assert seen(json.loads(out)["outputs"])["gpus"] == "3,5"
    code, _, err = run_cli(tmp_path / "g0.yml", "--gpus", "4")
    assert code == 2
    assert "--gpus asks for 4 GPUs; this machine has 3 (3, 5, 7)" in err


def test_a_step_asks_for_gpus_over_its_component(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNNER_ENV", "host")
    monkeypatch.setenv("RUNNER_GPUS", "4,6")
    path = pipeline(tmp_path, {"a": 0})
    path.write_text(path.read_text() + "    resources: {gpus: 2, cpus: 1, instance_type: big}\n")
    loaded = load_pipeline(path)
    assert loaded.step("a").effective_module.resources.gpu_count == 2
    assert [str(w) for w in loaded.warnings] == [
        f"{path}:7:50: jobs.a.resources.instance_type: unknown key 'instance_type' is ignored"
    ]
    result = run_pipeline(loaded, runs_root=tmp_path / "runs")
    assert seen(result.steps["a"].outputs)["gpus"] == "4,6"
