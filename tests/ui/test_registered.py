"""Registered modules in the page: `component` as the pipeline file names it in the graph, and
saving that keeps every written form of a component while its module is unchanged and writes
`azureml:NAME:VERSION` for a registered version that is new or changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ui_support import edits_of, register, write_modules, write_versions

from runner.pipeline.load import load_pipeline
from runner.registry.api import load_registered
from runner.struct import replace
from runner.ui.edit import StepEdit, save_pipeline

PIPELINE = """\
# Four ways to name a registered module, and a file.
type: pipeline
jobs:
  plain:  # the default version
    type: command
    component: azureml:make_numbers
  pinned:
    type: command
    component: 'azureml:make_numbers:0.2.0'
    inputs:
      count: 3
  legacy:
    type: command
    component: {name: make_numbers, version: 0.1.0}
  newest:
    type: command
    component: azureml:make_numbers@latest
  total:
    type: command
    component: file:modules/sum_numbers.yml
    inputs:
      numbers: ${{parent.jobs.pinned.outputs.numbers}}
"""


def runner_cli(*args: str | Path, cwd: Path | None = None) -> str:
    """`runner ARGS...` as a child process, which must succeed; its stdout."""
    argv = [sys.executable, "-m", "runner", *map(str, args)]
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    """make_numbers 0.1.0 (the default: registered first) and 0.2.0."""
    folder = tmp_path / "registry"
    for spec in write_versions(tmp_path / "versions").values():
        register(spec, folder)
    return folder


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    write_modules(tmp_path / "ws" / "modules")
    path = tmp_path / "ws" / "pipeline.yml"
    path.write_text(PIPELINE, encoding="utf-8")
    return path


def test_show_json_names_components_as_the_file_does(registry: Path, pipeline: Path) -> None:
    shown = runner_cli("pipeline", "show", pipeline, "--json", "--registry", registry)
    steps = {step["name"]: step for step in json.loads(shown)["steps"]}
    assert {name: step["component"] for name, step in steps.items()} == {
        "plain": "azureml:make_numbers",
        "pinned": "azureml:make_numbers:0.2.0",
        "legacy": "azureml:make_numbers:0.1.0",  # the {name, version} form, as a reference
        "newest": "azureml:make_numbers@latest",
        "total": "./modules/sum_numbers.yml",
    }
    assert {name: step["registered"] for name, step in steps.items()} == {
        "plain": {"name": "make_numbers", "version": "0.1.0"},
        "pinned": {"name": "make_numbers", "version": "0.2.0"},
        "legacy": {"name": "make_numbers", "version": "0.1.0"},
        "newest": {"name": "make_numbers", "version": "0.2.0"},
        "total": None,
    }
    assert set(steps["pinned"]) >= {"name", "component", "inputs", "outputs"}


def test_an_unchanged_save_keeps_every_written_component(registry: Path, pipeline: Path) -> None:
    saved = save_pipeline(pipeline, edits_of(pipeline, registry), registry=registry)
    assert saved.problems == ()
    assert pipeline.read_text() == PIPELINE


def test_changed_versions_are_written_as_references(registry: Path, pipeline: Path) -> None:
    older = load_registered("azureml:make_numbers:0.1.0", registry)
    newer = load_registered("azureml:make_numbers:0.2.0", registry)
    picked = {"plain": newer, "pinned": older, "legacy": newer}
    steps = [
        replace(
            edit, module=picked[edit.name].source, component=f"azureml:{picked[edit.name].identity}"
        )
        if edit.name in picked
        else edit
        for edit in edits_of(pipeline, registry)
    ]
    save_pipeline(pipeline, steps, registry=registry)
    text = pipeline.read_text()
    assert text == (
        PIPELINE.replace(
            "component: azureml:make_numbers\n", "component: azureml:make_numbers:0.2.0\n"
        )
        .replace("'azureml:make_numbers:0.2.0'", "'azureml:make_numbers:0.1.0'")  # quotes kept
        .replace("{name: make_numbers, version: 0.1.0}", "azureml:make_numbers:0.2.0")
    )
    versions = {s.name: s.module.version for s in load_pipeline(pipeline, registry=registry).steps}
    assert versions == {
        "plain": "0.2.0", "pinned": "0.1.0", "legacy": "0.2.0", "newest": "0.2.0", "total": "0.1.0",
    }  # fmt: skip
    assert "checkouts" not in text


def test_a_new_registered_step_is_saved_by_reference_and_runs(
    registry: Path, tmp_path: Path
) -> None:
    modules = write_modules(tmp_path / "ws" / "modules")
    newer = load_registered("azureml:make_numbers:0.2.0", registry)
    target = tmp_path / "ws" / "two.yml"
    saved = save_pipeline(
        target,
        [
            StepEdit("make", newer.source, {"count": 3}, "azureml:make_numbers:0.2.0"),
            StepEdit("total", modules["sum_numbers"],
                     {"numbers": "${{parent.jobs.make.outputs.numbers}}"}),
        ],
        registry=registry,
    )  # fmt: skip
    assert "    component: azureml:make_numbers:0.2.0\n" in saved.text
    assert "    component: ./modules/sum_numbers.yml\n" in saved.text
    done = runner_cli(
        "pipeline", "run", "two.yml", "--json", "--registry", registry, cwd=target.parent
    )
    total = json.loads(done)["steps"]["total"]["outputs"]["total"]
    assert Path(total, "total.txt").read_text() == "36"  # 11 + 12 + 13: version 0.2.0 ran
