"""Validation: every graph problem, each with its exact message, all reported at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runner.errors import PipelineError
from runner.pipeline.load import load_pipeline
from runner.pipeline.validate import FILE_INTO_FOLDER, check, port_mismatch, validate

WritePipeline = Callable[..., Path]
WriteModule = Callable[..., Path]

# The fixture modules: split (legacy: 'Input path' AnyDirectory, 'Ratio' Float 0..1 ->
# 'Output train data', 'Output test data' DataFrameDirectory), train (2.0: training_data
# DataFrameDirectory, epochs Integer >= 1 -> model ModelDirectory), score (v2: model and
# test_data uri_folder, top_k integer -> scores uri_file).
SPLIT = """\
  split:
    component: ./split/split.yaml
    inputs:
      input_path: ./data/ratings
"""
TRAIN = """\
  train:
    component: ./train/train.yaml
    inputs:
      training_data: ${{parent.jobs.split.outputs.output_train_data}}
"""


@pytest.fixture
def problems(write_pipeline: WritePipeline) -> Callable[[str], list[str]]:
    """The problems of a pipeline whose `jobs:` (and any top-level part before it) are given."""

    def run(text: str) -> list[str]:
        return check(load_pipeline(write_pipeline("type: pipeline\n" + text)))

    return run


def test_the_fixture_pipeline_is_valid(workspace: Path) -> None:
    validate(load_pipeline(workspace / "pipeline.yml"))


def test_unknown_step_and_output(problems: Callable[[str], list[str]]) -> None:
    assert problems(
        "jobs:\n"
        + SPLIT
        + """\
  train:
    component: ./train/train.yaml
    inputs:
      training_data: ${{parent.jobs.splt.outputs.output_train_data}}
  score:
    component: ./score/score.yml
    inputs:
      model: ${{parent.jobs.train.outputs.modle}}
      test_data: ${{parent.jobs.split.outputs.output_test_data}}
"""
    ) == [
        "step 'train', input 'training_data': unknown step 'splt' (did you mean 'split'?);"
        " steps: split, train, score",
        "step 'score', input 'model': step 'train' has unknown output 'modle'"
        " (did you mean 'model'?); outputs: 'model'",
    ]


def test_unknown_ports_and_parameters(problems: Callable[[str], list[str]]) -> None:
    assert problems(
        """\
jobs:
  split:
    component: ./split/split.yaml
    inputs:
      input_pth: ./data/ratings
      ratoi: 0.5
      Output train data: ./x
    outputs:
      output_trian_data:
"""
    ) == [
        "step 'split': unknown input 'input_pth' (did you mean 'input_path'?); inputs:"
        " 'Input path' (input_path), 'Ratio' (ratio)",
        "step 'split': unknown input 'ratoi' (did you mean 'ratio'?); inputs:"
        " 'Input path' (input_path), 'Ratio' (ratio)",
        "step 'split': 'Output train data' is an output, not an input: bind it under the"
        " step's outputs",
        "step 'split': missing required input 'Input path' (input_path)",
        "step 'split': unknown output 'output_trian_data' (did you mean 'output_train_data'?);"
        " outputs: 'Output train data' (output_train_data), 'Output test data' (output_test_data)",
    ]


def test_unknown_pipeline_input_and_inputs_without_values(
    problems: Callable[[str], list[str]],
) -> None:
    assert problems(
        """\
inputs:
  ratings: {type: uri_folder}
  ratio: 0.5
jobs:
  split:
    component: ./split/split.yaml
    inputs:
      input_path: ${{parent.inputs.ratings}}
      ratio: ${{parent.inputs.raito}}
  train:
    component: ./train/train.yaml
"""
    ) == [
        "step 'split', parameter 'Ratio' (ratio): unknown pipeline input 'raito'"
        " (did you mean 'ratio'?); pipeline inputs: ratings, ratio",
        "step 'split': required input 'Input path' (input_path) is bound to pipeline input"
        " 'ratings', which has no value",
        "step 'train': missing required input 'training_data'",
    ]


def test_cycles_are_named_from_their_first_defined_step(
    problems: Callable[[str], list[str]],
) -> None:
    assert problems(
        """\
