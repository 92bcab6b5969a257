"""The project every debugging test works on (see debug_helpers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from debug_helpers import Project, make_project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path)
