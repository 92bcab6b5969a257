"""Shared fixtures: paths to the samples and a helper that writes a module spec to disk."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


@pytest.fixture(autouse=True)
def isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own empty result cache, runs folder and module registry: never the
    user's."""
    root = tmp_path_factory.mktemp("runner-home")
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("RUNNER_RUNS_DIR", str(root / "runs"))
    monkeypatch.setenv("RUNNER_REGISTRY", str(root / "registry"))
    return root / "cache"


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests whose tool is missing on a developer's machine; in CI they run (and fail if
    the tool is missing), except conda, which no machine of this project can have."""
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    needs = {"mpi": "mpiexec", "conda": "conda, mamba or micromamba", "browser": "chromium"}
    # No conda channel is reachable from this project's machines, CI's included, so none has
    # a conda tool: there a conda test is skipped rather than an expected failure.
    skipped_in_ci = {"conda": "no conda channel reachable on this machine"}
    for item in items:
        for marker, tool in needs.items():
            if item.get_closest_marker(marker) is None or _available(marker, tool):
                continue
            if in_ci and marker in skipped_in_ci:
                item.add_marker(pytest.mark.skip(reason=skipped_in_ci[marker]))
            elif in_ci:
                continue  # CI installs it (scripts/system-deps): without it the test must fail
            else:
                item.add_marker(pytest.mark.skip(reason=f"needs {tool} on PATH"))
    # docker: an engine must answer. Skipped on a laptop without one; in CI the tests run and
    # fail (scripts/system-deps starts an engine there).
    docker_items = [item for item in items if item.get_closest_marker("docker") is not None]
    if docker_items and not in_ci:
        from runner.env.docker_engine import engine_answers

        if not engine_answers():
            reason = "needs a docker engine that answers (scripts/system-deps starts one)"
            for item in docker_items:
                item.add_marker(pytest.mark.skip(reason=reason))


def _available(marker: str, tool: str) -> bool:
    if marker == "conda":
        from runner.env.conda import find_conda_tool
        from runner.errors import RunnerError

        try:
            return find_conda_tool(os.environ, shutil.which) is not None
        except RunnerError:  # RUNNER_CONDA names no executable
            return False
    return shutil.which(tool) is not None