jobs:
  score:
    component: ./score/score.yml
    inputs:
      model: ${{parent.jobs.train.outputs.model}}
      test_data: ${{parent.jobs.split.outputs.output_test_data}}
  split:
    component: ./split/split.yaml
    inputs:
      input_path: ${{parent.jobs.train.outputs.model}}
  train:
    component: ./train/train.yaml
    inputs:
      training_data: ${{parent.jobs.split.outputs.output_train_data}}
"""
    ) == ["cycle: split -> train -> split"]


def test_a_step_reading_its_own_output_is_a_cycle(problems: Callable[[str], list[str]]) -> None:
    assert problems(
        """\
jobs:
  split:
    component: ./split/split.yaml
    inputs:
      input_path: ${{parent.jobs.split.outputs.output_test_data}}
"""
    ) == ["cycle: split -> split"]


def test_the_message_of_a_custom_type_mismatch(
    problems: Callable[[str], list[str]], write_module: WriteModule
) -> None:
    write_module("evaluate", inputs={"Trained model": "ModelDirectory"})
    assert problems(
        "jobs:\n"
        + SPLIT
        + """\
  score:
    component: ./evaluate.yaml
    inputs:
      trained_model: ${{parent.jobs.split.outputs.output_train_data}}
"""
    ) == [
        "step 'score', input 'Trained model' (trained_model): ModelDirectory is not compatible"
        " with output 'split.output_train_data' (DataFrameDirectory)"
    ]


def test_a_file_cannot_feed_a_folder_input(
    problems: Callable[[str], list[str]], write_module: WriteModule
) -> None:
    write_module("table", outputs={"table": "AnyFile"})
    assert problems(
        """\
jobs:
  table:
    component: ./table.yaml
  split:
    component: ./split/split.yaml
    inputs:
      input_path: ${{parent.jobs.table.outputs.table}}
"""
    ) == [
        "step 'split', input 'Input path' (input_path): AnyDirectory is not compatible with"
        " output 'table.table' (AnyFile): a file cannot feed a folder input"
    ]


@pytest.mark.parametrize(
    ("output", "into", "reason"),
    [
        # Intersecting types, compared case-insensitively; lists accept any of theirs.
        (["DataFrameDirectory"], ["DataFrameDirectory"], None),
        (["dataframedirectory"], ["DataFrameDirectory"], None),
        (["ModelDirectory"], ["DataFrameDirectory", "ModelDirectory"], None),
        # Custom types must match exactly.
        (["DataFrameDirectory"], ["ModelDirectory"], ""),
        (["mlflow_model"], ["custom_model"], ""),
        # Folder wildcards take any folder, on either side.
        (["DataFrameDirectory"], ["AnyDirectory"], None),
        (["AnyDirectory"], ["ModelDirectory"], None),
        (["uri_folder"], ["ModelDirectory"], None),
        (["mltable"], ["uri_folder"], None),
        (["DataFrameDirectory"], ["mltable"], None),
        # File wildcards: files anywhere a file or either kind goes...
        (["AnyFile"], ["uri_file"], None),
        (["uri_file"], ["AnyFile"], None),
        (["AnyFile"], ["path"], None),
        (["uri_file"], ["custom_model"], None),
        # ...but never into a folder-only input.
        (["AnyFile"], ["AnyDirectory"], FILE_INTO_FOLDER),
        (["uri_file"], ["uri_folder"], FILE_INTO_FOLDER),
        # A custom type that is not registered takes a file or a folder.
        (["AnyFile"], ["DataFrameDirectory"], None),
        (["uri_file"], ["mltable"], FILE_INTO_FOLDER),
        # A folder may feed a file input: the run hands it the folder's single file.
        (["AnyDirectory"], ["AnyFile"], None),
        (["DataFrameDirectory"], ["uri_file"], None),
        # `path` is either kind.
        (["path"], ["AnyDirectory"], None),
        (["path"], ["AnyFile"], None),
        (["DataFrameDirectory"], ["path"], None),
        (["AnyFile"], ["AnyFile", "AnyDirectory"], None),
    ],
)
def test_port_type_rules(output: list[str], into: list[str], reason: str | None) -> None:
    assert port_mismatch(output, into) == reason


def test_values_are_checked_before_anything_runs(
    problems: Callable[[str], list[str]], workspace: Path
) -> None:
    csv = workspace / "data" / "ratings" / "ratings.csv"
    assert problems(
        f"""\
