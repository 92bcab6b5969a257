"""Fixtures for the cache tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cache_helpers import write

from runner.cache.state import StateDB


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateDB]:
    with StateDB(tmp_path / "state" / "state.db") as db:
        yield db


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    write(root / "a.txt", "alpha\n")
    write(root / "sub" / "b.bin", bytes(range(256)) * 64)
    write(root / "sub" / "deep" / "c.txt", "gamma\n")
    write(root / "run.sh", "#!/bin/sh\necho hi\n", executable=True)
    return root
