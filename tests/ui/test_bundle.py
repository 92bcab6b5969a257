"""The committed bundle (runner/ui/static) is a build of the sources in ui/: rebuilt with the
locked esbuild and elkjs, it must come out byte for byte the same (`npm --prefix ui run build`
refreshes it)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from ui_support import REPO

UI = REPO / "ui"


@pytest.mark.slow
def test_committed_bundle_matches_the_sources() -> None:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("needs node and npm to build the page's sources")
    if not (UI / "node_modules" / "esbuild").is_dir():
        # The locked versions, from the npm registry (as `scripts/test` installs everything).
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=UI, check=True, capture_output=True
        )
    check = subprocess.run(["node", "build.mjs", "--check"], cwd=UI, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr + check.stdout
