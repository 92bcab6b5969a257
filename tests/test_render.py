"""Rendering: one argv element per token, optional groups, typed values, pure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.errors import BindingError, SpecError
from runner.render import referenced_inputs, render
from runner.spec.model import (
    CommandTemplate,
    Enabler,
    Generation,
    InputPort,
    Literal,
    ModuleSpec,
    OptionalGroup,
    OutputPort,
    Parameter,
    ParamType,
    ParamValue,
    Part,
    Ref,
    RefKind,
    Segment,
    Token,
)
from runner.spec.names import python_name
from runner.template import TemplateStyle, parse_command_text

# ---- a small spec factory -----------------------------------------------------------------


def param(name: str, kind: ParamType = ParamType.STRING, **extra: Any) -> Parameter:
    return Parameter(name=name, python_name=python_name(name), type=kind, **extra)


def port(name: str, *types: str, **extra: Any) -> InputPort:
    return InputPort(name, python_name(name), types or ("AnyDirectory",), **extra)


def output(name: str, *types: str) -> OutputPort:
    return OutputPort(name, python_name(name), types or ("AnyDirectory",))


def module(*inputs: Parameter | InputPort, outputs: tuple[OutputPort, ...] = ()) -> ModuleSpec:
    return ModuleSpec(
        source=Path("/specs/m/spec.yaml"),
        generation=Generation.LEGACY,
        name="m",
        version="1",
        inputs=inputs,
        outputs=outputs,
    )


def T(*segments: str | Segment) -> Token:
    return Token(tuple(Literal(s) if isinstance(s, str) else s for s in segments))


def G(*parts: Part) -> OptionalGroup:
    return OptionalGroup(tuple(parts))


def V(name: str) -> Ref:
    return Ref(RefKind.INPUT_VALUE, name)


def P(name: str) -> Ref:
    return Ref(RefKind.INPUT_PATH, name)


def O(name: str) -> Ref:  # noqa: E743
    return Ref(RefKind.OUTPUT, name)


# ---- legacy structural args ---------------------------------------------------------------

LEGACY = module(
    port("Input path"),
    port("Optional input path", optional=True),
    param("String parameter"),
    param("Optional string parameter", optional=True),
    param("A", optional=True),
    param("B", optional=True),
    outputs=(output("Output path"),),
)
LEGACY_ARGS = CommandTemplate(
    (
        T("python"),
        T("optional_input.py"),
        T("--input-path"),
        T(P("Input path")),
        G(T("--optional-input-path"), T(P("Optional input path"))),
        T("--string-param"),
        T(V("String parameter")),
        G(T("--optional-string-param"), T(V("Optional string parameter"))),
        G(T("--a"), T(V("A")), G(T("--b"), T(V("B")))),
        T("--output-path"),
        T(O("Output path")),
    )
)
REQUIRED_ONLY = {"String parameter": "hello world"}


@pytest.mark.parametrize(
    ("values", "inputs", "expected_middle"),
    [
        (REQUIRED_ONLY, {}, ["--string-param", "hello world"]),
        (
            {**REQUIRED_ONLY, "Optional string parameter": "x y"},
            {"Optional input path": "/data/opt"},
            [
                "--optional-input-path",
                "/data/opt",
                "--string-param",
                "hello world",
                "--optional-string-param",
                "x y",
            ],
        ),
        ({**REQUIRED_ONLY, "A": "1"}, {}, ["--string-param", "hello world", "--a", "1"]),
        (
            {**REQUIRED_ONLY, "A": "1", "B": "2"},
            {},
            ["--string-param", "hello world", "--a", "1", "--b", "2"],
        ),
        # The inner group cannot appear without the outer one.
        ({**REQUIRED_ONLY, "B": "2"}, {}, ["--string-param", "hello world"]),
    ],
)
def test_legacy_args(
    values: dict[str, ParamValue], inputs: dict[str, str], expected_middle: list[str]
) -> None:
    argv = render(
        LEGACY_ARGS,
        LEGACY,
        values,
        {"Input path": "/data/in", **inputs},
        {"Output path": "/out/o"},
    )
    assert argv == [
        "python",
        "optional_input.py",
        "--input-path",
        "/data/in",
        *expected_middle,
        "--output-path",
        "/out/o",
    ]


# ---- 2.0 and CLI v2 strings ---------------------------------------------------------------

SCORE = module(
    param("score_type", ParamType.ENUM),
    param("top_k", ParamType.INTEGER, optional=True),
    param("ratio", ParamType.FLOAT, optional=True),
    param("verbose", ParamType.BOOLEAN, optional=True),
    param("p", optional=True),
    port("dir"),
    port("o", optional=True),
    outputs=(output("scored"),),
)
DIR = {"dir": "/data/my dir"}
OUTS = {"scored": "/out/scored"}


@pytest.mark.parametrize(
    ("command", "style", "values", "inputs", "expected"),
    [
        (
            "--score-type {inputs.score_type}",
            "component2",
            {"score_type": "Item recommendation"},
            {},
            ["--score-type", "Item recommendation"],
        ),
        ("{inputs.dir}/data.csv", "component2", {}, DIR, ["/data/my dir/data.csv"]),
        ("--p={inputs.p}", "component2", {"p": "a b"}, {}, ["--p=a b"]),
        ("--p={inputs.p}", "component2", {}, {}, []),
        ("a [--p {inputs.p}] b", "component2", {}, {}, ["a", "b"]),
        ("a [--p {inputs.p}] b", "component2", {"p": ""}, {}, ["a", "--p", "", "b"]),
        ("[[x]] {{y}} '[z]'", "component2", {}, {}, ["[x]", "{y}", "[z]"]),
        ("'{inputs.p}' \"-- {inputs.p} --\"", "component2", {"p": "v"}, {}, ["v", "-- v --"]),
        ("--flag {inputs.verbose}", "component2", {"verbose": True}, {}, ["--flag", "True"]),
        ("--flag {inputs.verbose}", "component2", {"verbose": False}, {}, ["--flag", "False"]),
        ("--ratio {inputs.ratio}", "component2", {"ratio": 0.75}, {}, ["--ratio", "0.75"]),
        ("--ratio {inputs.ratio}", "component2", {"ratio": 1.0}, {}, ["--ratio", "1.0"]),
        ("--k {inputs.top_k}", "component2", {"top_k": 10}, {}, ["--k", "10"]),
        ("--out {outputs.scored}", "component2", {}, {}, ["--out", "/out/scored"]),
        (
            "[--o {inputs.o} --out {outputs.scored}]",
            "component2",
            {},
            {"o": "/o"},
            ["--o", "/o", "--out", "/out/scored"],
        ),
        ("[--o {inputs.o} --out {outputs.scored}]", "component2", {}, {}, []),
        ("--x ${{ inputs.p }}", "cli_v2", {"p": "a b"}, {}, ["--x", "a b"]),
        ("a $[[--opt ${{inputs.o}}]] b", "cli_v2", {}, {}, ["a", "b"]),
        ("a $[[--opt ${{inputs.o}}]] b", "cli_v2", {}, {"o": "/o"}, ["a", "--opt", "/o", "b"]),
        ("$[[--opt=${{inputs.o}}]]", "cli_v2", {}, {"o": "/o"}, ["--opt=/o"]),
        ("--d ${{inputs.dir}}", "cli_v2", {}, DIR, ["--d", "/data/my dir"]),
    ],
)
def test_strings(
    command: str,
    style: TemplateStyle,
    values: dict[str, ParamValue],
    inputs: dict[str, str],
    expected: list[str],
) -> None:
    template = parse_command_text(command, style)
    assert render(template, SCORE, values, {**DIR, **inputs}, OUTS) == expected


def test_refs_by_original_or_python_name() -> None:
    spec = module(param("Top k", ParamType.INTEGER), port("Input path"))
    template = CommandTemplate(
        (T(V("Top k")), T(V("top_k")), T(P("Input path")), T(Ref(RefKind.INPUT, "input_path")))
    )
    assert render(template, spec, {"Top k": 3}, {"Input path": "/i"}, {}) == ["3", "3", "/i", "/i"]


def test_input_ref_renders_a_port_path_and_a_parameter_value() -> None:
    spec = module(param("n", ParamType.INTEGER), port("d"))
    template = CommandTemplate((T(Ref(RefKind.INPUT, "n"), ":", Ref(RefKind.INPUT, "d")),))
    assert render(template, spec, {"n": 2}, {"d": "/d"}, {}) == ["2:/d"]


def test_disabled_enum_child_without_value_drops_its_token() -> None:
    spec = module(
        param("mode", ParamType.ENUM),
        param("k", ParamType.INTEGER, enabled_by=Enabler("mode", "top")),
    )
    template = CommandTemplate((T("--k"), T(V("k"))))
    assert render(template, spec, {"mode": "all"}, {}, {}) == ["--k"]


def test_required_input_without_value_is_an_error() -> None:
    spec = module(param("Top k", ParamType.INTEGER))
    with pytest.raises(BindingError) as info:
        render(CommandTemplate((T(V("Top k")),)), spec, {}, {}, {})
    assert info.value.message == "missing required input 'Top k' (top_k)"
    assert info.value.hint == "pass -i top_k=<value>"


def test_required_port_without_path_is_an_error() -> None:
    spec = module(port("data"))
    with pytest.raises(BindingError) as info:
        render(CommandTemplate((T(P("data")),)), spec, {}, {}, {})
    assert (info.value.message, info.value.hint) == (
        "missing required input 'data'",
        "pass -i data=<path>",
    )


def test_unknown_reference_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as info:
        render(CommandTemplate((T(V("nope")),)), module(), {}, {}, {})
    assert info.value.reason == "the command refers to unknown input 'nope'"
    with pytest.raises(SpecError) as info:
        render(CommandTemplate((T(O("nope")),)), module(), {}, {}, {})
    assert info.value.reason == "the command refers to unknown output 'nope'"


def test_output_without_path_is_an_error() -> None:
    spec = module(outputs=(output("Model dir"),))
    with pytest.raises(BindingError) as info:
        render(CommandTemplate((T(O("Model dir")),)), spec, {}, {}, {})
    assert info.value.message == "output 'Model dir' (model_dir) has no path to render"


def test_render_is_pure_and_repeatable() -> None:
    values = {"String parameter": "v"}
    inputs = {"Input path": "/i"}
    first = render(LEGACY_ARGS, LEGACY, values, inputs, {"Output path": "/o"})
    assert render(LEGACY_ARGS, LEGACY, values, inputs, {"Output path": "/o"}) == first
    assert values == {"String parameter": "v"} and inputs == {"Input path": "/i"}


def test_referenced_inputs() -> None:
    group = G(T("--a", V("A")), G(T(P("B"), O("out"))))
    assert referenced_inputs(group) == {"A", "B"}
    assert referenced_inputs(T("x", Ref(RefKind.INPUT, "c"))) == {"c"}
    assert referenced_inputs(T("x")) == set()
