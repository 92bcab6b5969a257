"""Fixtures for spec loader tests: write a spec (and the files it names) into a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from spec_files import LoadSpec, write_files

from runner.spec.load import load_spec
from runner.spec.model import ModuleSpec

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    """Where `load` writes the spec: a folder of its own, so `../` paths stay in tmp_path."""
    folder = tmp_path / "module"
    folder.mkdir()
    return folder / "spec.yaml"


@pytest.fixture
def load(spec_path: Path) -> LoadSpec:
    """`load(yaml_text, **{"relative/file": text})`: write the spec and its files, then load it.
    An empty `a.py` is written too: the entry script the short specs of these tests name."""

    def run(text: str, files: dict[str, str] | None = None) -> ModuleSpec:
        write_files(spec_path.parent, {spec_path.name: text, "a.py": "", **(files or {})})
        return load_spec(spec_path)

    return run
