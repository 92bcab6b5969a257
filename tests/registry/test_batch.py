"""Batch registration (`--recursive`): every sample, a pattern, and a failure among others."""

from __future__ import annotations

import shutil
from pathlib import Path

from registry_helpers import Cli, Json

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SAMPLE_MODULES = {
    "column_stats",
    "csv_summary",
    "samples.file_stats",
    "samples.word_count",
    "samples/legacy/Optional Input Recommender",
    "samples/legacy/Parallel Review Scorer",
    "sar_evaluate_map",
    "sar_evaluate_ndcg",
    "sar_evaluate_precision",
    "sar_evaluate_recall",
    "samples.sar.score",
    "samples.sar.train",
    "samples/sar/Stratified Splitter",
}


def test_batch_registration_of_the_samples(run_json: Json, run_cli: Cli) -> None:
    run_json("datatype", "register", "DataFrameDirectory", "--parent", "AnyDirectory")
    run_json("datatype", "register", "ModelDirectory", "--parent", "AnyDirectory")
    batch = run_json("module", "register", "--recursive", SAMPLES)
    assert (batch["registered"], batch["unchanged"], batch["failed"]) == (13, 0, 0)
    assert batch["skipped"] == 5
    outcomes = batch["specs"]
    registered = {o["name"] for o in outcomes if o["status"] == "registered"}
    assert registered == SAMPLE_MODULES
    skipped = {o["spec"]: o["reason"] for o in outcomes if o["status"] == "skipped"}
    assert "this is a pipeline job, not a module" in skipped["sar/pipeline.yml"]
    assert "sar/conda.yaml" in skipped
    assert not [o for o in outcomes if o["status"] == "failed"]
    assert {m["name"] for m in run_json("module", "list")["modules"]} == SAMPLE_MODULES
    # Every one runs from the registry as it would from its file: same interface, same key.
    again = run_json(
        "module", "register", "--recursive", SAMPLES, "--pattern", "sar/modules/*.yaml"
    )["specs"]
    assert {o["status"] for o in again} == {"unchanged"} and len(again) == 7
    code, out, _ = run_cli(
        "module", "register", "--recursive", SAMPLES, "--pattern", "*_stats.y*ml"
    )
    assert code == 0
    assert (
        out.strip().splitlines()[-1]
        == "0 registered, 2 unchanged, 0 failed, 0 skipped (not module specs)"
    )


def test_a_failing_spec_is_reported_and_the_others_are_registered(
    run_cli: Cli, run_json: Json, tmp_path: Path
) -> None:
    tree = tmp_path / "modules"
    shutil.copytree(SAMPLES / "cliv2", tree / "cliv2")
    broken = tree / "cliv2" / "csv_summary" / "csv_summary.yml"
    broken.write_text(broken.read_text().replace("command:", "comand:"))
    code, out, err = run_cli("module", "register", "--recursive", tree)
    assert code == 2, err
    assert "cliv2/csv_summary/csv_summary.yml: failed:" in out
    assert "missing required field 'command'" in out
    assert "cliv2/column_stats/column_stats.yml: registered column_stats 0.1.0" in out
    assert [m["name"] for m in run_json("module", "list")["modules"]] == ["column_stats"]
