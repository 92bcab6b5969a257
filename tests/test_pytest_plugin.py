"""The `runner` pytest plugin, exercised in separate pytest runs (pytester)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SPEC = """\
$schema: http://azureml/sdk-2-0/CommandComponent.json
type: CommandComponent
name: {name}
version: 1
inputs: {{text: {{type: String}}}}
outputs: {{out: {{type: AnyDirectory}}}}
command: >-
  python -c "import sys, time; from pathlib import Path; {body};
  Path(sys.argv[2], 'upper.txt').write_text(sys.argv[1].upper())" {{inputs.text}} {{outputs.out}}
"""

COUNT = """\
$schema: http://azureml/sdk-2-0/CommandComponent.json
type: CommandComponent
name: count
version: 1
inputs: {data: {type: AnyFile}}
outputs: {out: {type: AnyDirectory}}
command: >-
  python -c "import sys; from pathlib import Path;
  Path(sys.argv[2], 'n').write_text(str(len(Path(sys.argv[1]).read_text().split())))"
  {inputs.data} {outputs.out}
"""

SUITE = """
import json

def test_spec_next_to_the_test_file_runs_then_is_cached(run_module):
    result = run_module("modules/upper.yaml", text="two words")
    assert result.ok and not result.cached  # a fresh session: nothing from the last one
    assert (result.outputs["out"] / "upper.txt").read_text() == "TWO WORDS"
    assert run_module("modules/upper.yaml", text="two words").cached
    assert not run_module("modules/upper.yaml", text="two words", force=True).cached

def test_spec_under_the_rootdir(run_module):
    assert run_module("shared/at_root.yaml", text="x").ok

def test_relative_inputs_from_the_specs_folder(run_module):
    here = run_module("modules/count.yaml", data="data/words.txt")  # suite/data
    there = run_module("shared/count.yaml", data="data/words.txt")  # rootdir/data
    assert here.ok and there.ok, (here.message, there.message)
    assert (here.outputs["out"] / "n").read_text() == "3"
    assert (there.outputs["out"] / "n").read_text() == "5"

def test_env_and_timeout_per_call(run_module):
    result = run_module("shared/slow.yaml", text="x", env="host", timeout=0.5)
    assert "timed out after 0.5 s" in result.message, result.message
    record = json.loads((result.workdir / "run.json").read_text())
    assert record["environment"]["backend"] == "host"

def test_failure_shows_the_log_tail(run_module):
    result = run_module("modules/broken.yaml", text="x")
    assert result.ok
"""


def _layout(root: Path) -> Path:
    """rootdir/suite/test_suite.py with modules beside it, more specs under rootdir/shared,
    pytest started from rootdir/elsewhere: the cwd is never where a spec is looked up."""
    (root / "pytest.ini").write_text("[pytest]\n")
    suite, shared, elsewhere = root / "suite", root / "shared", root / "elsewhere"
    for folder in (suite / "modules", shared, elsewhere):
        folder.mkdir(parents=True)
    (suite / "modules" / "upper.yaml").write_text(SPEC.format(name="upper", body="pass"))
    (suite / "modules" / "broken.yaml").write_text(
        SPEC.format(name="broken", body="print('about to divide'); 1/0")
    )
    (shared / "at_root.yaml").write_text(SPEC.format(name="at_root", body="pass"))
    (shared / "slow.yaml").write_text(SPEC.format(name="slow", body="time.sleep(30)"))
    for base, words in ((suite, "a b c"), (root, "a b c d e")):
        (base / "data").mkdir()
        (base / "data" / "words.txt").write_text(words)
    (suite / "modules" / "count.yaml").write_text(COUNT)
    (shared / "count.yaml").write_text(COUNT)
    (suite / "test_suite.py").write_text(textwrap.dedent(SUITE))
    return elsewhere


def test_specs_results_options_and_log_tail(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(_layout(pytester.path))
    suite = str(pytester.path / "suite")
    for _ in range(2):  # the second session runs everything again: results are per session
        outcome = pytester.runpytest_subprocess(suite, "-p", "no:cacheprovider")
        outcome.assert_outcomes(passed=4, failed=1)
        report = outcome.stdout.str()
        assert "runner log tail" in report and "ZeroDivisionError" in report, report
        assert "about to divide" in report
    assert not (Path.home() / ".cache" / "runner" / "upper").exists()


ENV_SUITE = """
import json, os

def test_in_a_venv(run_module):
    result = run_module("module/m.yaml", text="x", env=os.environ.get("PER_CALL_ENV") or None)
    assert result.ok and not result.cached, result.status
    record = json.loads((result.workdir / "run.json").read_text())
    assert record["environment"]["backend"] == "venv"
"""


def test_environments_come_from_the_users_store(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, isolated_cache: Path
) -> None:
    # The module in a folder of its own: its snapshot holds neither the test file nor runs.
    (pytester.path / "module").mkdir()
    (pytester.path / "module" / "m.yaml").write_text(SPEC.format(name="in_venv", body="pass"))
    pytester.makepyfile(test_env=ENV_SUITE)
    monkeypatch.setenv("PER_CALL_ENV", "venv")
    pytester.runpytest_subprocess("test_env.py", "-p", "no:cacheprovider").assert_outcomes(passed=1)
    envs = isolated_cache / "envs"  # the user's store ($RUNNER_CACHE_DIR here)
    built = {str(path): path.stat().st_ino for path in envs.glob("*/*")}
    assert built, "no environment in the user's store"
    # --runner-env instead of env=; a new session: the result is not cached, the venv is reused.
    monkeypatch.delenv("PER_CALL_ENV")
    outcome = pytester.runpytest_subprocess(
        "test_env.py", "-p", "no:cacheprovider", "--runner-env", "venv"
    )
    outcome.assert_outcomes(passed=1)
    assert {str(path): path.stat().st_ino for path in envs.glob("*/*")} == built
    # --runner-cache-dir: results and environments kept there, across sessions.
    kept = pytester.path / "kept"
    args = ("test_env.py", "-p", "no:cacheprovider", "--runner-env", "venv")
    args += ("--runner-cache-dir", str(kept))
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)
    assert list((kept / "envs").glob("*/*"))
    pytester.runpytest_subprocess(*args).assert_outcomes(failed=1)  # the result was kept


MARKED = """
import pytest

@pytest.mark.docker
def test_needs_docker():
    pass

@pytest.mark.conda
def test_needs_conda():
    pass
"""


@pytest.mark.parametrize("ci", ["", "true"])
def test_markers_skip_without_the_tool_but_fail_in_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    pytester.makepyfile(test_marked=MARKED)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path / 'no-engine.sock'}")
    monkeypatch.setenv("RUNNER_CONDA", str(pytester.path / "no-conda"))
    monkeypatch.setenv("CI", ci)
    outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rsf")
    if ci:
        outcome.assert_outcomes(errors=2)  # at set-up: the test itself never started
        outcome.stdout.fnmatch_lines(["*needs a docker engine that answers, and CI is set*"])
    else:
        outcome.assert_outcomes(skipped=2)
        outcome.stdout.fnmatch_lines(["*needs conda, mamba or micromamba*"])
    assert os.environ["CI"] == ci
