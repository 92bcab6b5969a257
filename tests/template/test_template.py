"""Command-string parsing: shell words first, then placeholders, groups and escapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.errors import SpecError
from runner.spec.command import parse_command_string
from runner.spec.common import iter_refs
from runner.spec.source import parse_document
from runner.template.model import (
    CommandTemplate,
    Literal,
    OptionalGroup,
    Part,
    Quoting,
    Ref,
    RefKind,
    Segment,
    ShellGroup,
    ShellItem,
    ShellRef,
    ShellWord,
    Token,
)
from runner.template.parse import TemplateStyle, TemplateSyntaxError, parse_command_text

SPEC = Path("/specs/module/spec.yaml")


def IN(name: str) -> Ref:
    return Ref(RefKind.INPUT, name)


def OUT(name: str) -> Ref:
    return Ref(RefKind.OUTPUT, name)


def T(*segments: str | Segment) -> Token:
    return Token(tuple(Literal(s) if isinstance(s, str) else s for s in segments))


def G(*parts: Part) -> OptionalGroup:
    return OptionalGroup(tuple(parts))


def words(*texts: str) -> tuple[Token, ...]:
    return tuple(T(text) for text in texts)


def parse_yaml(yaml_text: str, style: TemplateStyle) -> CommandTemplate:
    node = parse_document(SPEC, yaml_text).root.require("command")
    return parse_command_string(node, style)


def parse(command: str, style: TemplateStyle = "component2") -> tuple[Part, ...]:
    # JSON strings are YAML double-quoted scalars, so any command survives the round trip.
    return parse_yaml(f"command: {json.dumps(command)}\n", style).parts


def reason(command: str, style: TemplateStyle = "component2") -> tuple[str, str | None]:
    with pytest.raises(SpecError) as info:
        parse(command, style)
    return info.value.reason, info.value.hint


# ---- shell words --------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["component2", "cli_v2"])
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("python  run.py\t--x 1", words("python", "run.py", "--x", "1")),
        ("python -c 'import sys; print(1)'", words("python", "-c", "import sys; print(1)")),
        ('echo "a b" c', words("echo", "a b", "c")),
        ('echo "say \\"hi\\" \\\\ \\n"', words("echo", 'say "hi" \\ \\n')),
        ("echo 'it''s' \"x\"'y'z", words("echo", "its", "xyz")),
        ("echo a\\ b \\'c", words("echo", "a b", "'c")),
        ("echo '' \"\"", words("echo", "", "")),
        ("a#b '#c' #comment {inputs.x}", words("a#b", "#c")),
        ("  \n python\n run.py \n", words("python", "run.py")),
        ("python run.py \\\n  --x 1", words("python", "run.py", "--x", "1")),
        ("python run.py \\\r\n  --x 1", words("python", "run.py", "--x", "1")),
        ("a --x=1&&b", words("a", "--x=1&&b")),
        ("", ()),
    ],
)
def test_shell_words(style: TemplateStyle, command: str, expected: tuple[Part, ...]) -> None:
    assert parse(command, style) == expected


def test_comment_ends_at_the_end_of_its_line() -> None:
    text = "command: |\n  python run.py  # the entry\n  --x {inputs.x}\n"
    assert parse_yaml(text, "component2").parts == (*words("python", "run.py", "--x"), T(IN("x")))


def test_source_is_kept_for_display() -> None:
    assert parse_yaml("command: python run.py {inputs.x}\n", "component2").source == (
        "python run.py {inputs.x}"
    )


# ---- 2.0 placeholders, groups, escapes ----------------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("--score-type {inputs.score_type}", (T("--score-type"), T(IN("score_type")))),
        ("{inputs.dir}/data.csv", (T(IN("dir"), "/data.csv"),)),
        ("--p={inputs.p}", (T("--p=", IN("p")),)),
        ("--out={outputs.model}", (T("--out=", OUT("model")),)),
        ("'{inputs.x}'", (T(IN("x")),)),
        ('"--p={inputs.p} and {inputs.q}"', (T("--p=", IN("p"), " and ", IN("q")),)),
        ("{inputs.a}{inputs.b}", (T(IN("a"), IN("b")),)),
        ("{ inputs.x }", (T(IN("x")),)),
        ("{inputs.Input_Path}", (T(IN("Input_Path")),)),
        ("[[x]] {{y}} a[[0]] }", words("[x]", "{y}", "a[0]", "}")),
        ("'[x]' \"a]\" '{{y}}'", words("[x]", "a]", "{y}")),
        ("{{inputs.x}}", words("{inputs.x}")),
        ("\\[x\\] \\{y", words("[x]", "{y")),
        ("[--k {inputs.k}]", (G(T("--k"), T(IN("k"))),)),
        ("a[--k={inputs.k}]b", (T("a"), G(T("--k=", IN("k"))), T("b"))),
        ("[ --out {outputs.o} ]", (G(T("--out"), T(OUT("o"))),)),
        (
            "python run.py [--a {inputs.a} [--b {inputs.b}] ] --c",
            (
                *words("python", "run.py"),
                G(T("--a"), T(IN("a")), G(T("--b"), T(IN("b")))),
                T("--c"),
            ),
        ),
        ("['--x y' {inputs.x}]", (G(T("--x y"), T(IN("x"))),)),
    ],
)
def test_component2(command: str, expected: tuple[Part, ...]) -> None:
    assert parse(command, "component2") == expected


def test_component2_multiline_folded_block() -> None:
    text = (
        "command: >-\n"
        "  python score.py\n"
        "  --score-type {inputs.score_type}\n"
        "  [--top-k {inputs.top_k}]\n"
        "  --out {outputs.scored}\n"
    )
    assert parse_yaml(text, "component2").parts == (
        *words("python", "score.py", "--score-type"),
        T(IN("score_type")),
        G(T("--top-k"), T(IN("top_k"))),
        T("--out"),
        T(OUT("scored")),
    )


def test_group_spanning_lines_in_a_literal_block() -> None:
    text = "command: |\n  python run.py [\n    --a {inputs.a}\n  ]\n"
    assert parse_yaml(text, "component2").parts == (
        *words("python", "run.py"),
        G(T("--a"), T(IN("a"))),
    )


# ---- CLI v2 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("--x ${{inputs.x}}", (T("--x"), T(IN("x")))),
        ("--x ${{ inputs.x }}", (T("--x"), T(IN("x")))),
        ("--x=${{  inputs.x}}/f.csv", (T("--x=", IN("x"), "/f.csv"),)),
        ("${{outputs.model_output}}", (T(OUT("model_output")),)),
        ("'${{inputs.x}}' \"${{inputs.y}}\"", (T(IN("x")), T(IN("y")))),
        ("$[[--opt ${{inputs.o}}]]", (G(T("--opt"), T(IN("o"))),)),
        ("$[[ --opt ${{inputs.o}} ]] --z", (G(T("--opt"), T(IN("o"))), T("--z"))),
        (
            "$[[--a ${{inputs.a}} $[[--b ${{inputs.b}}]] ]]",
            (G(*words("--a"), T(IN("a")), G(T("--b"), T(IN("b")))),),
        ),
        ("echo {a} [b] a]] [[c $HOME $x", words("echo", "{a}", "[b]", "a]]", "[[c", "$HOME", "$x")),
        ("python -c 'print({1: [2]})'", words("python", "-c", "print({1: [2]})")),
    ],
)
def test_cli_v2(command: str, expected: tuple[Part, ...]) -> None:
    assert parse(command, "cli_v2") == expected


def test_cli_v2_multiline_with_continuations() -> None:
    text = (
        "command: |\n"
        "  python train.py \\\n"
        "    --data ${{inputs.training_data}} \\\n"
        "    $[[--epochs ${{inputs.max_epochs}}]]\n"
    )
    assert parse_yaml(text, "cli_v2").parts == (
        *words("python", "train.py", "--data"),
        T(IN("training_data")),
        G(T("--epochs"), T(IN("max_epochs"))),
    )


def test_parse_command_text_needs_no_node() -> None:
    template = parse_command_text("python a.py ${{inputs.x}}", "cli_v2")
    assert template == CommandTemplate(
        (T("python"), T("a.py"), T(IN("x"))), "python a.py ${{inputs.x}}"
    )


# ---- errors -------------------------------------------------------------------------------

FORMS_2 = (
    "placeholders are {inputs.<name>} and {outputs.<name>}; write '{{' and '}}' for literal braces"
)
FORMS_V2 = "placeholders are ${{inputs.<name>}} and ${{outputs.<name>}}"
QUOTE_HINT = (
    "close the quote, or escape a literal quote character with a backslash outside quotes"
    " (\\' or \\\")"
)


@pytest.mark.parametrize(
    ("command", "style", "message", "hint"),
    [
        (
            "python a.py 'oops",
            "component2",
            "unbalanced quote: the ' at column 13 of the command is never closed",
            QUOTE_HINT,
        ),
        (
            'python a.py --x "oops',
            "cli_v2",
            'unbalanced quote: the " at column 17 of the command is never closed',
            QUOTE_HINT,
        ),
        (
            "python a.py [--x {inputs.x}",
            "component2",
            "unclosed optional group: the '[' at column 13 of the command is never closed",
            "close it with ']'; '[[' and ']]' are literal brackets, so separate nested closing"
            " brackets with a space: '] ]'",
        ),
        (
            "a [--a [--b {inputs.b}]]",
            "component2",
            "unclosed optional group: the '[' at column 8 of the command is never closed",
            "close it with ']'; '[[' and ']]' are literal brackets, so separate nested closing"
            " brackets with a space: '] ]'",
        ),
        (
            "a $[[--x ${{inputs.x}}",
            "cli_v2",
            "unclosed optional group: the '$[[' at column 3 of the command is never closed",
            "close it with ']]'",
        ),
        (
            "a --x {inputs.x",
            "component2",
            "unclosed '{' at column 7 of the command: '{inputs.x'",
            "close the placeholder with '}', or write '{{' for a literal '{'",
        ),
        (
            "a '{' b",
            "component2",
            "unclosed '{' at column 4 of the command: \"{' b\"",
            "close the placeholder with '}', or write '{{' for a literal '{'",
        ),
        (
            "a --x ${{inputs.x} --y ${{inputs.y}}",
            "cli_v2",
            "unclosed '${{' at column 7 of the command: '${{inputs.x} --y ${{inpu...'",
            "close the placeholder with '}}'",
        ),
        (
            "a ${{inputs.x",
            "cli_v2",
            "unclosed '${{' at column 3 of the command: '${{inputs.x'",
            "close the placeholder with '}}'",
        ),
        (
            "a --x {input.x}",
            "component2",
            "unknown placeholder namespace 'input' in '{input.x}' at column 7 of the command",
            f"did you mean '{{inputs.x}}'? {FORMS_2}",
        ),
        (
            "a --x {parameters.x}",
            "component2",
            "unknown placeholder namespace 'parameters' in '{parameters.x}' at column 7 of the"
            " command",
            f"did you mean '{{inputs.x}}'? {FORMS_2}",
        ),
        (
            "a --x {output.y}",
            "component2",
            "unknown placeholder namespace 'output' in '{output.y}' at column 7 of the command",
            f"did you mean '{{outputs.y}}'? {FORMS_2}",
        ),
        (
            "a ${{parent.inputs.x}}",
            "cli_v2",
            "unknown placeholder namespace 'parent' in '${{parent.inputs.x}}' at column 3 of the"
            " command",
            f"did you mean '${{{{inputs.inputs.x}}}}'? {FORMS_V2}",
        ),
        (
            "a {inputs.}",
            "component2",
            "'{inputs.}' names no input at column 3 of the command",
            FORMS_2,
        ),
        (
            "a '{\"k\": 1}'",
            "component2",
            "'{\"k\": 1}' is not a placeholder at column 4 of the command",
            FORMS_2,
        ),
        (
            "a ${{ x }}",
            "cli_v2",
            "'${{ x }}' is not a placeholder at column 3 of the command",
            FORMS_V2,
        ),
        ("a [ ]", "component2", "empty optional group at column 3 of the command", "remove it"),
        ("a $[[ ]]", "cli_v2", "empty optional group at column 3 of the command", "remove it"),
        (
            "python -c print(a[0])",
            "component2",
            "optional group '[0]' references no input at column 18 of the command",
            "a group holds an optional {inputs.<name>}; write '[[' and ']]' (or quote the word)"
            " for literal brackets",
        ),
        (
            "a $[[--flag]]",
            "cli_v2",
            "optional group '$[[--flag]]' references no input at column 3 of the command",
            "a block holds an optional ${{inputs.<name>}}",
        ),
        (
            "a ] b",
            "component2",
            "']' closes no optional group at column 3 of the command",
            "write ']]' for a literal ']'",
        ),
        (
            "a '$[[--x ${{inputs.x}}]]'",
            "cli_v2",
            "an optional block '$[[' inside quotes at column 4 of the command",
            'move the block outside the quotes: $[[--opt "${{inputs.x}}"]]',
        ),
        (
            "a --x ${{inputs.x}}",
            "component2",
            "'${{inputs.x}}' is CLI v2 placeholder syntax at column 7 of the command",
            "a 2.0 component writes {inputs.<name>} and {outputs.<name>}",
        ),
        (
            "a --x ${{inputs.x}} --y {inputs.y}",
            "component2",
            "'${{inputs.x}}' is CLI v2 placeholder syntax at column 7 of the command",
            "a 2.0 component writes {inputs.<name>} and {outputs.<name>}",
        ),
        (
            "a --x {{inputs.x}} --y ${{inputs.y}}",
            "cli_v2",
            "'{{inputs.x}}' is not a CLI v2 placeholder at column 7 of the command",
            "a CLI v2 component writes ${{inputs.<name>}} and ${{outputs.<name>}}",
        ),
        (
            "a --x {inputs.x}",
            "cli_v2",
            "'{inputs.x}' is not a CLI v2 placeholder at column 7 of the command",
            "a CLI v2 component writes ${{inputs.<name>}} and ${{outputs.<name>}}",
        ),
        (
            "a \\",
            "component2",
            "the backslash at column 3 of the command escapes nothing: it ends the command",
            "remove it",
        ),
    ],
)
def test_errors(command: str, style: TemplateStyle, message: str, hint: str) -> None:
    assert reason(command, style) == (message, hint)


def test_error_carries_file_line_and_field() -> None:
    text = "name: m\ncommand: >-\n  python run.py\n  --x {input.x}\n"
    with pytest.raises(SpecError) as info:
        parse_yaml(text, "component2")
    assert info.value.location.file == SPEC
    assert info.value.location.line == 2
    assert info.value.location.field == "command"
    assert str(info.value).startswith(f"{SPEC}:2:10: command: unknown placeholder namespace")


def test_error_in_a_literal_block_names_the_line_inside_the_command() -> None:
    text = "command: |\n  python run.py\n  --x {inputs.x\n"
    with pytest.raises(SpecError) as info:
        parse_yaml(text, "component2")
    assert info.value.reason == "unclosed '{' at line 2, column 5 of the command: '{inputs.x'"


def test_non_string_command_is_a_located_error() -> None:
    with pytest.raises(SpecError) as info:
        parse_yaml("command: [python, run.py]\n", "cli_v2")
    assert info.value.reason == "expected a string, found a list"


# ---- shell mode ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "style"),
    [
        ("mkdir -p ${{outputs.o}} && python a.py", "cli_v2"),
        ("a || b", "cli_v2"),
        ("cat ${{inputs.d}} | python count.py", "cli_v2"),
        ("a; b", "cli_v2"),
        ("a &", "cli_v2"),
        ("python a.py > ${{outputs.log}}/out.txt", "cli_v2"),
        ("a >> log", "cli_v2"),
        ("a < in.txt", "cli_v2"),
        ("a 2>&1", "cli_v2"),
        ("a &> log", "cli_v2"),
        ("(cd src && a)", "cli_v2"),
        ("cat ${{inputs.data}}/*.csv", "cli_v2"),
        ("ls x?", "cli_v2"),
        ("ls [ab]", "cli_v2"),
        ("[ -f x ]", "cli_v2"),
        ("python x.py --seed $RANDOM_SEED", "cli_v2"),
        ("echo ${HOME}", "cli_v2"),
        ("echo $1 $? $$ $@", "cli_v2"),
        ("echo $(pwd)", "cli_v2"),
        ("echo `pwd`", "cli_v2"),
        ('echo "$HOME"', "cli_v2"),
        ('echo "a $(pwd) b"', "cli_v2"),
        ("echo $'a\\tb'", "cli_v2"),
        ("ls ~/data", "cli_v2"),
        ("PYTHONPATH=src python a.py", "cli_v2"),
        ("python a.py {inputs.x} > {outputs.o}/log.txt", "component2"),
        ("cat {inputs.d}/*.csv", "component2"),
        ("echo $HOME [--x {inputs.x}]", "component2"),
    ],
)
def test_shell_syntax_makes_a_shell_template(command: str, style: TemplateStyle) -> None:
    assert parse_command_text(command, style).shell


@pytest.mark.parametrize(
    ("command", "style"),
    [
        ("python a.py '&&' '|' ';' '>' '*.txt' '$HOME' '~' '`pwd`'", "cli_v2"),
        ('echo "a && b" "*.txt" "~"', "cli_v2"),
        ("echo a\\&\\&b \\$HOME \\*", "cli_v2"),
        ("echo a#b", "cli_v2"),
        ("a # && b > c $HOME", "cli_v2"),
        ("echo a~b --x=1 $ / x$", "cli_v2"),
        ('echo "$" "a$"', "cli_v2"),
        ("a ${{inputs.x}} $${{inputs.x}} $[[--o ${{inputs.o}}]]", "cli_v2"),
        ("a [--o {inputs.o}] [[x]] ${inputs.x}", "component2"),
        ("python a.py --x=1 y=2", "component2"),
    ],
)
def test_plain_commands_need_no_shell(command: str, style: TemplateStyle) -> None:
    template = parse_command_text(command, style)
    assert not template.shell
    assert template.script is None


def SW(*pieces: str | ShellRef) -> ShellWord:
    return ShellWord(pieces)


def SR(ref: Ref, quoting: Quoting = Quoting.NONE) -> ShellRef:
    return ShellRef(ref, quoting)


@pytest.mark.parametrize(
    ("command", "style", "script"),
    [
        (
            "mkdir -p ${{outputs.o}} && echo hi > ${{outputs.o}}/x.txt",
            "cli_v2",
            (
                *(SW("mkdir"), " ", SW("-p"), " ", SW(SR(OUT("o"))), " && "),
                *(SW("echo"), " ", SW("hi"), " > ", SW(SR(OUT("o")), "/x.txt")),
            ),
        ),
        (
            "echo \"a ${{inputs.x}}\" 'b ${{ inputs.x }}' $'c${{inputs.x}}';",
            "cli_v2",
            (
                *(SW("echo"), " ", SW('"a ', SR(IN("x"), Quoting.DOUBLE), '"'), " "),
                *(SW("'b ", SR(IN("x"), Quoting.SINGLE), "'"), " "),
                SW("$'c", SR(IN("x"), Quoting.ANSI_C), "'"),
                ";",
            ),
        ),
        (
            'echo "$(cat "{inputs.f}")" $(cat {inputs.f}) # {inputs.f} ok\nls',
            "component2",
            (
                *(SW("echo"), " ", SW('"$(cat "', SR(IN("f"), Quoting.DOUBLE), '")"'), " "),
                SW("$(cat ", SR(IN("f")), ")"),
                " # {inputs.f} ok\n",
                SW("ls"),
            ),
        ),
        (
            "a [--k {inputs.k} [--j {inputs.j}] ] > o",
            "component2",
            (
                SW("a"),
                " ",
                ShellGroup(
                    (
                        SW("--k"),
                        " ",
                        SW(SR(IN("k"))),
                        " ",
                        ShellGroup((SW("--j"), " ", SW(SR(IN("j"))))),
                        " ",
                    )
                ),
                " > ",
                SW("o"),
            ),
        ),
        # A group bracket ends a word, as in the argv reading, so the words stay apart.
        (
            "a[--k={inputs.k}][--j {inputs.j}]b;",
            "component2",
            (
                SW("a"),
                " ",
                ShellGroup((SW("--k=", SR(IN("k"))),)),
                " ",
                ShellGroup((SW("--j"), " ", SW(SR(IN("j"))))),
                " ",
                SW("b"),
                ";",
            ),
        ),
        (
            "a $[[--o ${{inputs.o}}]] [[ -f x ]] && b",
            "cli_v2",
            (
                SW("a"),
                " ",
                ShellGroup((SW("--o"), " ", SW(SR(IN("o"))))),
                " ",
                *(SW("[["), " ", SW("-f"), " ", SW("x"), " ", SW("]]"), " && ", SW("b")),
            ),
        ),
        # Escapes become the bare bracket or brace; bash reads them as it would on AzureML.
        (
            "{{ echo [[x]]; }}",
            "component2",
            (SW("{"), " ", SW("echo"), " ", SW("[x]"), "; ", SW("}")),
        ),
        # `$` right before a value stays a literal `$`, as in the argv reading.
        (
            'echo x$${{inputs.x}} "$${{inputs.x}}" ;',
            "cli_v2",
            (
                SW("echo"),
                " ",
                SW("x\\$", SR(IN("x"))),
                " ",
                SW('"\\$', SR(IN("x"), Quoting.DOUBLE), '"'),
                " ;",
            ),
        ),
        # So does a backslash that the argv reading kept as text.
        (
            'echo "\\{inputs.x}" "$(echo \\{inputs.x})" ;',
            "component2",
            (
                SW("echo"),
                " ",
                SW('"\\\\', SR(IN("x"), Quoting.DOUBLE), '"'),
                " ",
                SW('"$(echo \\\\', SR(IN("x")), ')"'),
                " ;",
            ),
        ),
        (
            "a \\\n  b && c\\\r\n  d",
            "cli_v2",
            (SW("a"), " \\\n  ", SW("b"), " && ", SW("c\\\n"), "  ", SW("d")),
        ),
        (
            "x=$((1 << 2)) cat <<< hi",
            "cli_v2",
            (SW("x=$((1 << 2))"), " ", SW("cat"), " <<< ", SW("hi")),
        ),
        # `$[...]` is bash's old arithmetic, where no quoting holds: a literal `$`, as in argv.
        ("echo $[[1]] ;", "component2", (SW("echo"), " ", SW("\\$[1]"), " ;")),
        ("echo $[1] ;", "cli_v2", (SW("echo"), " ", SW("\\$[1]"), " ;")),
        (
            'a[0]=1 "a[${{inputs.i}}]" ;',
            "cli_v2",
            (SW("a[0]=1"), " ", SW('"a[', SR(IN("i"), Quoting.DOUBLE), ']"'), " ;"),
        ),
        (
            "(( n = 1 )) && for ((;;)); do :; done",
            "cli_v2",
            (
                SW("(( n = 1 ))"),
                " && ",
                SW("for"),
                " ",
                SW("((;;))"),
                "; ",
                SW("do"),
                " ",
                SW(":"),
                "; ",
                SW("done"),
            ),
        ),
    ],
)
def test_shell_script(command: str, style: TemplateStyle, script: tuple[ShellItem, ...]) -> None:
    assert parse_command_text(command, style).script == script


def test_shell_template_keeps_its_words_for_checks_and_display() -> None:
    template = parse_yaml("command: 'cat ${{inputs.d}}/*.csv | wc -l > ${{outputs.n}}'\n", "cli_v2")
    assert template.parts == (
        T("cat"),
        T(IN("d"), "/*.csv"),
        *words("|", "wc", "-l", ">"),
        T(OUT("n")),
    )
    assert template.source == "cat ${{inputs.d}}/*.csv | wc -l > ${{outputs.n}}"


@pytest.mark.parametrize(
    ("command", "style", "message", "hint"),
    [
        (
            "a `cat {inputs.x}`",
            "component2",
            "a placeholder inside backticks at column 8 of the command cannot be quoted safely",
            "use $(...) instead of backticks",
        ),
        (
            "echo ${X:-${{inputs.x}}}",
            "cli_v2",
            "a placeholder inside ${...} at column 11 of the command cannot be quoted safely",
            "assign the value to a variable first, V=${{inputs.x}}, and use ${V...}",
        ),
        (
            "echo $(( {inputs.n} + 1 ))",
            "component2",
            "a placeholder inside $((...)) at column 10 of the command cannot be quoted safely",
            "assign the value to a variable first, N={inputs.n}, and use $((N ...))",
        ),
        (
            "(( n = {inputs.n} ))",
            "component2",
            "a placeholder inside ((...)) at column 8 of the command cannot be quoted safely",
            "assign the value to a variable first, N={inputs.n}, and use $((N ...))",
        ),
        (
            "for (( i=0; i<${{inputs.n}}; i++ )); do echo $i; done",
            "cli_v2",
            "a placeholder inside ((...)) at column 15 of the command cannot be quoted safely",
            "assign the value to a variable first, N=${{inputs.n}}, and use $((N ...))",
        ),
        (
            "a[${{inputs.i}}]=1; echo $a",
            "cli_v2",
            "a placeholder in an array subscript at column 3 of the command cannot be quoted"
            " safely",
            "quote the word, or assign the value to a variable first, I=${{inputs.i}}, and use"
            " a[$I]",
        ),
        (
            "echo $(declare -a x[${{inputs.i}}]=1)",
            "cli_v2",
            "a placeholder in an array subscript at column 21 of the command cannot be quoted"
            " safely",
            "quote the word, or assign the value to a variable first, I=${{inputs.i}}, and use"
            " a[$I]",
        ),
        (
            'echo "$(echo \')"',
            "cli_v2",
            "unbalanced quote: the ' at column 14 of the command is never closed, as bash reads"
            " the command",
            "close the quote; inside $(...) quotes start afresh, and in $'...' a backslash escapes"
            " the next character, as in bash",
        ),
        ("echo $(pwd", "cli_v2", "unclosed '$(' at column 6 of the command", "close it"),
        (
            "echo `pwd",
            "cli_v2",
            "unclosed '`' at column 6 of the command",
            "close it, or use $(...)",
        ),
        ("echo ${HOME", "cli_v2", "unclosed '${' at column 6 of the command", "close it with '}'"),
        (
            "a;# [--x {inputs.x}]",
            "component2",
            "the optional group at column 5 of the command is inside a bash comment",
            "a '#' after an operator such as ';' starts a comment in bash; put a blank before the"
            " '#' or move the group out of the comment",
        ),
        (
            "echo $(ls [--x {inputs.x}])",
            "component2",
            "an optional group inside $(...) at column 11 of the command is not supported",
            "keep optional groups outside quotes, $(...), ${...} and backticks",
        ),
        (
            "cat <<EOF > ${{outputs.o}}",
            "cli_v2",
            "a here-document ('<<') at column 5 of the command is not supported",
            "keep the text in a file in the code folder, or pipe it in:"
            " printf '%s\\n' ... | command",
        ),
    ],
)
def test_shell_errors(command: str, style: TemplateStyle, message: str, hint: str) -> None:
    assert reason(command, style) == (message, hint)


ATOMS = [
    *("a", " ", "\n", "\\", "'", '"', "$", "(", ")", "{", "}", "[", "]", "[[", "]]", "{{", "}}"),
    *("`", "#", ";", "&&", "|", "<", "<<", "<<<", ">", "*", "~", "X=", "$(", "$((", "${", "$'"),
    *("{inputs.x}", "${{inputs.x}}", "$[[", "\r", "{outputs.y}", "${{ outputs.y }}"),
]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(ATOMS), max_size=14), st.sampled_from(["component2", "cli_v2"]))
def test_any_command_parses_or_fails_cleanly(atoms: list[str], style: TemplateStyle) -> None:
    text = "".join(atoms)
    try:
        template = parse_command_text(text, style)
    except TemplateSyntaxError:
        return
    if template.script is not None:
        # Both readings agree on the placeholders, except those bash sees in a comment.
        assert set(_script_refs(template.script)) <= set(iter_refs(template.parts))


def _script_refs(items: tuple[ShellItem, ...]) -> list[Ref]:
    found: list[Ref] = []
    for item in items:
        if isinstance(item, ShellWord):
            found += [p.ref for p in item.pieces if isinstance(p, ShellRef)]
        elif isinstance(item, ShellGroup):
            found += _script_refs(item.items)
    return found
