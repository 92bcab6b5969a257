"""Rendering: one argv element per token, optional groups, typed values, pure."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.errors import BindingError, SpecError
from runner.run.render import referenced_inputs, render
from runner.spec.model import (
    Enabler,
    Generation,
    InputPort,
    ModuleSpec,
    OutputPort,
    Parameter,
    ParamType,
    ParamValue,
)
from runner.spec.names import python_name
from runner.template.model import (
    CommandTemplate,
    Literal,
    OptionalGroup,
    Part,
    Ref,
    RefKind,
    Segment,
    Token,
)
from runner.template.parse import TemplateStyle, TemplateSyntaxError, parse_command_text

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


# ---- shell mode ---------------------------------------------------------------------------

SHELL_SPEC = module(
    param("v"),
    param("p", optional=True),
    port("d"),
    outputs=(output("out"),),
)
OUT_DIR = {"out": "/r/my out"}


def shell_argv(
    command: str,
    style: TemplateStyle,
    values: dict[str, ParamValue],
    outputs: dict[str, str] | None = None,
    inputs: dict[str, str] | None = None,
) -> list[str]:
    template = parse_command_text(command, style)
    return render(template, SHELL_SPEC, values, inputs or {"d": "/d"}, outputs or OUT_DIR)


def run_bash(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    assert argv[:2] == ["bash", "-c"]
    # Bytes, not text=True: universal newlines would turn a value's "\r" into "\n".
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode()


@pytest.mark.parametrize(
    ("command", "style", "values", "script"),
    [
        (
            "mkdir -p ${{outputs.out}} && echo hi > ${{outputs.out}}/x.txt",
            "cli_v2",
            {},
            "mkdir -p '/r/my out' && echo hi > '/r/my out'/x.txt",
        ),
        (
            "python a.py --v ${{inputs.v}} | tee log",
            "cli_v2",
            {"v": "a b; rm -rf /"},
            "python a.py --v 'a b; rm -rf /' | tee log",
        ),
        (
            'echo "v=${{inputs.v}}" > f',
            "cli_v2",
            {"v": 'a "b" $c `d` \\e'},
            'echo "v=a \\"b\\" \\$c \\`d\\` \\\\e" > f',
        ),
        ("echo 'v={inputs.v}' > f", "component2", {"v": "it's"}, "echo 'v=it'\"'\"'s' > f"),
        ("echo {inputs.v} > f", "component2", {"v": "it's"}, "echo 'it'\"'\"'s' > f"),
        ("echo $'v={inputs.v}\\n' > f", "component2", {"v": "a'b\\"}, "echo $'v=a\\'b\\\\\\n' > f"),
        # A value is always quoted: bare, `if` would be a keyword and `~x` a home folder.
        ("{inputs.v} x; ~{inputs.v}", "component2", {"v": "if"}, "'if' x; ~'if'"),
        ("echo ${inputs.v} > f", "component2", {"v": "HOME"}, "echo \\$'HOME' > f"),
        # A newline in a value is never raw: bash resyncs on raw newlines after a syntax error.
        (
            "echo {inputs.v} '{inputs.v}' \"{inputs.v}\" $'{inputs.v}';",
            "component2",
            {"v": "a\nb"},
            "echo $'a\\nb' 'a'$'\\n''b' \"a\"$'\\n'\"b\" $'a\\nb';",
        ),
        ("cat {inputs.d}/*.csv | wc -l", "component2", {}, "cat '/d'/*.csv | wc -l"),
        (
            "python a.py [--opt {inputs.p}] > {outputs.out}/log",
            "component2",
            {},
            "python a.py  > '/r/my out'/log",
        ),
        (
            "python a.py [--opt {inputs.p}] > {outputs.out}/log",
            "component2",
            {"p": "x y"},
            "python a.py --opt 'x y' > '/r/my out'/log",
        ),
        ("a $[[--opt ${{inputs.p}}]] && b", "cli_v2", {}, "a  && b"),
        ("a $[[--opt ${{inputs.p}}]] && b", "cli_v2", {"p": ""}, "a --opt '' && b"),
        ("a[--k={inputs.p}]b;", "component2", {}, "a  b;"),
        ("a[--k={inputs.p}]b;", "component2", {"p": "1"}, "a --k='1' b;"),
        # Outside a group, a word with an optional input without value goes, as a token does.
        ('echo --p={inputs.p} "$(cat {inputs.p})" && x', "component2", {}, "echo   && x"),
        ("{{ echo [[x]]; }} # {inputs.v}", "component2", {"v": "1"}, "{ echo [x]; } # {inputs.v}"),
    ],
)
def test_shell_scripts(
    command: str, style: TemplateStyle, values: dict[str, ParamValue], script: str
) -> None:
    assert shell_argv(command, style, values) == ["bash", "-c", script]


@pytest.mark.parametrize(
    ("command", "style", "expected"),
    [
        ("python a.py --x ${{inputs.v}}", "cli_v2", ["python", "a.py", "--x", "a b"]),
        ("echo '&&' '>' '*.txt' '$HOME'", "cli_v2", ["echo", "&&", ">", "*.txt", "$HOME"]),
        ("echo a#b {inputs.v} # c", "component2", ["echo", "a#b", "a b"]),
    ],
)
def test_commands_without_shell_syntax_stay_plain_argv(
    command: str, style: TemplateStyle, expected: list[str]
) -> None:
    assert shell_argv(command, style, {"v": "a b"}) == expected


def test_allow_shell_false_renders_the_words() -> None:
    template = parse_command_text("--x ${{inputs.v}} && --y", "cli_v2")
    argv = render(template, SHELL_SPEC, {"v": "a b"}, {}, {}, allow_shell=False)
    assert argv == ["--x", "a b", "&&", "--y"]


def test_shell_mode_still_requires_required_inputs() -> None:
    with pytest.raises(BindingError) as info:
        shell_argv("echo ${{inputs.v}} && true", "cli_v2", {})
    assert (info.value.message, info.value.hint) == (
        "missing required input 'v'",
        "pass -i v=<value>",
    )


# ---- shell mode, run by bash --------------------------------------------------------------

NASTY = "a b; touch pwned # $HOME `id` $(id) \\ \" ' \n ~x {a,b} * !x"


def test_bash_creates_the_file_in_exactly_the_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "out dir $HOME 'q' \"dq\""
    argv = shell_argv(
        "mkdir -p ${{outputs.out}} && echo hi > ${{outputs.out}}/x.txt",
        "cli_v2",
        {},
        outputs={"out": str(out)},
    )
    run_bash(argv, tmp_path)
    assert (out / "x.txt").read_text() == "hi\n"
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_a_value_stays_one_word_in_every_quoting(tmp_path: Path) -> None:
    printer = tmp_path / "printargs.py"
    printer.write_text("import json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    python = shlex.quote(sys.executable)
    command = (
        f"{python} printargs.py ${{{{inputs.v}}}} \"<${{{{inputs.v}}}}>\" '<${{{{inputs.v}}}}>'"
        f" $'<${{{{inputs.v}}}}>' \"$(printf '%s.' ${{{{inputs.v}}}})\" && true"
    )
    argv = shell_argv(command, "cli_v2", {"v": NASTY})
    printed = json.loads(run_bash(argv, tmp_path))
    wrapped = f"<{NASTY}>"
    assert printed == [NASTY, wrapped, wrapped, wrapped, f"{NASTY}."]
    assert not (tmp_path / "pwned").exists()


def test_shell_expansions_and_globs_work(tmp_path: Path) -> None:
    for name in ("b.txt", "a.txt", "c.csv"):
        (tmp_path / name).write_text("")
    argv = shell_argv(
        "echo $HOME \"$HOME\" '$HOME' ~ *.txt {inputs.v} 2>&1 | tr a-z A-Z",
        "component2",
        {"v": "*.txt"},
    )
    home = str(tmp_path / "home")
    assert run_bash(argv, tmp_path, {**os.environ, "HOME": home}) == (
        f"{home} {home} $HOME {home} A.TXT B.TXT *.TXT\n".replace(home, home.upper())
    )


def test_hash_inside_a_word_is_not_a_comment(tmp_path: Path) -> None:
    argv = shell_argv("echo a#b {inputs.v}#c && echo x # y", "component2", {"v": "v"})
    assert run_bash(argv, tmp_path) == "a#b v#c\nx\n"


def test_quoted_operators_stay_literal_without_a_shell(tmp_path: Path) -> None:
    argv = shell_argv("echo '&&' x", "cli_v2", {})
    assert argv == ["echo", "&&", "x"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert done.stdout == "&& x\n"


def _word_atoms(style: TemplateStyle) -> list[str]:
    """Command pieces whose words mean the same to bash and to the argv reading."""
    v, p = (
        ("{inputs.v}", "{inputs.p}")
        if style == "component2"
        else ("${{inputs.v}}", "${{inputs.p}}")
    )
    group = f"[--o {p}]" if style == "component2" else f"$[[--o {p}]]"
    escapes = ["{{", "}}", "[[", "]]"] if style == "component2" else []
    return [
        *("a", "-", " ", "  ", "=", "#", "*", "?", "'x y'", '"x y"', "\\ ", "\\'", '\\"'),
        *(v, f"'{v}'", f'"{v}"', f'"-{v}-"', f"'-{v}-'", f"\\\\{v}", f'"\\\\{v}"', f"--p={p}"),
        *(group, f"${v}", f'"${v}"', *escapes),
    ]


values_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), style=st.sampled_from(["component2", "cli_v2"]))
def test_bash_sees_the_same_words_as_the_argv_reading(
    tmp_path: Path, data: st.DataObject, style: TemplateStyle
) -> None:
    words = "".join(data.draw(st.lists(st.sampled_from(_word_atoms(style)), max_size=10)))
    values: dict[str, ParamValue] = {"v": data.draw(values_text)}
    p = data.draw(st.none() | values_text)
    if p is not None:
        values["p"] = p
    try:
        template = parse_command_text(f"true; printf '%s\\0' START {words}", style)
    except TemplateSyntaxError:
        return  # e.g. a lone quote
    expected = render(template, SHELL_SPEC, values, {}, {}, allow_shell=False)[3:]
    output = run_bash(render(template, SHELL_SPEC, values, {}, {}), tmp_path)
    assert output.split("\0")[:-1] == expected
