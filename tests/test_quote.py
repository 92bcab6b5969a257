"""Messages quote a user's value with a bounded length: a 30 MB value is never echoed whole."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.cli import main as cli
from runner.errors import QUOTE_LIMIT, quote

HUGE = "x" * 30_000_000
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
