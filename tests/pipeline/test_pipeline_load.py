"""The YAML loader: every binding form, modules of all three generations, exact errors."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest

import runner
from runner.errors import PipelineError, SpecError
from runner.pipeline.inputs import bind_inputs
from runner.pipeline.load import load_pipeline
from runner.pipeline.model import Literal, ParentInput, PipelineInput, PipelineOutput, StepOutput
from runner.spec.load import load_spec, pipeline_marker
from runner.spec.model import Generation
from runner.spec.source import parse_document

FIXTURES = Path(__file__).parent / "fixtures"
WritePipeline = Callable[..., Path]
HEAD = "type: pipeline\n"


def test_fixture_pipeline_mixes_all_three_generations() -> None:
    pipeline = load_pipeline(FIXTURES / "pipeline.yml")
    assert pipeline.source == FIXTURES / "pipeline.yml"
    assert pipeline.name == "pipeline"
    assert pipeline.display_name == "Split, train, score"
    assert pipeline.warnings == ()
    assert [(s.name, s.module.generation) for s in pipeline.steps] == [
        ("split", Generation.LEGACY),
        ("train", Generation.COMPONENT_2),
        ("score", Generation.CLI_V2),
    ]
    assert pipeline.inputs == (
        PipelineInput("ratings", "uri_folder", FIXTURES / "data" / "ratings"),
        PipelineInput("ratio", "number", 0.75),
    )
    split, train, score = pipeline.steps
    # Keys and output references are resolved to ORIGINAL names, whichever name was written.
    assert dict(split.bindings) == {
        "Input path": ParentInput("ratings"),
        "Ratio": ParentInput("ratio"),
    }
    assert dict(train.bindings) == {
        "training_data": StepOutput("split", "Output train data"),
        "epochs": Literal(3),
    }
    assert dict(train.outputs) == {"model": None}
    assert dict(score.bindings) == {
        "model": StepOutput("train", "model"),
        "test_data": StepOutput("split", "Output test data"),
    }
    assert dict(score.environment_variables) == {"SCORE_LABEL": "fixture run"}
    assert pipeline.outputs == (PipelineOutput("scores", "score", "scores"),)


def test_the_model_is_frozen() -> None:
    step = load_pipeline(FIXTURES / "pipeline.yml").steps[0]
    with pytest.raises(TypeError):
        step.bindings["Ratio"] = Literal(0.5)  # type: ignore[index]


def test_literal_forms_and_paths_relative_to_the_pipeline_file(
    write_pipeline: WritePipeline, workspace: Path
) -> None:
    (workspace / "sub").mkdir()
    path = write_pipeline(
        """\
        type: pipeline
        jobs:
          a:
            component: ../split/split.yaml
            inputs: {Input path: ../data/ratings, ratio: 0.5}
          b:
            component: ../../ws/split/split.yaml
            inputs:
              input_path: {type: uri_folder, path: ../data/ratings, mode: ro_mount}
              ratio: "0.25"
          c:
            component: file:../split/split.yaml
            inputs:
              input_path: {path: "${{parent.jobs.a.outputs.output_test_data}}"}
              ratio:
        """,
        name="sub/p.yml",
    )
    a, b, c = load_pipeline(path).steps
    ratings = workspace / "data" / "ratings"
    assert dict(a.bindings) == {"Input path": Literal(ratings), "Ratio": Literal(0.5)}
    assert dict(b.bindings) == {"Input path": Literal(ratings), "Ratio": Literal("0.25")}
    assert dict(c.bindings) == {"Input path": StepOutput("a", "Output test data")}
    assert a.module is b.module is c.module  # one load per component file


def test_pipeline_input_forms(write_pipeline: WritePipeline, workspace: Path) -> None:
    path = write_pipeline(
        """\
        type: pipeline
        inputs:
          ratio: 0.75
          count: 3
          flag: true
          title: hello world
          empty:
          typed: {type: number, default: 1}
          as_text: {type: integer, default: "7", description: seven}
          no_value: {type: boolean, optional: true}
          table: {type: uri_file, path: data/ratings/ratings.csv}
          folder: {type: uri_folder, mode: ro_mount}
          legacy: {type: AnyDirectory, path: ./data}
          untyped: {path: ./data}
        jobs:
          a: {component: ./split/split.yaml}
        """
    )
    assert load_pipeline(path).inputs == (
        PipelineInput("ratio", "number", 0.75),
        PipelineInput("count", "integer", 3),
        PipelineInput("flag", "boolean", True),
        PipelineInput("title", "string", "hello world"),
        PipelineInput("empty", "string"),
        PipelineInput("typed", "number", 1.0),
        PipelineInput("as_text", "integer", 7, description="seven"),
        PipelineInput("no_value", "boolean", optional=True),
        PipelineInput("table", "uri_file", workspace / "data" / "ratings" / "ratings.csv"),
        PipelineInput("folder", "uri_folder"),
        PipelineInput("legacy", "AnyDirectory", workspace / "data"),
        PipelineInput("untyped", "path", workspace / "data"),
    )


def test_output_forms(write_pipeline: WritePipeline, workspace: Path) -> None:
    path = write_pipeline(
        """\
        type: pipeline
        outputs:
          train_rows: {type: uri_folder, path: ./results/train}
          test_rows: ${{parent.jobs.a.outputs.Output test data}}
        jobs:
          a:
            component: ./split/split.yaml
            outputs:
              output_train_data: ${{ parent.outputs.train_rows }}
              Output test data: {type: uri_folder, path: ./kept}
          b:
            component: ./split/split.yaml
            outputs:
              output_train_data: {type: uri_folder}
              output_test_data: ./elsewhere
        """
    )
    pipeline = load_pipeline(path)
    a, b = pipeline.steps
    assert dict(a.outputs) == {
        "Output train data": str(workspace / "results" / "train"),
        "Output test data": str(workspace / "kept"),
    }
    assert dict(b.outputs) == {
        "Output train data": None,
        "Output test data": str(workspace / "elsewhere"),
    }
    assert pipeline.outputs == (
        PipelineOutput("train_rows", "a", "Output train data"),
        PipelineOutput("test_rows", "a", "Output test data"),
    )


def test_unknown_and_cloud_only_keys_are_warnings(write_pipeline: WritePipeline) -> None:
    path = write_pipeline(
        """\
        type: pipeline
        experiment_name: local
        settings: {default_compute: azureml:cpu}
        compute: azureml:cpu
        job: {}
        jobs:
          a:
            component: ./split/split.yaml
            compute: azureml:gpu
            limits: {timeout: 60, max_trials: 3}
            environment_variable: {X: "1"}
            inputs:
              input_path: {type: uri_folder, path: ./data, moed: ro_mount}
        """
    )
    pipeline = load_pipeline(path)
    assert pipeline.steps[0].module.timeout == 60  # limits.timeout is honoured
    assert [str(w) for w in pipeline.warnings] == [
        f"{path}:5:6: job: unknown key 'job' is ignored (did you mean 'jobs'?)",
        f"{path}:3:11: settings: 'settings' has no effect in a local run; ignored",
        f"{path}:4:10: compute: 'compute' has no effect in a local run; ignored",
        f"{path}:11:27: jobs.a.environment_variable: unknown key 'environment_variable'"
        " is ignored (did you mean 'environment_variables'?)",
        f"{path}:9:14: jobs.a.compute: 'compute' has no effect in a local run; ignored",
        f"{path}:10:39: jobs.a.limits.max_trials: unknown key 'max_trials' is ignored",
        f"{path}:13:58: jobs.a.inputs.input_path.moed: unknown key 'moed' is ignored"
        " (did you mean 'mode'?)",
    ]


ERRORS = {
    "glued flow mapping": (
        "type: pipeline\njobs:[a]\n",
        "{p}:2:1: invalid YAML: could not find expected ':' (while scanning a simple key)\n"
        "  hint: `jobs:[` is not a key: put a space after the colon (`jobs: [`)",
    ),
    "a module spec": (
        "type: command\nname: m\ncommand: echo\n",
        "{p}:1:1: this is a module spec, not a pipeline\n  hint: run it with `runner run`",
    ),
    "not a pipeline": (
        "jobs: {}\n",
        "{p}:1:1: not a pipeline job: expected `type: pipeline`\n"
        "  hint: a pipeline job has `type: pipeline` and a `jobs` mapping of steps",
    ),
    "no jobs": (
        HEAD,
        "{p}:1:1: missing required field 'jobs' (the steps of the pipeline)",
    ),
    "empty jobs": (
        HEAD + "jobs: {}\n",
        "{p}:2:7: jobs: expected at least one job, found a mapping",
    ),
    "bad job name": (
        HEAD + "jobs:\n  2nd: {component: ./split/split.yaml}\n",
        "{p}:3:8: jobs.2nd: job name '2nd' is not valid\n"
        "  hint: start with a letter or '_', then letters, digits, '_' or '-'",
    ),
    "registered component": (
        HEAD + "jobs:\n  a: {component: 'azureml:split:1'}\n",
        "{p}:3:18: jobs.a.component: step 'a': no registered module is named 'split'\n"
        "  hint: `runner module list` lists them; `runner module register SOURCE` adds one",
    ),
    "registered latest": (
        HEAD + "jobs:\n  a: {component: azureml:split@latest}\n",
        "{p}:3:18: jobs.a.component: step 'a': no registered module is named 'split'\n"
        "  hint: `runner module list` lists them; `runner module register SOURCE` adds one",
    ),
    "inline component without a name": (
        HEAD + "jobs:\n  a: {component: {type: command, command: echo}}\n",
        "{p}:3:18: step 'a': inline component: missing required field 'name' (the"
        " component's name)",
    ),
    "inline component of another type": (
        HEAD + "jobs:\n  a: {component: {type: sweep, name: s}}\n",
        "{p}:3:18: jobs.a.component: step 'a': an inline component needs `type: command`\n"
        "  hint: or put the component in its own file: `component: ./file.yml`",
    ),
    "inline command job": (
        HEAD + "jobs:\n  a: {type: command, command: echo hi}\n",
        "{p}:3:6: jobs.a: job 'a' has no component\n  hint: inline command jobs are not"
        " supported: put the command in a component file and name it with"
        " `component: ./file.yml`",
    ),
    "sweep job": (
        HEAD + "jobs:\n  a: {type: sweep, component: ./split/split.yaml}\n",
        "{p}:3:13: jobs.a.type: job type 'sweep' cannot run locally\n"
        "  hint: steps are `type: command` (or parallel) jobs running a component",
    ),
    "component missing": (
        HEAD + "jobs:\n  a: {component: ./nope.yml}\n",
        "{p}:3:18: jobs.a.component: step 'a': cannot load component './nope.yml':"
        " {ws}/nope.yml: spec file not found",
    ),
    "component broken": (
        HEAD + "jobs:\n  a: {component: ./broken.yml}\n",
        "{p}:3:18: jobs.a.component: step 'a': cannot load component './broken.yml':"
        " {ws}/broken.yml:1:7: type: this is a pipeline job, not a module\n"
        "  hint: run it with `runner pipeline run` (a pipeline cannot be a step of another one)",
    ),
    "expression inside text": (
        HEAD + "jobs:\n  a:\n    component: ./split/split.yaml\n"
        "    inputs: {ratio: 'x ${{parent.inputs.r}}'}\n",
        "{p}:5:21: jobs.a.inputs.ratio: a `${{...}}` binding must be the whole value\n"
        "  hint: write ${{parent.inputs.<name>}} or ${{parent.jobs.<step>.outputs.<output>}}"
        " on its own",
    ),
    "unknown expression": (
        HEAD + "jobs:\n  a:\n    component: ./split/split.yaml\n"
        "    inputs: {ratio: '${{parent.jobs.b.inputs.r}}'}\n",
        "{p}:5:21: jobs.a.inputs.ratio: unknown binding `${{parent.jobs.b.inputs.r}}`\n"
        "  hint: bindings are ${{parent.inputs.<name>}} or"
        " ${{parent.jobs.<step>.outputs.<output>}}",
    ),
    "pipeline output as an input": (
        HEAD + "jobs:\n  a:\n    component: ./split/split.yaml\n"
        "    inputs: {ratio: '${{parent.outputs.r}}'}\n",
        "{p}:5:21: jobs.a.inputs.ratio: `${{parent.outputs...}}` binds a step OUTPUT; an"
        " input takes ${{parent.inputs.<name>}} or ${{parent.jobs.<step>.outputs.<output>}}",
    ),
    "input bound twice": (
        HEAD + "jobs:\n  a:\n    component: ./split/split.yaml\n"
        "    inputs: {Ratio: 0.5, ratio: 0.6}\n",
        "{p}:5:33: jobs.a.inputs.ratio: input 'Ratio' is bound twice: as 'Ratio' and as"
        " 'ratio'\n  hint: bind it once, by either name",
    ),
    "long form without path": (
        HEAD + "jobs:\n  a:\n    component: ./split/split.yaml\n"
        "    inputs: {input_path: {type: uri_folder}}\n",
        "{p}:5:26: jobs.a.inputs.input_path: missing required field 'path'\n"
        "  hint: give a path or ${{parent.inputs.<name>}} or"
        " ${{parent.jobs.<step>.outputs.<output>}}",
    ),
    "remote data": (
        HEAD + "jobs:\n  a:\n    component: ./split/split.yaml\n"
        "    inputs: {input_path: 'azureml:ratings:1'}\n",
        "{p}:5:26: jobs.a.inputs.input_path: remote data 'azureml:ratings:1' is not"
        " available offline\n  hint: use a local path instead",
    ),
    "remote pipeline input": (
        HEAD + "inputs:\n  d: {type: uri_folder, path: 'https://x/y'}\n"
        "jobs:\n  a: {component: ./split/split.yaml}\n",
        "{p}:3:31: inputs.d.path: remote data 'https://x/y' is not available offline\n"
        "  hint: use a local path instead",
    ),
    "pipeline input without type": (
        HEAD + "inputs:\n  d: {optional: true}\njobs:\n  a: {component: ./split/split.yaml}\n",
        "{p}:3:6: inputs.d: missing required field 'type' (the input's type)",
    ),
    "bad typed default": (
        HEAD + "inputs:\n  n: {type: integer, default: many}\n"
        "jobs:\n  a: {component: ./split/split.yaml}\n",
        "{p}:3:31: inputs.n.default: expected an integer, found string 'many'",
    ),
    "unbound pipeline output": (
        HEAD
        + "outputs:\n  final: {type: uri_folder}\njobs:\n  a: {component: ./split/split.yaml}\n",
        "{p}:3:10: outputs.final: pipeline output 'final' is not bound to any step output\n"
        "  hint: bind it here as ${{parent.jobs.<step>.outputs.<output>}}, or in a step's"
        " outputs as ${{parent.outputs.final}}",
    ),
    "pipeline output bound twice": (
        HEAD + "outputs:\n  final: ${{parent.jobs.a.outputs.output_test_data}}\n"
        "jobs:\n  a:\n    component: ./split/split.yaml\n"
        "    outputs: {output_train_data: '${{parent.outputs.final}}'}\n",
        "{p}:3:10: outputs.final: pipeline output 'final' is bound twice: also to"
        " a.Output train data (jobs.a.outputs.output_train_data, line 7)",
    ),
    "step output bound to a job output": (
        HEAD + "jobs:\n  a:\n    component: ./split/split.yaml\n"
        "    outputs: {output_train_data: '${{parent.inputs.x}}'}\n",
        "{p}:5:34: jobs.a.outputs.output_train_data: a step output is bound to a pipeline"
        " output: `${{parent.outputs.<name>}}`",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_name_file_line_column_and_field(
    case: str, write_pipeline: WritePipeline, workspace: Path
) -> None:
    text, expected = ERRORS[case]
    (workspace / "broken.yml").write_text("type: pipeline\njobs: {}\n")
    path = write_pipeline(text)
    with pytest.raises(SpecError) as caught:
        load_pipeline(path)
    assert str(caught.value) == expected.replace("{p}", str(path)).replace("{ws}", str(workspace))


def test_load_spec_still_refuses_pipelines_and_the_marker_finds_them(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    path.write_text("type: pipeline\njobs: {}\n")
    with pytest.raises(SpecError, match="this is a pipeline job, not a module"):
        load_spec(path)
    marker = pipeline_marker(parse_document(path, "type: pipeline@1\n").root)
    assert marker is not None and marker.path == ("type",)
    schema = "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\n"
    assert pipeline_marker(parse_document(path, schema).root) is not None
    assert pipeline_marker(parse_document(path, schema + "type: command\n").root) is None
    assert pipeline_marker(parse_document(path, "- a\n").root) is None


def test_api_load_pipeline_gives_a_handle_that_delegates_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handle = runner.load_pipeline(FIXTURES / "pipeline.yml")
    assert isinstance(handle.pipeline, runner.Pipeline)
    handle.validate()
    calls: list[tuple[object, dict[str, object]]] = []
    fake = types.ModuleType("runner.pipeline.run")
    fake.run_pipeline = lambda pipeline, **options: calls.append((pipeline, options)) or "done"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "runner.pipeline.run", fake)
    assert handle.run(force=True, quiet=True) == "done"
    assert calls == [(handle.pipeline, {"force": True})]


def test_values_given_at_run_time_replace_defaults(tmp_path: Path) -> None:
    pipeline = load_pipeline(FIXTURES / "pipeline.yml")
    bound = bind_inputs(pipeline, {"ratio": "0.5", "ratings": "data"}, tmp_path)
    assert bound.inputs == (
        PipelineInput("ratings", "uri_folder", tmp_path / "data"),
        PipelineInput("ratio", "number", 0.5),
    )
    assert bound.steps == pipeline.steps
    with pytest.raises(PipelineError) as caught:
        bind_inputs(pipeline, {"ratoi": 1, "ratio": "x", "ratings": 3}, tmp_path)
    assert caught.value.problems == (
        "unknown pipeline input 'ratoi' (did you mean 'ratio'?); pipeline inputs: ratings, ratio",
        "pipeline input 'ratings': expected a path, got 3",
        "pipeline input 'ratio': expected a finite number, got 'x'",
    )
