"""pytest fixtures for test suites that run modules (installed as the `runner` pytest plugin).

def test_split(run_module):
    result = run_module("modules/split.yaml", input_path="data/ratings.csv", ratio=0.8)
    assert result.ok, result.log.read_text()
    assert (result.outputs["output_train_data"] / "ratings.csv").exists()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runner.api import load_module
from runner.run.result import RunResult


@pytest.fixture(scope="session")
def runner_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The result cache of this test session: shared by its tests (an unchanged module run
    twice is served from it), never the user's own `~/.cache/runner`."""
    return tmp_path_factory.mktemp("runner-cache")


@pytest.fixture
def runner_home(runner_cache: Path, tmp_path: Path) -> Iterator[Path]:
    """Points runner at the session's cache and at this test's own runs folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNNER_CACHE_DIR", str(runner_cache))
        patch.setenv("RUNNER_RUNS_DIR", str(tmp_path / "runs"))
        yield tmp_path / "runs"


@pytest.fixture
def run_module(runner_home: Path) -> Callable[..., RunResult]:
    """Run a module spec with python-named values; returns its RunResult (a failed module is a
    result to assert on, not an exception). Output is captured by pytest, not streamed."""

    def run(
        spec: str | Path, /, outputs: dict[str, Path] | None = None, **values: object
    ) -> RunResult:
        return load_module(spec).run(values, outputs=outputs, quiet=True)

    return run
