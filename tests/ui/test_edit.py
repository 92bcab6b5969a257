"""Saving a pipeline edited in the page: comments and order of an edited file kept, a new file
that `runner pipeline run` accepts, a file the loader refuses never written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ui_support import REPO, edits_of, write_modules

from runner.errors import UsageError
from runner.pipeline.load import load_pipeline
from runner.ui.edit import StepEdit, relative_target, save_pipeline


@pytest.fixture
def sar(tmp_path: Path) -> Path:
    shutil.copytree(
        REPO / "samples" / "sar", tmp_path / "sar", ignore=shutil.ignore_patterns("runs")
    )
    return tmp_path / "sar" / "pipeline.yml"


def test_unchanged_save_keeps_the_file(sar: Path) -> None:
    before = sar.read_text()
    saved = save_pipeline(sar, edits_of(sar))
    assert saved.problems == ()
    assert sar.read_text() == before


def test_edit_keeps_comments_and_order(sar: Path) -> None:
    before = sar.read_text()
    steps = edits_of(sar)
    train = next(s for s in steps if s.name == "train")
    changed = StepEdit("train", train.module, {**train.inputs, "similarity": "lift"})
    steps = [changed if s.name == "train" else s for s in steps if s.name != "recall"]
    extra = StepEdit(
        "map2",
        sar.parent / "modules" / "evaluate_map.yaml",
        {
            "test_data": "${{parent.jobs.split.outputs.output_test_data}}",
            "recommendations": "${{parent.jobs.score.outputs.recommendations}}",
            "k": 5,
        },
    )
    saved = save_pipeline(sar, [*steps, extra])
    text = sar.read_text()
    assert "# The SAR recommender pipeline of the AzureML module walk-through" in text
    assert "# As in Recommenders' notebook: recommend to the test users" in text
    assert "      similarity: lift\n" in text
    assert "  recall:" not in text.split("jobs:")[1]
    assert "  map2:\n    type: command\n    component: ./modules/evaluate_map.yaml\n" in text
    # Everything else as it was: the header, the inputs, the other jobs, their order.
    # (ruamel keeps the blank line before `jobs:` with the removed output)
    head = before.split("jobs:")[0].replace("  recall:\n    type: uri_file\n\n", "")
    assert text.startswith(head)
    pipeline = load_pipeline(sar)
    assert pipeline.step_names == ("split", "train", "score", "map", "ndcg", "precision", "map2")
    assert saved.problems == ()
    # The pipeline output bound in the removed step went with it; the others stay.
    assert [o.name for o in pipeline.outputs] == ["map", "ndcg", "precision"]
    assert "  recall:\n    type: uri_file" not in text


def test_new_pipeline_runs_with_the_cli(tmp_path: Path) -> None:
    modules = write_modules(tmp_path / "modules")
    target = relative_target(tmp_path, "pipelines/two.yml")
    saved = save_pipeline(
        target,
        [
            StepEdit("make", modules["make_numbers"], {"count": 7}),
            StepEdit("total", modules["sum_numbers"],
                     {"numbers": "${{parent.jobs.make.outputs.numbers}}"}),
        ],
        display_name="Two steps",
    )  # fmt: skip
    assert saved.problems == ()
    assert "component: ../modules/make_numbers.yml" in saved.text
    result = subprocess.run(
        [sys.executable, "-m", "runner", "pipeline", "run", "pipelines/two.yml", "--json"],
        cwd=tmp_path, capture_output=True, text=True, env=dict(os.environ),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    total = json.loads(result.stdout)["steps"]["total"]["outputs"]["total"]
    assert Path(total, "total.txt").read_text() == "28"


def test_refused_saves(tmp_path: Path) -> None:
    modules = write_modules(tmp_path)
    with pytest.raises(UsageError, match="save inside"):
        relative_target(tmp_path, "../elsewhere.yml")
    with pytest.raises(UsageError, match=r"\.yml or \.yaml"):
        save_pipeline(tmp_path / "p.txt", [StepEdit("a", modules["make_numbers"], {})])
    with pytest.raises(UsageError, match="at least one step"):
        save_pipeline(tmp_path / "p.yml", [])
    # A value the loader refuses (a malformed binding) is never written.
    bad = StepEdit("b", modules["sum_numbers"], {"numbers": "${{parent.nowhere}}"})
    with pytest.raises(UsageError, match="not saved"):
        save_pipeline(tmp_path / "p.yml", [bad])
    assert not (tmp_path / "p.yml").exists()
    # A file that is not a pipeline (a module spec) is never replaced by one.
    before = modules["make_numbers"].read_text()
    with pytest.raises(UsageError, match="not a pipeline job"):
        save_pipeline(modules["make_numbers"], [StepEdit("a", modules["make_numbers"], {})])
    assert modules["make_numbers"].read_text() == before
    # A new pipeline never replaces an existing file.
    save_pipeline(tmp_path / "p.yml", [StepEdit("a", modules["make_numbers"], {})])
    with pytest.raises(UsageError, match="already exists"):
        save_pipeline(tmp_path / "p.yml", [StepEdit("b", modules["make_numbers"], {})], new=True)
    assert "  a:" in (tmp_path / "p.yml").read_text()
