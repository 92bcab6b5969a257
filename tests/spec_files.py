"""Helpers of the spec loader tests (tests/spec), importable by name from any test module."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

from runner.spec.model import ModuleSpec

LoadSpec = Callable[..., ModuleSpec]


def write_files(root: Path, files: dict[str, str]) -> None:
    """Write `files` (relative path -> text, dedented) under `root`; a trailing / makes a folder."""
    for name, text in files.items():
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(textwrap.dedent(text).encode())
