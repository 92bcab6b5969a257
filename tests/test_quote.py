"""Messages quote a user's value with a bounded length: a 30 MB value is never echoed whole."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.cli import main as cli
from runner.errors import QUOTE_LIMIT, quote

HUGE = "x" * 30_000_000
# The largest value a spec file under the size limit (5 MB, docs/reference.md) can hold.
IN_A_SPEC = "x" * 4_000_000
# Enough for the message around the value, and far below any value worth cutting.
BOUND = 2_000

SPEC = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: bounded
version: 1
inputs:
  data: {type: uri_folder, optional: true}
  count: {type: integer, default: 1}
  mode: {type: string, default: fast, enum: [fast, slow]}
outputs:
  out: {type: uri_folder}
command: python -c "print(1)" ${{inputs.count}} ${{inputs.mode}} ${{outputs.out}}
"""

PIPELINE = """\
type: pipeline
inputs:
  count: 1
jobs:
  only:
    type: command
    component: ./module.yaml
    inputs:
      count: ${{parent.inputs.count}}
"""


def test_short_values_are_quoted_whole() -> None:
    assert quote("fast") == "'fast'"
    assert quote("a\nb") == "'a\\nb'"  # a newline stays visible on one line
    assert quote(3) == "3"


def test_long_values_are_cut_and_their_length_said() -> None:
    shown = quote(HUGE)
    assert shown.startswith("'" + "x" * QUOTE_LIMIT + "...'")
    assert shown.endswith("(30,000,000 characters)")
    assert len(shown) < 200
    assert len(quote(list(range(1_000_000)))) < 200
    assert quote("it's" * 100).startswith('"it')  # repr's own choice of quotes is kept


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ({"count": HUGE}, "(30,000,000 characters)"),  # not an integer
        ({"mode": HUGE}, "(30,000,000 characters)"),  # not one of the options
        ({"mode": "fsat"}, "'fsat' is not one of 'fast', 'slow'"),  # short: whole, and a guess
        ({"data": 12345}, "got 12345"),  # not a path
        ({HUGE: "1"}, "(30,000,000 characters)"),  # no such input
    ],
    ids=["integer", "enum", "typo", "path", "name"],
)
def test_binding_errors_quote_a_bounded_value(
    write_module: Callable[..., Path], given: dict[str, object], shown: str
) -> None:
    import runner

    module = runner.load_module(str(write_module(SPEC)))
    with pytest.raises(runner.RunnerError) as caught:
        module.run(**given)
    assert shown in str(caught.value)
    assert len(str(caught.value)) < BOUND


def test_cli_flags_quote_a_bounded_value(
    write_module: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_module(SPEC)
    big = "y" * 100_000  # about as long as one argument may be
    for argv in (
        ["render", str(spec), "-i", f"count={big}"],
        ["run", str(spec), "-i", big],  # no '='
        ["render", str(spec), "-i", f"mode={big}", "--json"],
    ):
        assert cli.main(argv) == 2
        out, err = capsys.readouterr()
        assert "(100,000 characters)" in err
        assert len(err) < BOUND and not out


def test_pipeline_values_are_quoted_bounded(
    write_module: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_module(SPEC)
    pipeline = spec.parent / "pipeline.yml"
    pipeline.write_text(textwrap.dedent(PIPELINE), encoding="utf-8")
    code = cli.main(["pipeline", "run", str(pipeline), "--set", f"count={'z' * 100_000}", "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "(100,000 characters)" in err + out
    assert len(err) + len(out) < BOUND
    if out:
        json.loads(out)


# A 4 MB value in one field of a real spec file, through real `runner validate` and `runner
# run` processes: whatever the outcome, what they print stays bounded.
END_TO_END = {
    "input type": (
        "data: {type: uri_folder, optional: true}",
        "data: {type: HUGE, optional: true}",
        0,
        "(4,000,000 characters)",
    ),
    "code": ("command:", "code: HUGE\ncommand:", 2, "characters): File name too long"),
    "enum default": (
        "mode: {type: string, default: fast, enum: [fast, slow]}",
        "mode: {type: string, default: HUGE, enum: [fast, slow]}",
        2,
        "(4,000,000 characters) is not one of the options: fast, slow",
    ),
    # A command is scanned a character at a time (4 MB: seconds): a shorter value will do.
    "program": ('command: python -c "print(1)"', "command: LONG", 0, ""),
    "name": (
        "name: bounded",
        "name: HUGE",
        2,
        "(4,000,000 characters): a CLI v2 component name has at most 255 characters",
    ),
    "version": ("version: 1", "version: HUGE", 0, "(4,000,008 characters))"),
}


@pytest.mark.parametrize("field", list(END_TO_END))
def test_a_huge_spec_value_gives_bounded_messages_end_to_end(tmp_path: Path, field: str) -> None:
    old, new, validated, said = END_TO_END[field]
    assert old in SPEC
    spec = tmp_path / "module.yaml"
    value = new.replace("HUGE", IN_A_SPEC).replace("LONG", "y" * 100_000)
    spec.write_text(SPEC.replace(old, value), encoding="utf-8")
    done = {}
    for argv in (["validate", str(spec)], ["run", str(spec), "--json"]):
        done[argv[0]] = found = subprocess.run(
            [sys.executable, "-m", "runner", *argv],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        printed = found.stdout + found.stderr
        assert len(printed) < BOUND, printed[:BOUND]
        assert "Traceback" not in printed and "internal error" not in printed, printed
    validate, run = done["validate"], done["run"]
    assert validate.returncode == validated, validate.stderr
    assert said in validate.stdout + validate.stderr
    if validated != 0:
        assert run.returncode == 2 and said in run.stderr, run.stderr
    elif run.returncode != 2:  # it ran (and maybe failed), rather than refusing an input
        result = json.loads(run.stdout)
        assert result["status"] in ("succeeded", "failed"), run.stdout
        if field == "program":
            assert result["message"].endswith("...' (100,000 characters): File name too long")
