"""Bad spec documents end in a spec error (exit 2) naming the file and, where there is one, the
field: an alias bomb is refused after a fixed budget, in constant memory; a document above
MAX_DOCUMENT_BYTES is refused before it is parsed, one of more than MAX_VALUES values before it
is composed; a path the system refuses (too long, a NUL byte) is an error of the field that
names it, never "internal error (OSError)"."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import pytest

from runner.cli.main import run_command
from runner.errors import SpecError
from runner.spec.load import load_spec
from runner.spec.source import ALIAS_BUDGET, MAX_DOCUMENT_BYTES, MAX_VALUES, parse_document

V2 = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: train_model
inputs:
  training_data: {type: uri_folder}
command: python train.py --data ${{inputs.training_data}}
environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest
"""


def bomb(levels: int) -> str:
    """The "billion laughs": each level repeats the one before nine times."""
    lines = ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    for i in range(1, levels):
        lines.append(f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n")
    return "".join(lines)


def cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    code = run_command(argv[0], list(argv[1:]), io.StringIO(), err)
    return code, err.getvalue()


def peak_bytes(text: str, path: Path) -> tuple[int, SpecError]:
    tracemalloc.start()
    try:
        with pytest.raises(SpecError) as caught:
            parse_document(path, text)
        return tracemalloc.get_traced_memory()[1], caught.value
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("levels", [9, 30])
def test_an_alias_bomb_is_refused_in_constant_memory(tmp_path: Path, levels: int) -> None:
    """Nine levels expand to 387 million values, thirty to 4e28: both cost the same few MB."""
    peak, error = peak_bytes(V2 + bomb(levels), tmp_path / "spec.yml")
    assert f"aliases and merge keys repeat more than {ALIAS_BUDGET} values" in str(error)
    assert "alias bomb" in str(error)
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB"


def test_an_alias_bomb_through_the_command_line(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yml"
    spec.write_text(V2 + bomb(9), encoding="utf-8")
    code, err = cli("validate", str(spec))
    assert code == 2 and err.startswith(f"error: {spec}:") and "alias bomb" in err, err


def test_a_merge_key_bomb_is_refused(tmp_path: Path) -> None:
    """`<<` copies keys as aliases copy values: nested merges of wide mappings are counted."""
    lines = ["m0: &m0 {" + ", ".join(f"k{i}: {i}" for i in range(200)) + "}\n"]
    lines += [f"m{i}: &m{i} {{<<: *m{i - 1}, x{i}: {i}}}\n" for i in range(1, 200)]
    with pytest.raises(SpecError, match="aliases and merge keys repeat more than"):
        parse_document(tmp_path / "spec.yml", "".join(lines))


def test_aliases_and_merge_keys_of_a_real_spec_load(tmp_path: Path) -> None:
    """A few anchors shared between inputs, and merge keys: own keys win, then the first merged
    mapping (YAML's merge rule)."""
    text = (
        "base: &base {type: integer, min: 0, description: base}\n"
        "other: &other {description: other, max: 9}\n"
        "inputs:\n"
        "  a: {<<: [*base, *other], min: 1}\n"
        "  b: *base\n"
    )
    data = parse_document(tmp_path / "spec.yml", text).data
    assert isinstance(data, dict)
    assert data["inputs"] == {
        "a": {"min": 1, "type": "integer", "description": "base", "max": 9},
        "b": {"type": "integer", "min": 0, "description": "base"},
    }


def test_a_merge_key_that_includes_itself(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="merge key"):
        parse_document(tmp_path / "spec.yml", "a: &a {x: 1, <<: *a}\n")


def test_a_document_above_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yml"
    padding = "# " + "x" * 1000 + "\n"
    spec.write_text(V2 + padding * (MAX_DOCUMENT_BYTES // len(padding) + 1), encoding="utf-8")
    tracemalloc.start()
    try:
        code, err = cli("validate", str(spec))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2 and err == (
        f"error: {spec}: larger than 5 MB\n"
        "  hint: a spec is a few kilobytes: keep data in files that the spec names\n"
    )
    # The file is read up to the limit, never parsed: a few times its size at most.
    assert peak < 4 * MAX_DOCUMENT_BYTES


def test_a_document_just_under_the_limit_is_parsed(tmp_path: Path) -> None:
    padding = "# " + "x" * 1000 + "\n"
    text = V2 + padding * (MAX_DOCUMENT_BYTES // len(padding) - 10)
    assert parse_document(tmp_path / "spec.yml", text).data is not None


def test_a_document_of_too_many_values_is_refused_before_it_is_composed(tmp_path: Path) -> None:
    text = V2 + "tags:\n" + "".join(f"  - {i}\n" for i in range(MAX_VALUES + 1))
    with pytest.raises(SpecError, match=f"holds more than {MAX_VALUES} values"):
        parse_document(tmp_path / "spec.yml", text)


def test_thousands_of_unknown_keys_are_counted_not_listed(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yml"
    (tmp_path / "train.py").write_text("")
    extra = "".join(f"extra{i}: {i}\n" for i in range(5000))
    spec.write_text(V2 + extra, encoding="utf-8")
    code, err = cli("validate", str(spec))
    assert code == 0, err
    lines = err.splitlines()
    assert sum("unknown key '" in line for line in lines) == 10
    assert any(line.endswith(": 4990 more unknown keys are ignored") for line in lines), err


@pytest.mark.parametrize(
    ("field", "written"),
    [
        ("code", "a" * 5000),  # ENAMETOOLONG
        ("code", "x/" * 3000),
        ("code", "bad\\0name"),  # a NUL byte
    ],
)
def test_a_path_the_system_refuses_is_an_error_of_its_field(
    tmp_path: Path, field: str, written: str
) -> None:
    spec = tmp_path / "spec.yml"
    spec.write_text(V2 + f'{field}: "{written}"\n', encoding="utf-8")
    code, err = cli("validate", str(spec))
    assert code == 2, err
    assert err.startswith(f"error: {spec}:8:7: {field}: "), err
    assert "internal error" not in err and "Traceback" not in err
    assert len(err) < 1000  # the over-long path is shortened in the message


@pytest.mark.parametrize("written", ["c" * 5000 + ".yml", "conda\\0.yml"])
def test_a_conda_file_name_the_system_refuses(tmp_path: Path, written: str) -> None:
    spec = tmp_path / "spec.yml"
    (tmp_path / "train.py").write_text("")
    text = V2.replace(
        "environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest\n",
        f'environment:\n  image: python:3.11\n  conda_file: "{written}"\n',
    )
    spec.write_text(text, encoding="utf-8")
    code, err = cli("validate", str(spec))
    assert code == 2 and f"error: {spec}:9:" in err and "conda_file" in err, err
    assert "internal error" not in err


def test_a_spec_path_the_system_refuses(tmp_path: Path) -> None:
    code, err = cli("validate", str(tmp_path / ("s" * 5000 + ".yml")))
    assert code == 2 and "cannot read spec file" in err and "internal error" not in err, err
    with pytest.raises(SpecError, match="cannot read spec file"):
        load_spec(tmp_path / "bad\0.yml")
