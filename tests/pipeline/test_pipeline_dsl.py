"""The Python DSL: modules called inside a @runner.pipeline function build the same model."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import runner
from runner.errors import PipelineError
from runner.pipeline.load import load_pipeline
from runner.pipeline.model import (
    Literal,
    ParentInput,
    Pipeline,
    PipelineInput,
    PipelineOutput,
    StepOutput,
    topological_order,
)
from runner.pipeline.validate import check

FIXTURES = Path(__file__).parent / "fixtures"
RATINGS = FIXTURES / "data" / "ratings"
split = runner.load_module(FIXTURES / "split" / "split.yaml")
train = runner.load_module(FIXTURES / "train" / "train.yaml")
score = runner.load_module(FIXTURES / "score" / "score.yml")


def normalised(pipeline: Pipeline) -> dict[str, object]:
    """What makes two pipelines the same graph: steps, their modules, bindings, edges."""
    return {
        "name": pipeline.name,
        "inputs": pipeline.inputs,
        "steps": [
            (
                s.name,
                s.module.source,
                dict(s.bindings),
                dict(s.environment_variables),
                {k: v for k, v in s.outputs.items() if v is not None},
            )
            for s in pipeline.steps
        ],
        "order": topological_order(pipeline),
        "outputs": pipeline.outputs,
    }


def test_the_dsl_and_the_yaml_build_the_same_graph() -> None:
    @runner.pipeline(name="pipeline")
    def fixture(ratings: Path = RATINGS, ratio: float = 0.75) -> dict[str, object]:
        parts = split(input_path=ratings, Ratio=ratio)
        model = train(training_data=parts.outputs.output_train_data, epochs=3)
        scored = score(model=model, test_data=parts.outputs["Output test data"])
        scored.environment_variables["SCORE_LABEL"] = "fixture run"
        return {"scores": scored.outputs.scores}

    built = fixture()
    assert built.pipeline.source is None
    assert normalised(built.pipeline) == normalised(load_pipeline(FIXTURES / "pipeline.yml"))
    built.validate()


def test_step_names_repeat_with_a_suffix_and_can_be_chosen() -> None:
    @runner.pipeline
    def twice() -> None:
        first = split(input_path=RATINGS)
        second = split(input_path=first.outputs.output_train_data)
        third = split(input_path=second.outputs.output_train_data)
        third.name = "split"

    pipeline = twice().pipeline
    assert pipeline.name == "twice"
    assert pipeline.step_names == ("split_2", "split_3", "split")
    assert dict(pipeline.steps[1].bindings) == {
        "Input path": StepOutput("split_2", "Output train data")
    }


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (("a b", None), "pipeline 'named': step name 'a b' is not valid"),
        (("x", "x"), "pipeline 'named': two steps are named 'x'"),
    ],
)
def test_bad_step_names(names: tuple[str, str | None], message: str) -> None:
    @runner.pipeline
    def named() -> None:
        one, two = split(input_path=RATINGS), split(input_path=RATINGS)
        one.name, two.name = names

    with pytest.raises(PipelineError) as caught:
        named()
    assert caught.value.message == message


def test_inputs_take_their_type_from_defaults_annotations_and_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)

    @runner.pipeline
    def typed(
        folder: str = "data/ratings",
        table: Path = Path("data/ratings/ratings.csv"),
        missing: Path | None = None,
        ratio: str = "0.5",
        epochs: int = 2,
        note: str = "hello",
        flag: bool = True,
        unused=None,
    ) -> None:
        split(input_path=folder, ratio=ratio)
        train(training_data=table, epochs=epochs)
        score(model=missing, test_data=folder)

    pipeline = typed(epochs="3").pipeline
    assert pipeline.inputs == (
        PipelineInput("folder", "uri_folder", RATINGS),
        PipelineInput("table", "uri_file", RATINGS / "ratings.csv"),
        PipelineInput("missing", "path", optional=True),
        PipelineInput("ratio", "number", 0.5),
        PipelineInput("epochs", "integer", 3),
        PipelineInput("note", "string", "hello"),
        PipelineInput("flag", "boolean", True),
        PipelineInput("unused", "string", optional=True),
    )
    # A file may feed DataFrameDirectory: a custom type takes either unless registered.
    assert check(pipeline) == [
        "step 'score': required input 'model' is bound to pipeline input 'missing', which has"
        " no value",
    ]


def test_literal_paths_are_taken_from_the_current_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES / "data")

    @runner.pipeline
    def literal() -> None:
        split(input_path="ratings", ratio=0.5)

    (step,) = literal().pipeline.steps
    assert dict(step.bindings) == {"Input path": Literal(RATINGS), "Ratio": Literal(0.5)}


def test_arguments_override_defaults_and_are_checked() -> None:
    @runner.pipeline
    def sar(ratings: Path = RATINGS, ratio: float = 0.75) -> object:
        return split(input_path=ratings, ratio=ratio).outputs.output_test_data

    pipeline = sar(ratio="0.5").pipeline
    assert pipeline.find_input("ratio") == PipelineInput("ratio", "number", 0.5)
    assert pipeline.outputs == (PipelineOutput("output_test_data", "split", "Output test data"),)
    assert dict(pipeline.steps[0].bindings) == {
        "Input path": ParentInput("ratings"),
        "Ratio": ParentInput("ratio"),
    }
    with pytest.raises(PipelineError) as caught:
        sar(ratio="most")
    assert caught.value.message == "pipeline input 'ratio': expected a finite number, got 'most'"
    with pytest.raises(PipelineError) as caught:
        sar(1, 2, 3)
    assert caught.value.message == "pipeline 'sar': too many positional arguments"


def test_outputs_by_attribute_and_by_name() -> None:
    seen: list[str] = []

    @runner.pipeline
    def outputs() -> None:
        node = split(input_path=RATINGS)
        assert list(node.outputs) == ["output_train_data", "output_test_data"]
        assert node.outputs["Output train data"].output == "Output train data"
        with pytest.raises(AttributeError) as missing:
            node.outputs.output_trian_data  # noqa: B018
        seen.append(str(missing.value))
        with pytest.raises(KeyError):
            node.outputs["nope"]

    outputs()
    assert seen == [
        "module 'Split' has no output 'output_trian_data'; outputs: output_train_data,"
        " output_test_data"
    ]


def test_misuse_is_a_pipeline_error() -> None:
    with pytest.raises(PipelineError) as caught:
        split(input_path=RATINGS)
    assert str(caught.value) == (
        "module 'Split' was called outside a @runner.pipeline function\n"
        "  hint: to run one module on its own: module.run(...)"
    )

    @runner.pipeline
    def ambiguous() -> None:
        parts = split(input_path=RATINGS)
        train(training_data=parts)

    with pytest.raises(PipelineError) as caught:
        ambiguous()
    assert caught.value.message == (
        "step 'train', input 'training_data': <step 'split' (tests/pipeline/Split:0.1.0)>"
        " has 2 outputs (output_train_data, output_test_data): pick one"
    )

    @runner.pipeline
    def returns_text() -> str:
        return "done"

    with pytest.raises(PipelineError, match="pipeline 'returns_text' returned str"):
        returns_text()

    @runner.pipeline
    def outer() -> None:
        returns_text()

    with pytest.raises(PipelineError, match="nested pipelines are not supported"):
        outer()

    with pytest.raises(PipelineError, match=r"\*rest / \*\*rest cannot be pipeline inputs"):

        @runner.pipeline
        def variadic(*rest: object) -> None:
            pass


def test_a_step_from_another_pipeline_cannot_be_used() -> None:
    kept: list[object] = []

    @runner.pipeline
    def first() -> None:
        kept.append(split(input_path=RATINGS).outputs.output_train_data)

    @runner.pipeline
    def second() -> object:
        return kept[0]

    first()
    with pytest.raises(PipelineError, match="belongs to another pipeline"):
        second()


def test_run_shows_the_progress_and_summary_of_the_cli_unless_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RUNNER_ENV", "host")

    @runner.pipeline
    def one() -> None:
        split(input_path=RATINGS)

    result = one().run(runs_root=tmp_path / "runs")
    assert result.ok
    out, err = capsys.readouterr()
    assert out == ""
    assert re.search(r"^\[\d\d:\d\d:\d\d\] split: succeeded in \d", err, re.MULTILINE)
    assert "pipeline succeeded in " in err and str(result.run_dir) in err
    again = one().run(runs_root=tmp_path / "runs", quiet=True)
    assert again.steps["split"].cached
    assert capsys.readouterr() == ("", "")


def test_runner_pipeline_is_the_decorator_and_still_reaches_the_subpackage() -> None:
    import runner.pipeline.validate as imported
    from runner.pipeline import inputs

    assert imported is sys.modules["runner.pipeline.validate"]
    assert inputs is sys.modules["runner.pipeline.inputs"]
    assert runner.pipeline.model.Pipeline is Pipeline
    with pytest.raises(AttributeError, match=r"runner\.pipeline has no module 'nothere'"):
        runner.pipeline.nothere  # noqa: B018

    @runner.pipeline
    def documented() -> None:
        """Splits once."""
        split(input_path=RATINGS)

    assert documented.__name__ == "documented"
    assert documented().pipeline.description == "Splits once."