jobs:
  a:
    component: ./split/split.yaml
    inputs:
      input_path: ./missing
      ratio: abc
  b:
    component: ./split/split.yaml
    inputs:
      input_path: {csv}
      ratio: 1.5
  c:
    component: ./train/train.yaml
    inputs:
      training_data: ./data/ratings
      epochs: 0
"""
    ) == [
        f"step 'a', input 'Input path' (input_path): path {workspace}/missing does not exist",
        "step 'a', parameter 'Ratio' (ratio): expected a finite number, got 'abc'",
        f"step 'b', input 'Input path' (input_path) takes a folder (AnyDirectory), but {csv}"
        " is a file",
        "step 'b', parameter 'Ratio' (ratio): 1.5 is above the maximum 1.0",
        "step 'c', parameter 'epochs': 0 is below the minimum 1",
    ]


def test_pipeline_inputs_are_checked_against_what_they_feed(
    problems: Callable[[str], list[str]], workspace: Path
) -> None:
    assert problems(
        """\
inputs:
  table: {type: uri_file, path: ./data/ratings/ratings.csv}
  gone: {type: uri_folder, path: ./gone}
  folder: {type: uri_folder, path: ./data/ratings}
  ratio: 0.5
  epochs: {type: string, default: many}
jobs:
  a:
    component: ./split/split.yaml
    inputs:
      input_path: ${{parent.inputs.table}}
      ratio: ${{parent.inputs.folder}}
  b:
    component: ./split/split.yaml
    inputs:
      input_path: ${{parent.inputs.ratio}}
  c:
    component: ./train/train.yaml
    inputs:
      training_data: ${{parent.inputs.folder}}
      epochs: ${{parent.inputs.epochs}}
  d:
    component: ./split/split.yaml
    inputs:
      input_path: ${{parent.inputs.gone}}
      ratio: ${{parent.jobs.c.outputs.model}}
"""
    ) == [
        f"pipeline input 'gone': path {workspace}/gone does not exist",
        "step 'a', input 'Input path' (input_path): AnyDirectory is not compatible with"
        " pipeline input 'table' (uri_file): a file cannot feed a folder input",
        "step 'a', parameter 'Ratio' (ratio) takes a value (Float), but pipeline input"
        " 'folder' is data (uri_folder)",
        "step 'b', input 'Input path' (input_path) takes a path (AnyDirectory), but pipeline"
        " input 'ratio' is a number value",
        "step 'c', parameter 'epochs': expected an integer, got 'many' (from pipeline input"
        " 'epochs')",
        "step 'd', parameter 'Ratio' (ratio) takes a value (Float), but is bound to output"
        " 'c.model'",
    ]


def test_pipeline_outputs_name_known_steps_and_outputs(
    problems: Callable[[str], list[str]],
) -> None:
    assert problems(
        """\
outputs:
  first: ${{parent.jobs.splitt.outputs.output_train_data}}
  second: ${{parent.jobs.split.outputs.model}}
jobs:
"""
        + SPLIT
    ) == [
        "pipeline output 'first': unknown step 'splitt' (did you mean 'split'?); steps: split",
        "pipeline output 'second': step 'split' has unknown output 'model'; outputs:"
        " 'Output train data' (output_train_data), 'Output test data' (output_test_data)",
    ]


def test_validate_lists_every_problem_one_per_line(write_pipeline: WritePipeline) -> None:
    path = write_pipeline(
        """\
type: pipeline
jobs:
  split:
    component: ./split/split.yaml
    inputs:
      input_path: ${{parent.jobs.train.outputs.model}}
      ratio: 2
"""
        + TRAIN
    )
    with pytest.raises(PipelineError) as caught:
        validate(load_pipeline(path))
    assert caught.value.problems == (
        "step 'split', parameter 'Ratio' (ratio): 2.0 is above the maximum 1.0",
        "cycle: split -> train -> split",
    )
    assert str(caught.value) == (
        f"pipeline 'p' ({path}) has 2 problems:\n"
        "  step 'split', parameter 'Ratio' (ratio): 2.0 is above the maximum 1.0\n"
        "  cycle: split -> train -> split"
    )
