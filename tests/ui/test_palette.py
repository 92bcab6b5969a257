"""The palette's module sources: the pipelines' own specs first, specs found under the folder,
and plugged sources (a registry with several versions of a module)."""

from __future__ import annotations

from pathlib import Path

from ui_support import write_modules

from runner.spec.load import load_spec
from runner.ui.palette import PaletteModule, add_module_source, palette, palette_module


def test_sources_and_order(tmp_path: Path) -> None:
    modules = write_modules(tmp_path / "modules")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / ".runner-runs").write_text("")
    (tmp_path / "runs" / "copy.yml").write_text(modules["make_model"].read_text())
    (tmp_path / "notes.yml").write_text("just: yaml\n")
    (tmp_path / "p.yml").write_text("type: pipeline\njobs: {}\n")
    found = palette([palette_module(load_spec(modules["sum_numbers"]), "pipeline")], tmp_path)
    assert [(m.name, m.origin) for m in found] == [
        ("sum_numbers", "pipeline"),
        ("make_numbers", "folder"),
        ("make_model", "folder"),
    ]  # runs folders, plain YAML and pipelines are not modules
    assert found[1].to_json(tmp_path)["path"] == "modules/make_numbers.yml"


def test_a_plugged_source_offers_versions(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    versions = []
    for version in ("1", "2"):
        folder = registry / "make_numbers" / version
        versions.append(write_modules(folder)["make_numbers"])
    offered = [PaletteModule(p, "make_numbers", "Make numbers", p.parent.name, "registry")
               for p in versions]  # fmt: skip
    remove = add_module_source(lambda: offered)
    try:
        found = palette([], tmp_path / "elsewhere")
    finally:
        remove()
    assert [(m.version, m.origin) for m in found] == [("1", "registry"), ("2", "registry")]
    assert palette([], tmp_path / "elsewhere") == []
