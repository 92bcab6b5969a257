"""The SAR sample end to end through runner: a venv built from its conda spec, seven steps of
three spec generations, metrics checked against a direct computation on the same split."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sar_reference import reference_metrics

from runner.pipeline.load import load_pipeline
from runner.pipeline.run import run_pipeline
from runner.pipeline.state import PipelineResult

SAR = Path(__file__).resolve().parents[2] / "samples" / "sar" / "pipeline.yml"


@pytest.fixture(scope="module")
def sar_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[PipelineResult, PipelineResult]:
    root = tmp_path_factory.mktemp("sar")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNNER_CACHE_DIR", str(root / "cache"))
        patch.setenv("RUNNER_ENV", "auto")
        first = run_pipeline(load_pipeline(SAR), runs_root=root / "runs")
        second = run_pipeline(load_pipeline(SAR), runs_root=root / "runs")
    return first, second


def rows(folder: str) -> list[dict[str, str]]:
    with Path(folder, "ratings.csv").open() as stream:
        return list(csv.DictReader(stream))


def test_sar_pipeline_metrics_match_a_direct_computation(
    sar_runs: tuple[PipelineResult, PipelineResult],
) -> None:
    first, _ = sar_runs
    assert first.ok, {n: s.message for n, s in first.steps.items()}
    assert {s.state.value for s in first.steps.values()} == {"succeeded"}
    test = rows(first.steps["split"].outputs["output_test_data"])
    train = rows(first.steps["split"].outputs["output_train_data"])
    assert len(test) + len(train) == 4847
    recs_folder = Path(first.steps["score"].outputs["recommendations"])
    with next(recs_folder.glob("*.csv")).open() as stream:
        recs = list(csv.DictReader(stream))
    expected = reference_metrics([(r["user"], r["item"]) for r in test], recs, k=10)
    for metric in ("map", "ndcg", "precision", "recall"):
        produced = json.loads(Path(first.outputs[metric]).read_text())
        assert produced["metric"] == metric and produced["k"] == 10
        assert produced["value"] == pytest.approx(expected[metric], abs=1e-9)
    assert 0.1 < expected["precision"] < 0.5  # SAR finds the synthetic tastes


def test_sar_pipeline_rerun_is_served_from_the_cache(
    sar_runs: tuple[PipelineResult, PipelineResult],
) -> None:
    first, second = sar_runs
    assert second.ok
    assert {s.state.value for s in second.steps.values()} == {"cached"}
    for metric in ("map", "ndcg", "precision", "recall"):
        assert Path(second.outputs[metric]).read_text() == Path(first.outputs[metric]).read_text()
