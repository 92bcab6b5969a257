"""`runner pipeline run --executor ray` against a real local cluster (a head and a worker
node, see conftest): placement by custom resources, equality with the local executor (outputs
and cache keys), hits resolved by the driver, single flight across drivers, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from ray_nodes import (
    RayCluster,
    free_port,
    node_env,
    start_node,
    stop_node,
)

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

# A step: appends "<tag> <pid>" to the log named by --log, writes its pid next to its output,
# sleeps, and copies its input's data.txt plus its own tag to its output.
STEP_PY = """\
import os, sys, time
from pathlib import Path
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
tag, out = args["--tag"], Path(args["--out"])
with open(args["--log"], "a") as log:
    log.write(f"{tag} {os.getpid()}\\n")
Path(args["--log"] + f".{tag}.pid").write_text(str(os.getpid()))
time.sleep(float(args["--sleep"]))
if tag == "boom":
    sys.exit("failing on purpose")
text = Path(args["--a"], "data.txt").read_text() if "--a" in args else ""
(out / "data.txt").write_text(text + tag + "\\n")
"""

COMPONENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: tagger_{where}
version: 1
inputs:
  a: {{type: uri_folder, optional: true}}
  tag: {{type: string}}
  log: {{type: string}}
  sleep: {{type: number, default: 0}}
outputs:
  out: {{type: uri_folder}}
code: .
command: >-
  python step.py $[[--a ${{{{inputs.a}}}}]] --tag ${{{{inputs.tag}}}} --log ${{{{inputs.log}}}}
  --sleep ${{{{inputs.sleep}}}} --out ${{{{outputs.out}}}}
{resources}
"""

PIPELINE = """\
type: pipeline
name: spread
inputs:
  pause: 0.0
jobs:
  first:
    component: ./modules/head.yml
    inputs: {{tag: first, log: "{log}", sleep: "${{{{parent.inputs.pause}}}}"}}
  second:
    component: ./modules/worker.yml
    inputs:
      a: ${{{{parent.jobs.first.outputs.out}}}}
      tag: second
      log: "{log}"
      sleep: ${{{{parent.inputs.pause}}}}
"""


@pytest.fixture
def spread(tmp_path: Path) -> Path:
    """A two-step pipeline: `first` must run on the head node, `second` on the worker."""
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "step.py").write_text(STEP_PY)
    for where in ("head", "worker"):
        resources = f"resources:\n  custom: {{{where}_node: 1}}"
        (modules / f"{where}.yml").write_text(COMPONENT.format(where=where, resources=resources))
    (modules / "any.yml").write_text(COMPONENT.format(where="any", resources=""))
    (modules / "island.yml").write_text(
        COMPONENT.format(where="island", resources="resources:\n  custom: {island: 1}")
    )
    path = tmp_path / "spread.yml"
    path.write_text(PIPELINE.format(log=tmp_path / "executions.log"))
    return path


