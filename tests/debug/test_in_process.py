"""`runner.run_module(..., in_process=True)` and `runner run --in-process`: the module's script
runs in this interpreter, a breakpoint on its SOURCE line hits, and everything is put back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from debug_helpers import HELPER_LINE, SCRIPT_LINE, Project

import runner


def _trace_lines(watched: set[tuple[str, int]], hits: list[tuple[str, int]]) -> object:
    """A tracer as debuggers use (sys.settrace): it records the watched lines reached."""

    def local(frame: types.FrameType, event: str, arg: object) -> object:
        if event == "line" and (frame.f_code.co_filename, frame.f_lineno) in watched:
            hits.append((frame.f_code.co_filename, frame.f_lineno))
        return local

    def tracer(frame: types.FrameType, event: str, arg: object) -> object:
        return local if frame.f_code.co_filename in {f for f, _ in watched} else None

    return tracer


def test_breakpoints_on_the_source_lines_hit_and_state_is_restored(project: Project) -> None:
    watched = {(str(project.script), SCRIPT_LINE), (str(project.helper), HELPER_LINE)}
    hits: list[tuple[str, int]] = []
    argv, path, cwd, environ = sys.argv[:], sys.path[:], Path.cwd(), dict(os.environ)
    modules = set(sys.modules)
    sys.settrace(_trace_lines(watched, hits))  # type: ignore[arg-type]
    try:
        result = runner.run_module(project.spec, words=project.words, in_process=True, quiet=True)
    finally:
        sys.settrace(None)
    assert result.ok, result.log.read_text()
    assert sorted(hits) == sorted(watched)
    assert (result.outputs["out"] / "loud.txt").read_text() == "HELLO!"
    assert (sys.argv, sys.path, Path.cwd(), dict(os.environ)) == (argv, path, cwd, environ)
    assert "helpers.text" not in sys.modules and "helpers" not in sys.modules
    assert not {m for m in set(sys.modules) - modules if m.startswith("helpers")}
    record = json.loads((result.workdir / "run.json").read_text())
    assert record["backend"] == "in-process" and record["status"] == "succeeded"
    # Published as a subprocess run would be: the same module run again comes from the cache.
    assert runner.run_module(project.spec, words=project.words, quiet=True).cached


def test_what_the_module_sees(write_module: object, tmp_path: Path) -> None:
    spec = write_module(  # type: ignore[operator]
        """\
        $schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
        type: command
        name: probe
        version: 1
        inputs:
          label: {type: string}
        outputs:
          report: {type: uri_folder}
        code: .
        environment_variables:
          PROBE_SETTING: from the spec
        command: python -m probe --label ${{inputs.label}} --report ${{outputs.report}}
        """,
        {
            "probe/__init__.py": "",
            "probe/__main__.py": """\
                import json, os, sys
                from pathlib import Path
                report = Path(sys.argv[sys.argv.index("--report") + 1])
                (report / "seen.json").write_text(json.dumps({
                    "argv": sys.argv[1:], "cwd": os.getcwd(), "path0": sys.path[0],
                    "setting": os.environ.get("PROBE_SETTING"), "name": __name__,
                }))
                print("to stdout")
                """,
        },
    )
    result = runner.run_module(spec, label="two words", in_process=True, quiet=True)
    assert result.ok, result.log.read_text()
    seen = json.loads((result.outputs["report"] / "seen.json").read_text())
    snapshot = str(result.workdir / "snapshot")
    assert seen["argv"][:2] == ["--label", "two words"]
    assert seen["cwd"] == snapshot and seen["path0"] == snapshot
    assert seen["setting"] == "from the spec" and seen["name"] == "__main__"
    assert "PROBE_SETTING" not in os.environ
    assert " stdout to stdout" in result.log.read_text()


@pytest.mark.parametrize(
    ("body", "code"), [("raise SystemExit(3)", 3), ("import sys; sys.exit('why')", 1),
                       ("raise ValueError('bad')", 1), ("raise SystemExit(0)", 0)],
)  # fmt: skip
def test_exits_map_to_exit_codes(write_module: object, body: str, code: int) -> None:
    spec = write_module(  # type: ignore[operator]
        """\
        $schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
        type: command
        name: ending
        version: 1
        code: .
        command: python ending.py
        """,
        {"ending.py": body + "\n"},
    )
    result = runner.run_module(spec, in_process=True, quiet=True, cache=False)
    assert result.exit_code == code
    assert result.ok is (code == 0)
    if "ValueError" in body:
        log = result.log.read_text()
        assert "ValueError: bad" in log and "Traceback" in log


def test_refusals_name_the_flag_to_use(write_module: object, tmp_path: Path) -> None:
    spec = write_module(  # type: ignore[operator]
        """\
        $schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
        type: command
        name: shell
        version: 1
        command: echo hello
        """
    )
    with pytest.raises(runner.RunnerError, match="--in-process needs a python script"):
        runner.run_module(spec, in_process=True, quiet=True)
    with pytest.raises(runner.RunnerError, match="drop --in-process"):
        runner.run_module(spec, in_process=True, quiet=True, env="venv")
    done = subprocess.run(
        [sys.executable, "-m", "runner", "run", str(spec), "--in-process", "--env", "docker"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2 and "drop --in-process" in done.stderr, done.stderr


def test_the_cli_runs_in_process(project: Project) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runner", "run", str(project.spec), "-i",
         f"words={project.words}", "--in-process", "--json"],
        capture_output=True, text=True, check=False, cwd=project.root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert Path(result["outputs"]["out"], "loud.txt").read_text() == "HELLO!"
