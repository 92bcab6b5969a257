"""Shared fixtures: paths to the samples and a helper that writes a module spec to disk."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def write_module(tmp_path: Path) -> Callable[..., Path]:
    """Write `spec` (dedented YAML) and `files` (name -> text) into a fresh module folder."""

    def write(spec: str, files: dict[str, str] | None = None, name: str = "module.yaml") -> Path:
        folder = tmp_path / "module"
        folder.mkdir(exist_ok=True)
        for relpath, text in (files or {}).items():
            target = folder / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(text), encoding="utf-8")
        path = folder / name
        path.write_text(textwrap.dedent(spec), encoding="utf-8")
        return path

    return write
