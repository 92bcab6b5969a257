"""Registered modules wherever a spec is accepted: `runner run/render/show/validate/explain`,
pipeline files, the Python DSL; default, pinned and latest versions; disabled versions;
unknown names with close matches."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from registry_helpers import Cli, Json, MakeModule

import runner
from runner.errors import RunnerError
from runner.pipeline.load import load_pipeline
from runner.pipeline.run import run_pipeline


def said(result: object, output: str = "out") -> str:
    assert isinstance(result, dict)
    return Path(result["outputs"][output], "said.txt").read_text()


@pytest.fixture
def two_versions(make_module: MakeModule, run_json: Json) -> None:
    """echo 1.0.0 (the default, says v1) and echo 2.0.0 (registered last, says v2)."""
    run_json("module", "register", make_module(version="1.0.0", tag="v1"))
    run_json("module", "register", make_module(version="2.0.0", tag="v2"))


@pytest.mark.usefixtures("two_versions")
def test_run_resolves_default_pinned_and_latest_versions(run_json: Json) -> None:
    assert said(run_json("run", "echo", "-i", "text=a")) == "A v1"
    assert said(run_json("run", "echo@2.0.0", "-i", "text=a")) == "A v2"
    assert said(run_json("run", "echo@latest", "-i", "text=a")) == "A v2"
    assert said(run_json("run", "azureml:echo:2.0.0", "-i", "text=a")) == "A v2"
    assert said(run_json("run", "azureml:echo", "-i", "text=a")) == "A v1"
    run_json("module", "set-default", "echo", "2.0.0")
    assert said(run_json("run", "echo", "-i", "text=b")) == "B v2"


@pytest.mark.usefixtures("two_versions")
def test_render_show_validate_and_explain_take_names(run_cli: Cli, run_json: Json) -> None:
    argv = run_json("render", "echo@2.0.0", "-i", "text=x", "--workdir", "run")["argv"]
    assert argv[-2:] == ["x", str(Path("run/outputs/out").resolve())]
    assert run_json("show", "echo")["version"] == "1.0.0"
    code, out, err = run_cli("validate", "echo", "echo@2.0.0")
    assert code == 0, err
    assert out.count("ok: echo") == 2
    explained = run_json("explain", "echo", "-i", "text=x")
    assert explained["would_hit"] is False


@pytest.mark.usefixtures("two_versions")
def test_unknown_names_list_close_matches(
    run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run_cli("run", "ecoh")
    assert code == 2
    assert (
        "'ecoh' is not a file, and no registered module is named 'ecoh'; close matches: echo" in err
    )
    assert "Traceback" not in err
    code, _, err = run_cli("run", "echo@3.0")
    assert code == 2 and "echo has no version '3.0' (registered: 1.0.0, 2.0.0)" in err
    code, _, err = run_cli("run", "missing.yaml")
    assert code == 2 and "spec file not found" in err
    monkeypatch.chdir(tmp_path)
    (tmp_path / "echo").mkdir()
    code, out, err = run_cli("show", "echo")  # a folder named like the module: the module wins
    assert "echo module" in out
    assert code == 0, err


@pytest.mark.usefixtures("two_versions")
def test_disabled_versions_refuse_new_runs_and_say_what_to_use(
    run_cli: Cli, run_json: Json
) -> None:
    first = run_json("run", "echo@2.0.0", "-i", "text=c")
    changed = run_json("module", "disable", "echo@2.0.0")
    assert changed["changed"] == ["2.0.0"] and changed["status"] == "partly disabled"
    code, _, err = run_cli("run", "echo@2.0.0", "-i", "text=c")
    assert code == 2
    assert "echo 2.0.0 is disabled: it cannot start new runs" in err
    assert "use the default version instead: echo@1.0.0" in err
    # @latest skips it; inspecting it and explaining its past runs still work.
    assert said(run_json("run", "echo@latest", "-i", "text=c")) == "C v1"
    assert run_json("show", "echo@2.0.0")["version"] == "2.0.0"
    assert run_json("explain", "echo@2.0.0", "-i", "text=c")["would_hit"] is True
    assert run_json("module", "show", "echo@2.0.0")["registered"]["status"] == "disabled"
    listing = run_json("module", "list")["modules"]
    assert listing[0]["versions"] == ["1.0.0"]
    assert run_json("module", "list", "--all")["modules"][0]["versions"] == ["1.0.0", "2.0.0"]
    # The whole module, then back.
    code, _, err = run_cli("module", "disable", "echo")
    assert code == 0 and "default version of echo (1.0.0) is disabled" in err
    code, _, err = run_cli("run", "echo", "-i", "text=c")
    assert code == 2 and "enable it again: runner module enable echo@1.0.0" in err
    assert run_json("module", "list")["modules"] == []
    assert run_json("module", "enable", "echo")["changed"] == ["1.0.0", "2.0.0"]
    again = run_json("run", "echo@2.0.0", "-i", "text=c")
    assert again["status"] == "cached" and again["cache_key"] == first["cache_key"]


PIPELINE = """\
type: pipeline
inputs:
  word: hi
