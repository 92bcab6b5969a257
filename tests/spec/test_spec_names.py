"""Names: what each generation accepts as a component name and as a port name (the rules of
docs/reference.md, one test per rule), and python names that are always identifiers."""

from __future__ import annotations

import keyword

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spec_files import LoadSpec

from runner.errors import SpecError
from runner.spec.names import python_name

V2 = (
    "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
    "type: command\nname: {name}\ncommand: echo\n"
)
V2_PORTS = V2.format(name="m") + "inputs:\n  {port}: {{type: string}}\n"
C2 = "$schema: http://azureml/sdk-2-0/CommandComponent.json\nname: {name}\ncommand: echo\n"
C2_PORTS = C2.format(name="m") + "inputs:\n  {port}: {{type: String}}\n"
LEGACY = (
    "amlModuleIdentifier: {{moduleName: {name}, moduleVersion: 1}}\n"
    "inputs:\n- {{name: {port}, type: String}}\n"
    "implementation: {{container: {{command: [echo]}}}}\n"
)


def refused(load: LoadSpec, text: str) -> str:
    with pytest.raises(SpecError) as caught:
        load(text)
    return caught.value.reason


# ---- CLI v2 -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["train_model", "t", "train2", "a_b_c_1"])
def test_v2_component_names_are_lowercase_letters_digits_and_underscores(
    load: LoadSpec, name: str
) -> None:
    assert load(V2.format(name=name)).name == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Train_Model", "upper case"),
        ("train-model", "a dash"),
        ("train.model", "a dot"),
        ("2train", "a digit first"),
        ("_train", "an underscore first"),
        ("train model", "a space"),
    ],
)
def test_v2_component_names_refuse(load: LoadSpec, name: str, why: str) -> None:
    assert refused(load, V2.format(name=f"'{name}'")).startswith(f"invalid name {name!r}"), why


def test_v2_component_names_have_at_most_255_characters(load: LoadSpec) -> None:
    assert load(V2.format(name="a" * 255)).name == "a" * 255
    assert "at most 255 characters" in refused(load, V2.format(name="a" * 256))


@pytest.mark.parametrize("port", ["training_data", "TrainingData", "_private", "x1"])
def test_v2_port_names_are_identifiers_of_either_case(load: LoadSpec, port: str) -> None:
    assert load(V2_PORTS.format(port=port)).inputs[0].name == port


@pytest.mark.parametrize("port", ["training-data", "training.data", "1st", "'in put'"])
def test_v2_port_names_refuse_dashes_dots_spaces_and_a_digit_first(
    load: LoadSpec, port: str
) -> None:
    message = refused(load, V2_PORTS.format(port=port))
    assert "a CLI v2 input or output name is letters, digits and '_'" in message


def test_v2_port_names_must_differ_ignoring_case(load: LoadSpec) -> None:
    text = V2.format(name="m") + "inputs:\n  Data: {type: string}\n  data: {type: string}\n"
    assert "both answer to the name 'data'" in refused(load, text)


# ---- component 2.0 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["microsoft.com.cat.stratified_splitter", "Hello-World", "train_model", "_x"]
)
def test_component_2_names_take_dots_dashes_and_upper_case(load: LoadSpec, name: str) -> None:
    assert load(C2.format(name=name)).name == name


@pytest.mark.parametrize("name", ["'Hello World'", "'-x'", "'.x'", "'a/b'"])
def test_component_2_names_refuse_spaces_and_punctuation_first(load: LoadSpec, name: str) -> None:
    assert "a 2.0 component name starts with a letter or '_'" in refused(load, C2.format(name=name))


@pytest.mark.parametrize("port", ["input_path", "'Input path'", "Ratio-1"])
def test_component_2_port_names_are_free_text(load: LoadSpec, port: str) -> None:
    assert load(C2_PORTS.format(port=port)).inputs[0].name == port.strip("'")


# ---- legacy -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["SAR Scoring", "Stratified Splitter (1.1)", "a/b"])
def test_legacy_names_are_free_text(load: LoadSpec, name: str) -> None:
    assert load(LEGACY.format(name=f"'{name}'", port="'Input path'")).name == name


@pytest.mark.parametrize("name", ['"a\\tb"', '"line\\nbreak"', '"nul\\0"'])
def test_legacy_names_are_one_line(load: LoadSpec, name: str) -> None:
    assert "cannot hold control characters" in refused(load, LEGACY.format(name=name, port="x"))
    assert "cannot hold control characters" in refused(load, LEGACY.format(name="M", port=name))


def test_legacy_names_are_not_blank(load: LoadSpec) -> None:
    assert "expected the module's name" in refused(load, LEGACY.format(name="' '", port="x"))
    assert "expected the input's name" in refused(load, LEGACY.format(name="M", port="' '"))


def test_every_name_has_at_most_255_characters(load: LoadSpec) -> None:
    assert "at most 255" in refused(load, LEGACY.format(name="M" * 256, port="x"))
    assert "at most 255" in refused(load, C2.format(name="m" * 256))


# ---- python names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Input path", "input_path"),
        ("2nd stage", "n2nd_stage"),
        ("Top k (items)", "top_k_items"),
        ("class", "class_"),
        ("x²", "x"),
        ("½ share", "share"),
        ("Größe", "größe"),
    ],
)
def test_python_names(name: str, expected: str) -> None:
    assert python_name(name) == expected


@given(st.text(max_size=20))
def test_a_python_name_is_an_identifier_or_empty(name: str) -> None:
    found = python_name(name)
    assert found == "" or (found.isidentifier() and not keyword.iskeyword(found))
