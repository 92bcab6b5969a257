"""Registered modules in the page: the palette's registry source (enabled versions, the default
marked, no registry created), `component` as the pipeline file names it in the graph, and
saving that keeps every written form of a component while its module is unchanged and writes
`azureml:NAME:VERSION` for a registered version that is new or changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ui_support import Server, edits_of, register, write_modules, write_versions

from runner.pipeline.load import load_pipeline
from runner.registry.api import load_registered
from runner.struct import replace
from runner.ui.edit import StepEdit, save_pipeline
from runner.ui.palette import add_module_source, palette, palette_module, registry_source

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


def offered(registry: Path) -> list[tuple[str, str, bool]]:
    return [(m.id, m.version, m.default) for m in registry_source(registry)()]


def test_the_registry_source_offers_enabled_versions(registry: Path) -> None:
    assert offered(registry) == [
        ("azureml:make_numbers:0.1.0", "0.1.0", True),
        ("azureml:make_numbers:0.2.0", "0.2.0", False),
    ]
    (entry, _) = registry_source(registry)()
    assert entry.to_json(registry.parent) == {
        "id": "azureml:make_numbers:0.1.0",
        "path": "azureml:make_numbers:0.1.0",
        "name": "make_numbers",
        "display_name": "Make numbers",
        "version": "0.1.0",
        "origin": "registry",
        "registered": True,
        "default": True,
    }
    runner_cli("module", "set-default", "make_numbers", "0.2.0", "--registry", registry)
    runner_cli("module", "disable", "make_numbers@0.1.0", "--registry", registry)
    assert offered(registry) == [("azureml:make_numbers:0.2.0", "0.2.0", True)]
    runner_cli("module", "disable", "make_numbers@0.2.0", "--registry", registry)
    assert offered(registry) == []  # no enabled version: the module is not offered at all


def test_no_registry_offers_nothing_and_creates_none(tmp_path: Path) -> None:
    absent = tmp_path / "no-registry"
    remove = add_module_source(registry_source(absent))
    try:
        assert palette([], tmp_path) == []
    finally:
        remove()
    assert not absent.exists()


def test_a_damaged_registry_leaves_the_rest_of_the_palette(tmp_path: Path) -> None:
    write_modules(tmp_path / "modules")
    damaged = tmp_path / "registry"
    damaged.mkdir()
    (damaged / "catalogue.db").write_text("not a database\n" * 100)
    problems: list[str] = []
    remove = add_module_source(registry_source(damaged))
    try:
        found = palette([], tmp_path / "modules", problems)
    finally:
        remove()
    assert sorted(m.name for m in found) == ["make_model", "make_numbers", "sum_numbers"]
    assert len(problems) == 1 and str(damaged) in problems[0]


def test_a_pipeline_s_registered_module_and_the_registry_group(
    registry: Path, pipeline: Path
) -> None:
    """Offered under the pipeline by its reference (never its checkout), and still one of the
    versions of the registry's group."""
    step = load_pipeline(pipeline, registry=registry).step("pinned")
    used = palette_module(step.module, "pipeline", registered=True)
    assert used.id == "azureml:make_numbers:0.2.0" and used.path == step.module.source
    remove = add_module_source(registry_source(registry))
    try:
        found = palette([used], pipeline.parent / "modules")
    finally:
        remove()
    assert [(m.origin, m.id) for m in found if m.name == "make_numbers"] == [
        ("pipeline", "azureml:make_numbers:0.2.0"),
        ("folder", str(pipeline.parent / "modules" / "make_numbers.yml")),
        ("registry", "azureml:make_numbers:0.1.0"),
        ("registry", "azureml:make_numbers:0.2.0"),
    ]


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


def test_the_server_offers_and_saves_registered_modules(
    registry: Path, pipeline: Path, serve: Callable[..., Server]
) -> None:
    runner_cli("module", "disable", "make_numbers@0.1.0", "--registry", registry)
    server = serve(["ui", "--registry", str(registry)], pipeline.parent)
    assert server.get_json("/api/session")["registry"] == str(registry)
    listed: Any = server.get_json("/api/modules")
    registered = [m["id"] for m in listed["modules"] if m["origin"] == "registry"]
    assert registered == ["azureml:make_numbers:0.2.0"] and listed["problems"] == []
    # A pipeline using a version disabled since still opens: the page is where it is replaced.
    graph: Any = server.get_json("/api/graph?p=pipeline.yml")
    assert [s["component"] for s in graph["steps"]][:2] == [
        "azureml:make_numbers",
        "azureml:make_numbers:0.2.0",
    ]
    interface = server.get_json("/api/module?id=azureml:make_numbers:0.1.0")
    assert interface["registered"] == {"name": "make_numbers", "version": "0.1.0"}
    body = {
        "path": "built.yml",
        "new": True,
        "steps": [{"name": "make", "module": "azureml:make_numbers:0.2.0", "inputs": {"count": 2}}],
    }
    status, text = server.request("/api/save", body=body)
    assert status == 200, text
    assert "component: azureml:make_numbers:0.2.0" in (pipeline.parent / "built.yml").read_text()
    # Run from the page: the child is given the server's registry, and says so.
    status, text = server.request("/api/run", body={"p": "built.yml"})
    assert status == 200, text
    assert (
        json.loads(text)["job"]["command"] == f"runner pipeline run built.yml --registry {registry}"
    )
    deadline = time.monotonic() + 120
    job: Any
    while (job := server.get_json("/api/job?p=built.yml")["job"])["running"]:
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert job["exit_code"] == 0, job["output"]


def test_pipeline_view_takes_the_registry(
    registry: Path, pipeline: Path, serve: Callable[..., Server]
) -> None:
    """$RUNNER_REGISTRY names another (empty) registry: only the flag finds the components."""
    refused = subprocess.run(
        [sys.executable, "-m", "runner", "pipeline", "view", str(pipeline), "--no-open"],
        capture_output=True, text=True, env=dict(os.environ),
    )  # fmt: skip
    assert refused.returncode == 2 and "no registered module" in refused.stderr
    server = serve(
        ["pipeline", "view", "pipeline.yml", "--registry", str(registry)], pipeline.parent
    )
    graph: Any = server.get_json("/api/graph?p=pipeline.yml")
    assert [s["name"] for s in graph["steps"]] == ["plain", "pinned", "legacy", "newest", "total"]
    modules: Any = server.get_json("/api/modules")["modules"]
    assert "azureml:make_numbers:0.2.0" in [m["id"] for m in modules]
