"""`runner pipeline show --json`: the graph the web page draws (the page contract)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli import main as cli

SAR = Path(__file__).resolve().parents[2] / "samples" / "sar" / "pipeline.yml"


def test_sar_graph_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["pipeline", "show", str(SAR), "--json"]) == 0
    graph = json.loads(capsys.readouterr().out)
    names = [step["name"] for step in graph["steps"]]
    assert names == ["split", "train", "score", "map", "ndcg", "precision", "recall"]
    train = graph["steps"][1]
    assert train["component"] == "./modules/sar_train.yaml"
    assert train["inputs"] == ["train_data"]
    assert train["outputs"] == ["model"]
    assert train["parameters"]["similarity"] == "${{parent.inputs.similarity}}"
    assert "half_life_days" not in train["parameters"]  # defaults are the module's business
    edges = {(e["from"], e["to"]): e["type"] for e in graph["edges"]}
    assert len(edges) == 11
    # Output ports by their python names, as a pipeline file binds them.
    assert edges[("split.output_train_data", "train.train_data")] == "DataFrameDirectory"
    assert edges[("train.model", "score.model")] == "ModelDirectory"
    split_port = graph["steps"][0]["ports"]["inputs"][0]
    assert split_port == {
        "name": "input_path",
        "types": ["AnyFile", "AnyDirectory"],
        "optional": False,
        "file": False,
        "bound": "${{parent.inputs.ratings}}",
    }


def test_graph_of_an_invalid_pipeline_is_still_shown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """show describes what is written, problems and all: an edge from an unknown output keeps
    the name as written (validation reports it when the pipeline runs)."""
    modules = SAR.parent / "modules"
    path = tmp_path / "p.yml"
    path.write_text(
        "type: pipeline\njobs:\n"
        f"  split: {{component: {modules}/stratified_splitter.yaml,"
        " inputs: {input_path: ./nowhere}}\n"
        f"  train: {{component: {modules}/sar_train.yaml,"
        " inputs: {train_data: '${{parent.jobs.split.outputs.nope}}'}}\n",
        encoding="utf-8",
    )
    assert cli.main(["pipeline", "show", str(path), "--json"]) == 0
    graph = json.loads(capsys.readouterr().out)
    assert graph["edges"] == [{"from": "split.nope", "to": "train.train_data", "type": "any"}]
    assert graph["steps"][0]["component"].endswith("modules/stratified_splitter.yaml")
