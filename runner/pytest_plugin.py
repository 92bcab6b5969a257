"""pytest fixtures and markers for test suites that run modules (the `runner-modules` plugin).

def test_split(run_module):
    result = run_module("modules/split.yaml", input_path="data/ratings.csv", ratio=0.8)
    assert result.ok
    assert (result.outputs["output_train_data"] / "ratings.csv").exists()

- A relative spec path is taken from the test file's folder, then from the rootdir (never
  from wherever pytest was started), and the call's relative input paths from the same folder;
  a registered module is named as on the command line.
- Results belong to the session: a fresh result cache per session (a test never passes on an
  earlier session's result; the same run twice in one session is served from it), while
  environments (venvs, conda envs, images) come from the user's store and are built once.
  `--runner-cache-dir DIR` keeps results and environments in DIR across sessions instead.
- `env=`, `timeout=`, `force=` per call; `--runner-env` sets the environment for all calls.
- `@pytest.mark.docker` / `@pytest.mark.conda`: skipped where no docker engine answers / no
  conda tool exists, failed instead when the `CI` variable is set (a CI that lost its tools
  must not turn green).
- A test that fails after a failed run shows the end of that run's log in its report.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path

import pytest

from runner.cache.location import default_cache_root
from runner.config import ENV_CHOICES
from runner.registry.resolve import load_module_spec
from runner.run.engine import RunOptions
from runner.run.engine import run_module as run_spec
from runner.run.result import RunResult
from runner.run.sourcemap import mapped_log_tail

LOG_TAIL_LINES = 30
_RUNS = pytest.StashKey[list[RunResult]]()
_TOOLS: dict[str, bool] = {}  # marker -> its tool was found (asked once per session)
_NEEDS = {
    "docker": "a docker engine that answers",
    "conda": "conda, mamba or micromamba (or $RUNNER_CONDA)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("runner", "runner modules (runner-modules plugin)")
    group.addoption(
        "--runner-env",
        choices=ENV_CHOICES,
        default=None,
        help="environment of every run_module call without env= (default: RUNNER_ENV, "
        "the config file, auto)",
    )
    group.addoption(
        "--runner-cache-dir",
        default=None,
        metavar="DIR",
        help="keep results and environments in DIR across sessions (default: a fresh result "
        "cache per session, environments from the user's store)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for marker, tool in _NEEDS.items():
        config.addinivalue_line(
            "markers", f"{marker}: needs {tool}; skipped without it, failed when CI is set"
        )


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, tool in _NEEDS.items():
        if item.get_closest_marker(marker) is None or _tool_found(marker):
            continue
        if in_ci(os.environ):
            pytest.fail(f"needs {tool}, and CI is set: not skipped", pytrace=False)
        pytest.skip(f"needs {tool}")


def in_ci(environ: Mapping[str, str]) -> bool:
    return environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _tool_found(marker: str) -> bool:
    if marker not in _TOOLS:
        if marker == "docker":
            from runner.env.docker_engine import engine_answers

            _TOOLS[marker] = engine_answers()
        else:
            from runner.env.conda import find_conda_tool
            from runner.errors import RunnerError

            try:
                _TOOLS[marker] = find_conda_tool(os.environ, shutil.which) is not None
            except RunnerError:  # RUNNER_CONDA names no executable
                _TOOLS[marker] = False
    return _TOOLS[marker]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for result in item.stash.get(_RUNS, []):
            if not result.ok:
                report.sections.append((f"runner log tail ({result.log})", _tail(result)))
    return report


def _tail(result: RunResult) -> str:
    """The end of the log, its traceback naming the user's files."""
    lines = mapped_log_tail(result.log, LOG_TAIL_LINES) or [f"(nothing in {result.log})"]
    where = [f"error at: {result.error_at}"] if result.error_at else []
    return "\n".join([*lines, *where])


@pytest.fixture(scope="session")
def runner_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The result cache of this session (--runner-cache-dir, else a fresh folder): shared by
    its tests, never the user's own."""
    chosen = request.config.getoption("runner_cache_dir")
    if chosen:
        return Path(chosen).expanduser().resolve()
    return tmp_path_factory.mktemp("runner-cache")


@pytest.fixture(scope="session")
def runner_env_store(request: pytest.FixtureRequest, runner_cache: Path) -> Path:
    """Where environments are built and found: the user's store (they outlive the session),
    or --runner-cache-dir's."""
    if request.config.getoption("runner_cache_dir"):
        return runner_cache / "envs"
    return default_cache_root(os.environ) / "envs"


@pytest.fixture
def runner_home(runner_cache: Path, tmp_path: Path) -> Iterator[Path]:
    """This test's runs folder; RUNNER_CACHE_DIR and RUNNER_RUNS_DIR point at the session's
    cache and at it while the test runs (for a `runner` command the test starts itself)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNNER_CACHE_DIR", str(runner_cache))
        patch.setenv("RUNNER_RUNS_DIR", str(tmp_path / "runs"))
        yield tmp_path / "runs"


@pytest.fixture
def run_module(
    request: pytest.FixtureRequest, runner_home: Path, runner_cache: Path, runner_env_store: Path
) -> Callable[..., RunResult]:
    """Run a module spec with python-named values; returns its RunResult (a failed module is a
    result to assert on, not an exception). Output is captured by pytest, not streamed."""
    default_env = request.config.getoption("runner_env")
    test_dir = request.path.parent
    rootdir = request.config.rootpath
    runs = request.node.stash.setdefault(_RUNS, [])

    def run(
        spec: str | os.PathLike[str],
        /,
        outputs: Mapping[str, object] | None = None,
        *,
        env: str | None = None,
        timeout: float | None = None,
        force: bool = False,
        **values: object,
    ) -> RunResult:
        base = spec_base(spec, test_dir, rootdir)
        options = RunOptions(
            runs_root=runner_home,
            base_dir=base,
            cache_dir=runner_cache,
            env_dir=runner_env_store,
            env=env or default_env,
            timeout=timeout,
            force=force,
        )
        loaded = load_module_spec(spec, base=base)
        result = run_spec(loaded, values, outputs, options)
        runs.append(result)
        return result

    return run


def spec_base(spec: str | os.PathLike[str], test_dir: Path, rootdir: Path) -> Path:
    """The folder a relative spec path is taken from: the test file's, else the rootdir when
    the file is there (a name found in neither is reported against the test file's folder)."""
    written = os.fspath(spec).removeprefix("file:")
    for base in (test_dir, rootdir):
        if (base / written).is_file():
            return base
    return test_dir
