"""The graph helpers: dependencies, a stable topological order, up/downstream closures."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import PipelineError
from runner.pipeline.model import (
    Literal,
    ParentInput,
    Pipeline,
    Step,
    StepOutput,
    dependencies,
    downstream,
    find_cycle,
    topological_order,
    upstream,
)
from runner.spec.model import Generation, ModuleSpec

MODULE = ModuleSpec(source=Path("/m.yaml"), generation=Generation.CLI_V2, name="m", version="1")


def graph(**edges: str) -> Pipeline:
    """`graph(b="a", c="a b")`: step b reads a's output, c reads a's and b's; in this order."""
    steps = [
        Step(
            name,
            MODULE,
            {f"in_{dep}": StepOutput(dep, "out") for dep in reads.split()}
            | {"ratio": Literal(0.5), "data": ParentInput("data")},
        )
        for name, reads in edges.items()
    ]
    return Pipeline(source=None, name="g", steps=tuple(steps))


def test_dependencies_are_the_steps_read_from() -> None:
    pipeline = graph(a="", b="a", c="a b")
    assert [dependencies(s) for s in pipeline.steps] == [set(), {"a"}, {"a", "b"}]


def test_order_puts_dependencies_first_and_keeps_definition_order_otherwise() -> None:
    assert topological_order(graph(a="", b="", c="a")) == ["a", "b", "c"]
    assert topological_order(graph(late="early", early="", other="")) == [
        "early",
        "late",
        "other",
    ]
    assert topological_order(graph(d="c", c="b", b="a", a="")) == ["a", "b", "c", "d"]
    # An unknown step is validate's to report; the order ignores it.
    assert topological_order(graph(a="ghost", b="a")) == ["a", "b"]


def test_a_cycle_is_an_error_naming_it() -> None:
    pipeline = graph(z="", x="w", y="x", w="y")
    assert find_cycle(pipeline) == ["x", "y", "w", "x"]
    with pytest.raises(PipelineError) as caught:
        topological_order(pipeline)
    assert str(caught.value) == (
        "cycle: x -> y -> w -> x\n  hint: a step cannot depend, even indirectly, on itself"
    )
    assert find_cycle(graph(a="", b="a")) is None


def test_closures_for_until_and_from() -> None:
    #   a -> b -> d
    #   a -> c -> d -> e ;  f alone
    pipeline = graph(a="", b="a", c="a", d="b c", e="d", f="")
    assert upstream(pipeline, ["d"]) == {"a", "b", "c", "d"}
    assert upstream(pipeline, ["b", "f"]) == {"a", "b", "f"}
    assert downstream(pipeline, ["b"]) == {"b", "d", "e"}
    assert downstream(pipeline, ["a"]) == {"a", "b", "c", "d", "e"}
    assert upstream(pipeline, []) == set()
    with pytest.raises(PipelineError) as caught:
        downstream(pipeline, ["dd"])
    assert caught.value.message == "unknown step 'dd' (did you mean 'd'?); steps: a, b, c, d, e, f"
