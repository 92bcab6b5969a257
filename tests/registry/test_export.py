"""`runner pipeline export`: the exported program (or notebook) builds the same pipeline, with
the same steps, bindings and cache keys, from registered and file modules."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from registry_helpers import Cli, Json, MakeModule

from runner.pipeline.dryrun import dry_run
from runner.pipeline.load import load_pipeline
from runner.pipeline.model import Binding, ParentInput, Pipeline
from runner.pipeline.run import run_pipeline
from runner.spec.names import python_name

CONSUMER = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: joiner
version: "1"
inputs:
  said: {type: uri_folder}
  extra: {type: uri_file}
  times: {type: integer, default: 1}
outputs:
  joined: {type: uri_file}
command: >-
  python -c "import sys, pathlib; a = pathlib.Path(sys.argv[1], 'said.txt').read_text();
  b = pathlib.Path(sys.argv[2]).read_text();
  pathlib.Path(sys.argv[4]).write_text((a + b) * int(sys.argv[3]))"
  ${{inputs.said}} ${{inputs.extra}} ${{inputs.times}} ${{outputs.joined}}
"""
PIPELINE = """\
type: pipeline
display_name: Echo and join
inputs:
  word: hi
  how-many: 2
outputs:
  result:
    type: uri_file
jobs:
  say:
    component: azureml:echo
    inputs:
      text: ${{parent.inputs.word}}
  say-again:
    component: azureml:echo@latest
    environment_variables: {GREETING: hello}
  join:
    component: ./modules/joiner.yaml
    inputs:
      said: ${{parent.jobs.say.outputs.out}}
      extra: ./data/extra.txt
      times: ${{parent.inputs.how-many}}
    outputs:
      joined: ${{parent.outputs.result}}
"""


@pytest.fixture
def pipeline_file(make_module: MakeModule, run_json: Json, tmp_path: Path) -> Path:
    run_json("module", "register", make_module(version="1.0.0", tag="v1"))
    run_json("module", "register", make_module(version="2.0.0", tag="v2"))
    folder = tmp_path / "project"
    (folder / "modules").mkdir(parents=True)
    (folder / "data").mkdir()
    (folder / "modules" / "joiner.yaml").write_text(CONSUMER)
    (folder / "data" / "extra.txt").write_text("!")
    (folder / "pipeline.yml").write_text(PIPELINE)
    return folder / "pipeline.yml"


def python_named(bindings: Mapping[str, Binding]) -> dict[str, Binding]:
    """Pipeline inputs are function parameters in Python: `how-many` becomes `how_many`."""
    return {
        key: ParentInput(python_name(b.name)) if isinstance(b, ParentInput) else b
        for key, b in bindings.items()
    }


def same_pipeline(exported: Pipeline, loaded: Pipeline) -> None:
    assert exported.name == loaded.name
    assert [s.name for s in exported.steps] == [s.name for s in loaded.steps]
    for built, read in zip(exported.steps, loaded.steps, strict=True):
        assert built.module == read.module
        assert dict(built.bindings) == python_named(read.bindings)
        assert dict(built.environment_variables) == dict(read.environment_variables)
    assert [(i.name.replace("-", "_"), i.default) for i in loaded.inputs] == [
        (i.name, i.default) for i in exported.inputs
    ]
    assert [(o.name, o.step, o.output) for o in exported.outputs] == [
        (o.name, o.step, o.output) for o in loaded.outputs
    ]


def test_export_to_python_round_trips(pipeline_file: Path, run_cli: Cli, tmp_path: Path) -> None:
    program = tmp_path / "elsewhere" / "echo_join.py"
    program.parent.mkdir()
    code, out, err = run_cli("pipeline", "export", pipeline_file, "--to", "py", "-o", program)
    assert code == 0, err
    assert out.strip() == f"wrote {program}"
    text = program.read_text()
    assert 'runner.load_module("echo@1.0.0")' in text  # the version the pipeline resolved
    assert 'runner.load_module(HERE / "../project/modules/joiner.yaml")' in text
    assert 'extra=HERE / "../project/data/extra.txt"' in text
    assert 'say_again.environment_variables = {"GREETING": "hello"}' in text
    compile(text, str(program), "exec")
    loaded = load_pipeline(pipeline_file)
    first = run_pipeline(loaded, runs_root=tmp_path / "runs")
    assert first.ok
    assert Path(first.outputs["result"]).read_text() == "HI v1!HI v1!"
    exported = runpy.run_path(str(program))["pipeline"].pipeline
    same_pipeline(exported, loaded)
    # Same cache keys: every step of the exported pipeline would come from the cache.
    assert {p.name: p.would for p in dry_run(exported).steps} == {
        "say": "hit", "say-again": "hit", "join": "hit",
    }  # fmt: skip
    # Run as a program, it runs the pipeline (all cached) and exits 0.
    done = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    status, _, run_dir = done.stdout.strip().partition(": ")
    assert status == "succeeded"
    record = json.loads(Path(run_dir, "pipeline.json").read_text())
    assert {s["status"] for s in record["steps"].values()} == {"cached"}


def test_export_to_a_notebook_has_a_cell_per_step(
    pipeline_file: Path, run_json: Json, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = tmp_path / "elsewhere" / "echo_join.ipynb"
    notebook.parent.mkdir()
    written = run_json("pipeline", "export", pipeline_file, "--to", "ipynb", "-o", notebook)
    assert written == {"pipeline": "pipeline", "to": "ipynb", "file": str(notebook)}
    cells = json.loads(notebook.read_text())["cells"]
    steps = [c for c in cells if "".join(c["source"]).startswith("# Step ")]
    assert [("".join(c["source"]).splitlines()[0]) for c in steps] == [
        "# Step say: echo:1.0.0",
        "# Step say-again: echo:2.0.0",
        "# Step join: joiner:1",
    ]
    # Executed cell by cell from the notebook's folder, it builds the same pipeline.
    monkeypatch.chdir(notebook.parent)
    namespace: dict[str, object] = {}
    for cell in cells[1:-1]:
        exec("".join(cell["source"]), namespace)
    built = namespace["pipeline"]
    same_pipeline(built.pipeline, load_pipeline(pipeline_file))  # type: ignore[attr-defined]


def test_export_to_stdout_by_default(pipeline_file: Path, run_cli: Cli) -> None:
    code, out, err = run_cli("pipeline", "export", pipeline_file)
    assert code == 0, err
    assert out.startswith('"""Echo and join, built with runner\'s Python DSL.')
    assert '@runner.pipeline(name="pipeline")' in out
    assert out.count("runner.load_module(") == 3
    code, out, err = run_cli("pipeline", "export", pipeline_file, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["file"] is None and data["text"].startswith('"""Echo and join')