def variant(spread: Path, name: str, jobs: str) -> Path:
    """A pipeline next to `spread` with its modules: `jobs` as `step: module[:upstream]`."""
    lines = [f"type: pipeline\nname: {name}\njobs:"]
    for job in jobs.split():
        step, _, rest = job.partition(":")
        module, _, upstream = rest.partition(":")
        log = spread.parent / "executions.log"
        lines.append(f"  {step}:\n    component: ./modules/{module}.yml")
        lines.append(f'    inputs: {{tag: {step}, log: "{log}"}}')
        if upstream:
            lines[-1] = lines[-1][:-1] + f", a: '${{{{parent.jobs.{upstream}.outputs.out}}}}'}}"
    path = spread.parent / f"{name}.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def runner_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "runner", "pipeline", "run", *args]


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        runner_argv(*args),
        env={**os.environ, "RUNNER_ENV": "host", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ray_run(
    cluster: RayCluster, pipeline: Path, runs: Path, *args: str, env: dict[str, str] | None = None
) -> dict[str, object]:
    done = run_cli(
        str(pipeline), "--executor", "ray", "--ray-address", cluster.address,
        "--runs-dir", str(runs), "--json", "--quiet", *args, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def records(result: dict[str, object]) -> dict[str, dict[str, object]]:
    steps = result["steps"]
    assert isinstance(steps, dict)
    return {
        name: json.loads((Path(step["workdir"]) / "run.json").read_text())
        for name, step in steps.items()
    }


def executions(log: Path) -> list[str]:
    return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []


def test_steps_land_on_the_nodes_their_resources_name(
    ray_cluster: RayCluster, spread: Path, tmp_path: Path
) -> None:
    result = ray_run(ray_cluster, spread, tmp_path / "runs")
    assert result["status"] == "succeeded"
    ran = records(result)
    assert {r["executor"] for r in ran.values()} == {"ray"}
    assert ran["first"]["node"] != ran["second"]["node"]  # the head, then the worker node
    for record in ran.values():
        worker = record["worker"]
        assert isinstance(worker, dict)
        assert worker["id"] != "driver"
        assert worker["pid"] != os.getpid()
    out = Path(result["steps"]["second"]["outputs"]["out"])  # type: ignore[index]
    assert (out / "data.txt").read_text() == "first\nsecond\n"


def test_a_rerun_is_all_hits_resolved_by_the_driver(
    ray_cluster: RayCluster, spread: Path, tmp_path: Path
) -> None:
    ray_run(ray_cluster, spread, tmp_path / "runs")
    again = ray_run(ray_cluster, spread, tmp_path / "runs")
    assert {s["status"] for s in again["steps"].values()} == {"cached"}  # type: ignore[attr-defined]
    for record in records(again).values():
        assert record["worker"]["id"] == "driver"  # type: ignore[index]
    assert executions(tmp_path / "executions.log") == ["first", "second"]
    # --from with --force: the upstream step comes from the cache through the driver, the
    # forced one executes on its node again.
    again = ray_run(ray_cluster, spread, tmp_path / "runs", "--from", "second", "--force", "second")
    assert {n: s["status"] for n, s in again["steps"].items()} == {  # type: ignore[attr-defined]
        "first": "cached",
        "second": "succeeded",
    }
    assert executions(tmp_path / "executions.log") == ["first", "second", "second"]


def test_executor_and_address_come_from_the_environment(
    ray_cluster: RayCluster, spread: Path, tmp_path: Path
) -> None:
    env = {"RUNNER_EXECUTOR": "ray", "RAY_ADDRESS": ray_cluster.address}
    done = run_cli(str(spread), "--runs-dir", str(tmp_path / "runs"), "--json", "-q", env=env)
    assert done.returncode == 0, done.stderr
    ran = records(json.loads(done.stdout))
    assert {r["executor"] for r in ran.values()} == {"ray"}


def start_driver(
    cluster: RayCluster, pipeline: Path, runs: Path, pause: float
) -> subprocess.Popen[str]:
    argv = runner_argv(str(pipeline), "--executor", "ray", "--ray-address", cluster.address,
                       "--runs-dir", str(runs), "--set", f"pause={pause}", "-q")  # fmt: skip
    env = {**os.environ, "RUNNER_ENV": "host"}
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_two_drivers_execute_each_step_once(
    ray_cluster: RayCluster, spread: Path, tmp_path: Path
) -> None:
    drivers = [start_driver(ray_cluster, spread, tmp_path / f"runs{i}", 2) for i in range(2)]
    for driver in drivers:
        _, err = driver.communicate(timeout=300)
        assert driver.returncode == 0, err
    assert sorted(executions(tmp_path / "executions.log")) == ["first", "second"]


def test_ctrl_c_cancels_the_ray_task_and_leaves_no_process(
    ray_cluster: RayCluster, spread: Path, tmp_path: Path
) -> None:
    driver = start_driver(ray_cluster, spread, tmp_path / "runs", 120)
    pid_file = tmp_path / "executions.log.first.pid"
    deadline = time.monotonic() + 120
    while not pid_file.exists() or not pid_file.read_text():
        assert driver.poll() is None, driver.communicate()
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.2)
    step = psutil.Process(int(pid_file.read_text()))
    driver.send_signal(signal.SIGINT)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == 130, err
    step.wait(timeout=30)  # raises if the step's process is still there
    (run,) = [path for path in (tmp_path / "runs").iterdir() if path.is_dir()]
    record = json.loads((run / "steps" / "first" / "run.json").read_text())
    assert record["status"] == "interrupted"
    assert executions(tmp_path / "executions.log") == ["first"]  # `second` never started


def test_a_local_run_is_all_hits_on_ray(
    ray_cluster: RayCluster, spread: Path, tmp_path: Path
) -> None:
    local = run_cli(str(spread), "--runs-dir", str(tmp_path / "local"), "--json", "-q")
    assert local.returncode == 0, local.stderr
    on_ray = ray_run(ray_cluster, spread, tmp_path / "runs")
    assert {s["status"] for s in on_ray["steps"].values()} == {"cached"}  # type: ignore[attr-defined]
    assert executions(tmp_path / "executions.log") == ["first", "second"]


def test_without_ray_the_error_says_how_to_install_it(spread: Path, tmp_path: Path) -> None:
    # A real child process in which `import ray` fails, as where Ray is not installed.
    hide_ray = (
        "import sys; sys.modules['ray'] = None; import importlib.util;"
        "importlib.util.find_spec = lambda name, *a: None;"
        "from runner.cli.main import main; sys.exit(main(sys.argv[1:]))"
    )
    runs = tmp_path / "runs"
    argv = [sys.executable, "-c", hide_ray, "pipeline", "run", str(spread), "--executor", "ray",
            "--runs-dir", str(runs)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert "pip install 'runner[ray]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not runs.exists() or not [p for p in runs.iterdir() if p.is_dir()]  # no run folder


def test_an_unknown_executor_in_the_config_file_is_named(spread: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("executor: spark\n")
    done = run_cli(str(spread), env={"RUNNER_CONFIG": str(config)})
    assert done.returncode == 2
    assert f"{config}" in done.stderr and "unknown executor 'spark'" in done.stderr
    assert "local, ray" in done.stderr


def test_a_node_that_cannot_see_the_cache_stops_the_run_before_any_step(
    spread: Path, tmp_path: Path
) -> None:
    # A one-node cluster whose node sees an empty file system where the driver's runs folder
    # and cache are (a tmpfs mounted over them in its own mount namespace).
    solo = variant(spread, "solo", "one:any two:any:one")
    shared = tmp_path / "shared"
    shared.mkdir()
    hide = ("unshare", "-m", "--propagation", "private", "sh", "-c",
            'mount -t tmpfs tmpfs "$0" && exec "$@"', str(shared))  # fmt: skip
    temp_dir = Path(tempfile.mkdtemp(prefix="rt"))
    port = free_port()
    head = ["--head", "--port", str(port), "--temp-dir", str(temp_dir), "--node-ip-address",
            "127.0.0.1", "--include-dashboard", "false"]  # fmt: skip
    node = start_node(head, node_env(), temp_dir / "h.log", hide)
    try:
        done = run_cli(
            str(solo), "--executor", "ray", "--ray-address", f"127.0.0.1:{port}",
            "--runs-dir", str(shared / "runs"), env={"RUNNER_CACHE_DIR": str(shared / "cache")},
        )  # fmt: skip
    finally:
        stop_node(node)
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert done.returncode == 2, done.stderr
    assert "cannot use the runs folder or the cache; nothing ran" in done.stderr
    assert f"{shared / 'runs'}: not the driver's folder here" in done.stderr
    assert "shared file system" in done.stderr
    assert not (tmp_path / "executions.log").exists()


def test_an_address_where_no_cluster_answers_is_named_at_once(spread: Path) -> None:
    with socket.socket() as closed:  # a port that was free a moment ago: nobody listens
        closed.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{closed.getsockname()[1]}"
    done = run_cli(str(spread), "--executor", "ray", "--ray-address", address, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"no Ray cluster answers at {address}" in done.stderr
    assert "ray start --head" in done.stderr


def test_a_failure_on_ray_is_summarised_as_locally(
    ray_cluster: RayCluster, spread: Path, tmp_path: Path
) -> None:
    forked = variant(spread, "forked", "boom:any fine:any after:any:boom")
    done = run_cli(
        str(forked), "--executor", "ray", "--ray-address", ray_cluster.address,
        "--runs-dir", str(tmp_path / "runs"), "--continue-on-failure",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert re.search(r"boom\s+failed", done.stderr), done.stderr
    assert re.search(r"fine\s+succeeded", done.stderr), done.stderr
    assert re.search(r"after\s+aborted", done.stderr), done.stderr
    assert "the command exited with code 1" in done.stderr
    assert sorted(executions(tmp_path / "executions.log")) == ["boom", "fine"]


def test_a_request_no_node_can_meet_fails_before_any_step(
    ray_cluster: RayCluster, spread: Path, tmp_path: Path
) -> None:
    lonely = variant(spread, "lonely", "first:any second:island:first")
    done = run_cli(
        str(lonely), "--executor", "ray", "--ray-address", ray_cluster.address,
        "--runs-dir", str(tmp_path / "runs"),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "step 'second' asks for {CPU: 1, island: 1}" in done.stderr
    assert "worker_node: 1" in done.stderr  # what the nodes do offer
    assert not (tmp_path / "executions.log").exists()


def test_a_local_instance_cannot_have_custom_resources(spread: Path, tmp_path: Path) -> None:
    done = run_cli(str(spread), "--executor", "ray", "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 2, done.stderr
    assert (
        "no node of a local Ray instance can ever run: step 'first' asks for "
        "{CPU: 1, head_node: 1}; step 'second' asks for {CPU: 1, worker_node: 1}"
    ) in done.stderr


def ray_daemons() -> set[int]:
    """Ray's live daemons on this machine (zombies are dead: they wait for a gone parent)."""
    found = psutil.process_iter(["name", "status"])
    return {
        p.pid
        for p in found
        if p.info["name"].startswith(("gcs_server", "raylet", "ray::"))
        and p.info["status"] != "zombie"
    }


def test_without_an_address_a_local_instance_runs_and_ends_with_the_run(
    spread: Path, tmp_path: Path
) -> None:
    before = ray_daemons()
    solo = variant(spread, "solo", "one:any two:any:one")
    # Its own HOME: a local instance writes Ray's token file there.
    env = {"HOME": str(tmp_path / "home"), "RAY_USAGE_STATS_ENABLED": "0"}
    done = run_cli(
        str(solo), "--executor", "ray", "--runs-dir", str(tmp_path / "runs"), "--json", "-q",
        env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ran = records(json.loads(done.stdout))
    assert {r["executor"] for r in ran.values()} == {"ray"}
    assert ran["one"]["worker"]["id"] != "driver"  # type: ignore[index]
    deadline = time.monotonic() + 30
    while ray_daemons() - before:  # the instance ends with the run (its daemons may lag)
        assert time.monotonic() < deadline, f"Ray daemons left: {ray_daemons() - before}"
        time.sleep(0.5)


def test_debug_is_refused_on_ray_before_anything_runs(spread: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    done = run_cli(str(spread), "--executor", "ray", "--debug", "first", "--runs-dir", str(runs))
    assert done.returncode == 2, done.stderr
    assert "--debug" in done.stderr and "Ray executor" in done.stderr
    assert "debugger listening" not in done.stderr
    assert not runs.exists()
