"""The SAR sample on Ray gives what the local executor gives: the same outputs and cache keys;
a re-run on Ray is all hits, and so is a Ray run over a cache filled locally."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ray_nodes import RayCluster

pytestmark = pytest.mark.slow

SAR = Path(__file__).resolve().parents[2] / "samples" / "sar"
# The evaluations must run on the worker node (the other steps go where Ray puts them): a
# custom resource is no part of the cache key, so local and Ray runs still share entries.
ON_WORKER = "resources:\n  custom: {worker_node: 1}\n"


@pytest.fixture(scope="module")
def sar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("sar") / "sar"
    shutil.copytree(SAR, copy)
    for spec in (copy / "modules").glob("evaluate_*.yaml"):
        spec.write_text(spec.read_text() + ON_WORKER)
    return copy / "pipeline.yml"


def run(pipeline: Path, cache: Path, runs: Path, *args: str) -> dict[str, dict[str, object]]:
    argv = [sys.executable, "-m", "runner", "pipeline", "run", str(pipeline),
            "--runs-dir", str(runs), "--json", "-q", *args]  # fmt: skip
    env = {**os.environ, "RUNNER_ENV": "host", "RUNNER_CACHE_DIR": str(cache)}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    steps: dict[str, dict[str, object]] = json.loads(done.stdout)["steps"]
    return steps


def contents(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {"": path.read_bytes()}
    return {
        str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file()
    }


def outputs(steps: dict[str, dict[str, object]]) -> dict[str, dict[str, bytes]]:
    found = {}
    for name, step in steps.items():
        produced = step["outputs"]
        assert isinstance(produced, dict)
        for port, path in produced.items():
            found[f"{name}.{port}"] = contents(Path(path))
    return found


def states(steps: dict[str, dict[str, object]]) -> set[object]:
    return {step["status"] for step in steps.values()}


def test_sar_on_ray_equals_local_and_shares_its_cache(
    ray_cluster: RayCluster, sar: Path, tmp_path: Path
) -> None:
    on_ray = ("--executor", "ray", "--ray-address", ray_cluster.address)
    local = run(sar, tmp_path / "local-cache", tmp_path / "runs")
    remote = run(sar, tmp_path / "ray-cache", tmp_path / "runs", *on_ray)
    assert states(local) == states(remote) == {"succeeded"}
    assert {n: s["cache_key"] for n, s in remote.items()} == {
        n: s["cache_key"] for n, s in local.items()
    }
    assert outputs(remote) == outputs(local)
    nodes = {
        name: json.loads((Path(str(step["workdir"])) / "run.json").read_text())["node"]
        for name, step in remote.items()
    }
    evaluations = {nodes[name] for name in ("map", "ndcg", "precision", "recall")}
    assert len(evaluations) == 1  # all on the worker node
    again = run(sar, tmp_path / "ray-cache", tmp_path / "runs", *on_ray)
    assert states(again) == {"cached"}
    over_local = run(sar, tmp_path / "local-cache", tmp_path / "runs", *on_ray)
    assert states(over_local) == {"cached"}
    assert outputs(over_local) == outputs(local)