jobs:
  first:
    type: command
    component: {first}
    inputs:
      text: ${{{{parent.inputs.word}}}}
  second:
    type: command
    component: {second}
    inputs:
      text: ${{{{parent.inputs.word}}}}
"""


@pytest.mark.usefixtures("two_versions")
def test_pipelines_resolve_registered_components(tmp_path: Path, run_json: Json) -> None:
    path = tmp_path / "pipeline.yml"
    path.write_text(PIPELINE.format(first="azureml:echo", second="'azureml:echo:2.0.0'"))
    result = run_pipeline(load_pipeline(path), runs_root=tmp_path / "runs")
    assert result.ok
    assert Path(result.steps["first"].outputs["out"], "said.txt").read_text() == "HI v1"
    assert Path(result.steps["second"].outputs["out"], "said.txt").read_text() == "HI v2"
    # Legacy-style references name a registered module too; @latest is the newest.
    path.write_text(
        PIPELINE.format(first="{name: echo, version: 2.0.0}", second="azureml:echo@latest")
    )
    pipeline = load_pipeline(path)
    assert [s.module.version for s in pipeline.steps] == ["2.0.0", "2.0.0"]
    run_json("module", "disable", "echo@2.0.0")
    with pytest.raises(
        RunnerError, match=r"jobs.first.component: step 'first': echo 2.0.0 is disabled"
    ):
        load_pipeline(path)


@pytest.mark.usefixtures("two_versions")
def test_the_dsl_loads_registered_modules(tmp_path: Path) -> None:
    echo = runner.load_module("echo")
    newer = runner.load_module("azureml:echo:2.0.0")

    @runner.pipeline
    def twice(word="hey"):
        return {"old": echo(text=word).outputs.out, "new": newer(text=word).outputs.out}

    result = twice().run(runs_root=tmp_path / "runs")
    assert result.ok
    assert Path(result.outputs["old"], "said.txt").read_text() == "HEY v1"
    assert Path(result.outputs["new"], "said.txt").read_text() == "HEY v2"


def test_names_with_a_namespace_and_spaces(tmp_path: Path, run_json: Json, run_cli: Cli) -> None:
    """A legacy module: namespace + free-text name; addressed in full or by its name alone."""
    folder = tmp_path / "legacy"
    folder.mkdir()
    (folder / "count.py").write_text(
        "import sys, pathlib\npathlib.Path(sys.argv[1], 'n.txt').write_text('3')\n"
    )
    (folder / "count.yaml").write_text(
        textwrap.dedent("""\
        amlModuleIdentifier:
          namespace: team/tools
          moduleName: Count Things
          moduleVersion: 0.1.0
        outputs:
        - {name: Counted, type: AnyDirectory}
        implementation:
          container:
            command: [python, count.py]
            args: [{outputPath: Counted}]
        """)
    )
    done = run_json("module", "register", folder)
    assert done["name"] == "team/tools/Count Things"
    for ref in (
        "team/tools/Count Things@0.1.0",
        "Count Things",
        "azureml:team/tools/Count Things:0.1.0",
    ):
        result = run_json("run", ref)
        assert Path(result["outputs"]["counted"], "n.txt").read_text() == "3"
    assert (
        json.loads(run_cli("module", "list", "--namespace", "team/tools", "--json")[1])["modules"][
            0
        ]["name"]
        == "team/tools/Count Things"
    )
    assert run_json("module", "list", "--namespace", "other")["modules"] == []
