"""The registry walk-through of samples/sar/README.md, run as written (with bash, from the
repository's root): register the seven SAR modules, run the pipeline from the registry, bump
Train SAR, make it the default, and re-run: only train and what is downstream of it run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "samples" / "sar" / "README.md"
START = "<!-- registry walk-through: tests/registry/test_sar_walkthrough.py runs these lines -->"
END = "<!-- end of the registry walk-through -->"


def walkthrough() -> str:
    text = README.read_text()
    block = text[text.index(START) + len(START) : text.index(END)]
    return block.strip().removeprefix("```sh").removesuffix("```").strip()


def step_states(run_dir: Path) -> dict[str, str]:
    record = json.loads((run_dir / "pipeline.json").read_text())
    return {name: step["status"] for name, step in record["steps"].items()}


@pytest.mark.slow
def test_the_registry_walkthrough_works_as_written(tmp_path: Path) -> None:
    script = walkthrough().replace("/tmp/runner-samples", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    runs = tmp_path / "runs"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_RUNS_DIR": str(runs),
        # The test environment has numpy and pandas: no venv to build.
        "RUNNER_ENV": "host",
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "samples.sar.train" in done.stdout and "Stratified Splitter" in done.stdout
    records = sorted(runs.glob("*/pipeline.json"), key=lambda p: p.stat().st_mtime_ns)
    first, unchanged, bumped = (record.parent for record in records)
    assert set(step_states(first).values()) == {"succeeded"}
    assert set(step_states(unchanged).values()) == {"cached"}
    assert step_states(bumped) == {
        "split": "cached",
        **dict.fromkeys(("train", "score", "map", "ndcg", "precision", "recall"), "succeeded"),
    }
    model = json.loads(
        Path(bumped, "steps", "train", "outputs", "model", "sar_model.json").read_text()
    )
    assert model["parameters"]["half_life_days"] == 90.0
