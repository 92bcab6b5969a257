"""The `runner` pytest plugin, exercised in a separate pytest run (pytester)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SPEC = """\
$schema: http://azureml/sdk-2-0/CommandComponent.json
type: CommandComponent
name: upper
version: 1
inputs: {text: {type: String}}
outputs: {out: {type: AnyDirectory}}
command: >-
  python -c "import sys; from pathlib import Path;
  Path(sys.argv[2], 'upper.txt').write_text(sys.argv[1].upper())" {inputs.text} {outputs.out}
"""


def test_run_module_fixture_runs_and_caches(pytester: pytest.Pytester) -> None:
    # In a folder of its own: pytester writes the subprocess's stdout and stderr beside the
    # test file, and a file appearing in the module's folder changes its snapshot.
    (pytester.path / "modules").mkdir()
    (pytester.path / "modules" / "upper.yaml").write_text(SPEC)
    pytester.makepyfile(
        textwrap.dedent(
            """
            import os
            from pathlib import Path

            def test_first(run_module):
                result = run_module("modules/upper.yaml", text="two words")
                assert result.ok and not result.cached
                assert (result.outputs["out"] / "upper.txt").read_text() == "TWO WORDS"
                assert str(result.workdir).startswith(os.environ["RUNNER_RUNS_DIR"])

            def test_second_is_served_from_the_session_cache(run_module):
                assert run_module("modules/upper.yaml", text="two words").cached

            def test_failure_is_a_result(run_module, tmp_path):
                (tmp_path / "bad.yaml").write_text(
                    Path("modules/upper.yaml").read_text().replace("sys.argv[1].upper()", "1/0")
                )
                result = run_module(tmp_path / "bad.yaml", text="x")
                assert result.status.value == "failed"
            """
        )
    )
    outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    outcome.assert_outcomes(passed=3)
    assert not (Path.home() / ".cache" / "runner" / "upper").exists()
