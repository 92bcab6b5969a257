"""Binding: names, coercion, ranges, enum children, required inputs, paths, outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.bind.bindings import Bindings, bind
from runner.errors import BindingError
from runner.spec.model import (
    Enabler,
    EnumOption,
    Generation,
    InputPort,
    ModuleSpec,
    OutputPort,
    Parameter,
    ParamType,
    ParamValue,
)
from runner.spec.names import python_name

# ---- a small spec factory -----------------------------------------------------------------


def param(name: str, kind: ParamType = ParamType.STRING, **extra: Any) -> Parameter:
    return Parameter(name=name, python_name=python_name(name), type=kind, **extra)


def enum(name: str, *options: str | EnumOption, **extra: Any) -> Parameter:
    opts = tuple(EnumOption(o) if isinstance(o, str) else o for o in options)
    return param(name, ParamType.ENUM, options=opts, **extra)


def port(name: str, *types: str, **extra: Any) -> InputPort:
    return InputPort(name, python_name(name), types or ("AnyDirectory",), **extra)


def output(name: str, *types: str) -> OutputPort:
    return OutputPort(name, python_name(name), types or ("AnyDirectory",))


def module(
    *inputs: Parameter | InputPort,
    outputs: tuple[OutputPort, ...] = (),
    source: Path = Path("/specs/m/spec.yaml"),
) -> ModuleSpec:
    return ModuleSpec(
        source=source,
        generation=Generation.LEGACY,
        name="m",
        version="1",
        inputs=inputs,
        outputs=outputs,
    )


def failure(
    spec: ModuleSpec,
    values: dict[str, object],
    outputs: dict[str, object] | None = None,
    base_dir: Path = Path("/work"),
) -> tuple[str, str | None]:
    with pytest.raises(BindingError) as info:
        bind(spec, values, outputs, base_dir=base_dir)
    return info.value.message, info.value.hint


def bound_values(spec: ModuleSpec, values: dict[str, object]) -> dict[str, ParamValue]:
    return dict(bind(spec, values, base_dir=Path("/work")).values)


# ---- names --------------------------------------------------------------------------------

NAMED = module(
    param("Top k", ParamType.INTEGER, optional=True),
    param("mode", optional=True),
    outputs=(output("Model dir"),),
)


@pytest.mark.parametrize("key", ["Top k", "top_k"])
def test_original_or_python_name(key: str) -> None:
    assert bound_values(NAMED, {key: "3"}) == {"Top k": 3}


@pytest.mark.parametrize(
    ("values", "message", "hint"),
    [
        (
            {"Top_K": 1},
            "unknown input 'Top_K'; known inputs: 'Top k' (top_k), 'mode'",
            "did you mean 'top_k'?",
        ),
        (
            {"zzz": 1},
            "unknown input 'zzz'; known inputs: 'Top k' (top_k), 'mode'",
            None,
        ),
        (
            {"model_dir": "/x"},
            "unknown input 'model_dir'; known inputs: 'Top k' (top_k), 'mode'",
            "'model_dir' is an output: give it with -o model_dir=...",
        ),
        (
            {"Top k": 1, "top_k": 2},
            "input 'Top k' (top_k) is given twice: as 'Top k' and as 'top_k'",
            "give it once, by either name",
        ),
    ],
)
def test_name_errors(values: dict[str, object], message: str, hint: str | None) -> None:
    assert failure(NAMED, values) == (message, hint)


def test_module_without_inputs() -> None:
    assert failure(module(), {"x": 1}) == ("unknown input 'x': the module has no inputs", None)


def test_none_means_not_given() -> None:
    assert bound_values(NAMED, {"top_k": None, "mode": "a"}) == {"mode": "a"}


# ---- coercion -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        (ParamType.INTEGER, "3", 3),
        (ParamType.INTEGER, " -7 ", -7),
        (ParamType.INTEGER, 5, 5),
        (ParamType.FLOAT, "0.75", 0.75),
        (ParamType.FLOAT, "1e-3", 0.001),
        (ParamType.FLOAT, 1, 1.0),
        (ParamType.FLOAT, 2.5, 2.5),
        (ParamType.BOOLEAN, "true", True),
        (ParamType.BOOLEAN, "TRUE", True),
        (ParamType.BOOLEAN, "False", False),
        (ParamType.BOOLEAN, False, False),
        (ParamType.STRING, "a b", "a b"),
        (ParamType.STRING, "", ""),
        (ParamType.STRING, 5, "5"),
        (ParamType.STRING, Path("/a/b"), "/a/b"),
    ],
)
def test_coercion(kind: ParamType, raw: object, expected: ParamValue) -> None:
    value = bound_values(module(param("v", kind)), {"v": raw})["v"]
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        (ParamType.INTEGER, "1.5", "parameter 'Top k' (top_k): expected an integer, got '1.5'"),
        (ParamType.INTEGER, "true", "parameter 'Top k' (top_k): expected an integer, got 'true'"),
        (ParamType.INTEGER, True, "parameter 'Top k' (top_k): expected an integer, got True"),
        (ParamType.INTEGER, 1.5, "parameter 'Top k' (top_k): expected an integer, got 1.5"),
        (ParamType.FLOAT, "abc", "parameter 'Top k' (top_k): expected a finite number, got 'abc'"),
        (ParamType.FLOAT, "nan", "parameter 'Top k' (top_k): expected a finite number, got 'nan'"),
        (ParamType.FLOAT, False, "parameter 'Top k' (top_k): expected a finite number, got False"),
        (ParamType.BOOLEAN, "yes", "parameter 'Top k' (top_k): expected true or false, got 'yes'"),
        (ParamType.BOOLEAN, "1", "parameter 'Top k' (top_k): expected true or false, got '1'"),
        (ParamType.BOOLEAN, 1, "parameter 'Top k' (top_k): expected true or false, got 1"),
        (ParamType.STRING, True, "parameter 'Top k' (top_k): expected a string, got True"),
        (ParamType.STRING, [1], "parameter 'Top k' (top_k): expected a string, got [1]"),
    ],
)
def test_coercion_errors(kind: ParamType, raw: object, message: str) -> None:
    assert failure(module(param("Top k", kind)), {"top_k": raw}) == (message, None)


SCORE_TYPE = enum("Score type", "Rating prediction", "Item recommendation", "10")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Item recommendation", "Item recommendation"),
        ("item RECOMMENDATION", "Item recommendation"),
        (" rating prediction ", "Rating prediction"),
        ("10", "10"),
        (10, "10"),
    ],
)
def test_enum_values(raw: object, expected: str) -> None:
    assert bound_values(module(SCORE_TYPE), {"score_type": raw}) == {"Score type": expected}


def test_enum_value_not_an_option() -> None:
    assert failure(module(SCORE_TYPE), {"score_type": "Item recomendation"}) == (
        "parameter 'Score type' (score_type): 'Item recomendation' is not one of"
        " 'Rating prediction', 'Item recommendation', '10'",
        "did you mean 'Item recommendation'?",
    )
    assert failure(module(SCORE_TYPE), {"score_type": "zzz"})[1] is None


def test_enum_without_options_takes_any_text() -> None:
    assert bound_values(module(enum("e")), {"e": "anything"}) == {"e": "anything"}


@pytest.mark.parametrize(
    ("limits", "raw", "message", "hint"),
    [
        (
            {"min": 1, "max": 10},
            "0",
            "parameter 'Top k' (top_k): 0 is below the minimum 1",
            "give a value from 1 to 10",
        ),
        (
            {"min": 1, "max": 10},
            11,
            "parameter 'Top k' (top_k): 11 is above the maximum 10",
            "give a value from 1 to 10",
        ),
        ({"min": 1}, -3, "parameter 'Top k' (top_k): -3 is below the minimum 1", None),
        ({"max": 5}, "6", "parameter 'Top k' (top_k): 6 is above the maximum 5", None),
    ],
)
def test_range_errors(limits: dict[str, int], raw: object, message: str, hint: str | None) -> None:
    spec = module(param("Top k", ParamType.INTEGER, **limits))
    got_message, got_hint = failure(spec, {"top_k": raw})
    assert got_message == message
    if hint is not None:
        assert got_hint == hint
    else:
        assert got_hint in ("give a value of at least 1", "give a value of at most 5")


def test_range_limits_are_inclusive_and_apply_to_floats() -> None:
    spec = module(param("r", ParamType.FLOAT, min=0, max=1))
    assert bound_values(spec, {"r": "1"}) == {"r": 1.0}
    assert bound_values(spec, {"r": 0}) == {"r": 0.0}
    assert failure(spec, {"r": "1.5"})[0] == "parameter 'r': 1.5 is above the maximum 1"


# ---- defaults and required inputs ---------------------------------------------------------


def test_defaults_fill_in_and_optional_stays_absent() -> None:
    spec = module(
        param("k", ParamType.INTEGER, default=10),
        param("r", ParamType.FLOAT, default=1),
        param("flag", ParamType.BOOLEAN, default=False),
        param("opt", optional=True),
    )
    values = bound_values(spec, {})
    assert values == {"k": 10, "r": 1.0, "flag": False}
    assert type(values["r"]) is float


def test_given_value_beats_default() -> None:
    assert bound_values(module(param("k", ParamType.INTEGER, default=10)), {"k": "3"}) == {"k": 3}


def test_missing_required_input() -> None:
    spec = module(port("Input path"), param("Top k", ParamType.INTEGER, default=3))
    assert failure(spec, {}) == (
        "missing required input 'Input path' (input_path)",
        "pass -i input_path=<path>",
    )


def test_missing_required_inputs_are_listed_together() -> None:
    spec = module(
        port("Input path"), param("Top k", ParamType.INTEGER), param("opt", optional=True)
    )
    assert failure(spec, {}) == (
        "missing required inputs 'Input path' (input_path), 'Top k' (top_k)",
        "pass -i input_path=<path> -i top_k=<value>",
    )


# ---- enum children ------------------------------------------------------------------------

RATING = "Rating prediction"
ITEM = "Item recommendation"
CHILDREN = module(
    enum(
        "Score type",
        EnumOption(RATING, ("Items to predict",)),
        EnumOption(ITEM, ("Top k",)),
        default=ITEM,
    ),
    enum(
        "Items to predict",
        "Items in training set",
        "Items in score set",
        default="Items in score set",
        enabled_by=Enabler("Score type", RATING),
    ),
    param("Top k", ParamType.INTEGER, default=10, min=1, enabled_by=Enabler("Score type", ITEM)),
)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, {"Score type": ITEM, "Top k": 10}),
        ({"top_k": "5"}, {"Score type": ITEM, "Top k": 5}),
        ({"score_type": RATING}, {"Score type": RATING, "Items to predict": "Items in score set"}),
        (
            {"score_type": "RATING PREDICTION"},
            {"Score type": RATING, "Items to predict": "Items in score set"},
        ),
        (
            {"score_type": RATING, "items_to_predict": "items in training set"},
            {"Score type": RATING, "Items to predict": "Items in training set"},
        ),
    ],
)
def test_enum_children(values: dict[str, object], expected: dict[str, ParamValue]) -> None:
    assert bound_values(CHILDREN, values) == expected


def test_disabled_child_given_a_value() -> None:
    assert failure(CHILDREN, {"score_type": RATING, "Top k": 3}) == (
        "parameter 'Top k' (top_k) applies only when 'Score type' (score_type) is"
        " 'Item recommendation' (it is 'Rating prediction')",
        "set -i 'score_type=Item recommendation', or drop top_k",
    )


def test_disabled_child_is_reported_before_its_bad_value() -> None:
    # Its value would never be used, so the mismatch is the error worth reporting.
    message, _ = failure(CHILDREN, {"top_k": "0", "score_type": RATING})
    assert message.startswith("parameter 'Top k' (top_k) applies only when")


def test_optional_parent_without_value_disables_its_children() -> None:
    spec = module(
        enum("mode", EnumOption("a", ("k",)), optional=True),
        param("k", ParamType.INTEGER, enabled_by=Enabler("mode", "a")),
    )
    assert bound_values(spec, {}) == {}
    assert failure(spec, {"k": 1}) == (
        "parameter 'k' applies only when 'mode' is 'a' ('mode' has no value)",
        "set -i mode=a, or drop k",
    )


CHAIN = module(
    enum("mode", EnumOption("a", ("sub",)), "b", default="b"),
    enum("sub", EnumOption("x", ("leaf",)), "y", enabled_by=Enabler("mode", "a")),
    param("leaf", ParamType.INTEGER, enabled_by=Enabler("sub", "x")),
    port("extra", optional=False, enabled_by=Enabler("mode", "a")),
)


def test_required_children_are_checked_only_when_enabled(tmp_path: Path) -> None:
    assert dict(bind(CHAIN, {}, base_dir=tmp_path).values) == {"mode": "b"}
    message, hint = failure(CHAIN, {"mode": "a"})
    assert message == "missing required inputs 'sub', 'extra'"
    assert hint == "pass -i sub=<value> -i extra=<path>"
    message, _ = failure(CHAIN, {"mode": "a", "sub": "x", "extra": str(tmp_path)}, None, tmp_path)
    assert message == "missing required input 'leaf'"


def test_chained_children_nest(tmp_path: Path) -> None:
    values = {"mode": "a", "sub": "x", "leaf": "4", "extra": "."}
    bindings = bind(CHAIN, values, base_dir=tmp_path)
    assert dict(bindings.values) == {"mode": "a", "sub": "x", "leaf": 4}
    assert dict(bindings.inputs) == {"extra": tmp_path}


def test_grandchild_of_a_disabled_child() -> None:
    assert failure(CHAIN, {"leaf": 1}) == (
        "parameter 'leaf' applies only when 'sub' is 'x' ('sub' is itself not in use)",
        "set -i sub=x, or drop leaf",
    )


def test_disabled_port_given_a_path(tmp_path: Path) -> None:
    assert failure(CHAIN, {"extra": "."}, None, tmp_path) == (
        "input 'extra' applies only when 'mode' is 'a' (it is 'b')",
        "set -i mode=a, or drop extra",
    )


# ---- input ports --------------------------------------------------------------------------


def test_relative_path_is_taken_from_base_dir(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    spec = module(port("Input path"))
    bindings = bind(spec, {"input_path": "data"}, base_dir=tmp_path)
    assert dict(bindings.inputs) == {"Input path": tmp_path / "data"}
    assert bind(spec, {"input_path": "./x/../data/"}, base_dir=tmp_path).inputs == {
        "Input path": tmp_path / "data"
    }


def test_absolute_path_and_pathlike(tmp_path: Path) -> None:
    spec = module(port("d"))
    assert bind(spec, {"d": tmp_path}, base_dir=Path("/elsewhere")).inputs == {"d": tmp_path}


def test_symlinked_input_keeps_its_name(tmp_path: Path) -> None:
    (tmp_path / "real.csv").write_text("x")
    (tmp_path / "link.csv").symlink_to(tmp_path / "real.csv")
    bindings = bind(module(port("f", "AnyFile")), {"f": "link.csv"}, base_dir=tmp_path)
    assert bindings.inputs == {"f": tmp_path / "link.csv"}


def test_missing_path(tmp_path: Path) -> None:
    spec = module(port("Input path"))
    assert failure(spec, {"input_path": "nope"}, None, tmp_path) == (
        f"input 'Input path' (input_path): path {tmp_path / 'nope'} does not exist",
        f"relative paths are taken from {tmp_path}",
    )
    assert failure(spec, {"input_path": str(tmp_path / "nope")}, None, tmp_path) == (
        f"input 'Input path' (input_path): path {tmp_path / 'nope'} does not exist",
        None,
    )


@pytest.mark.parametrize("raw", [3, "", "  ", True])
def test_port_value_must_be_a_path(raw: object) -> None:
    assert failure(module(port("d")), {"d": raw}) == (
        f"input 'd': expected a path, got {raw!r}",
        None,
    )


@pytest.mark.parametrize("types", [("AnyFile",), ("uri_file",)])
def test_file_port_given_a_folder_with_one_file(tmp_path: Path, types: tuple[str, ...]) -> None:
    (tmp_path / "model.pkl").write_text("m")
    (tmp_path / ".lock").write_text("")
    (tmp_path / "sub").mkdir()
    bindings = bind(module(port("Model", *types)), {"model": tmp_path}, base_dir=tmp_path)
    assert bindings.inputs == {"Model": tmp_path / "model.pkl"}


def test_file_port_given_a_folder_with_several_files(tmp_path: Path) -> None:
    for name in ("b.csv", "a.csv", "c.csv"):
        (tmp_path / name).write_text("")
    assert failure(module(port("Model file", "AnyFile")), {"model_file": "."}, None, tmp_path) == (
        f"input 'Model file' (model_file) takes one file, but folder {tmp_path} holds 3 files:"
        " a.csv, b.csv, c.csv",
        f"name the file itself: -i model_file={tmp_path / 'a.csv'}",
    )


def test_file_port_given_an_empty_folder(tmp_path: Path) -> None:
    assert failure(module(port("f", "AnyFile")), {"f": "."}, None, tmp_path) == (
        f"input 'f' takes one file, but folder {tmp_path} holds no file",
        "name the file itself: -i f=<file>",
    )


@pytest.mark.parametrize("types", [("AnyDirectory",), ("uri_folder",), ("mltable",)])
def test_folder_port_given_a_file(tmp_path: Path, types: tuple[str, ...]) -> None:
    (tmp_path / "f.csv").write_text("")
    assert failure(module(port("Data", *types)), {"data": "f.csv"}, None, tmp_path) == (
        f"input 'Data' (data) takes a folder ({types[0]}), but {tmp_path / 'f.csv'} is a file",
        f"give the folder that holds it: -i data={tmp_path}",
    )


@pytest.mark.parametrize(
    "types", [("AnyFile", "AnyDirectory"), ("path",), ("custom_model",), ("uri_file",)]
)
def test_ports_that_take_a_file(tmp_path: Path, types: tuple[str, ...]) -> None:
    (tmp_path / "f.csv").write_text("")
    bindings = bind(module(port("d", *types)), {"d": "f.csv"}, base_dir=tmp_path)
    assert bindings.inputs == {"d": tmp_path / "f.csv"}


@pytest.mark.parametrize("custom", ["MyFile", "DataFrameDirectory", "ModelDirectory"])
def test_a_custom_port_type_takes_a_file_or_a_folder_as_given(tmp_path: Path, custom: str) -> None:
    """A type that is neither built in nor registered says nothing of its kind: the path given
    is taken as it is (a folder is not narrowed to its one file, a file is not refused)."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "only.csv").write_text("")
    (tmp_path / "f.csv").write_text("")
    spec = module(port("d", custom))
    assert bind(spec, {"d": "f.csv"}, base_dir=tmp_path).inputs == {"d": tmp_path / "f.csv"}
    assert bind(spec, {"d": "folder"}, base_dir=tmp_path).inputs == {"d": tmp_path / "folder"}


def test_mixed_port_given_a_folder_keeps_the_folder(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("")
    spec = module(port("d", "AnyFile", "AnyDirectory"))
    assert bind(spec, {"d": "."}, base_dir=tmp_path).inputs == {"d": tmp_path}


def test_port_default_is_taken_from_the_spec_folder(tmp_path: Path) -> None:
    (tmp_path / "specs" / "data").mkdir(parents=True)
    spec = module(port("d", default="data"), source=tmp_path / "specs" / "m.yaml")
    assert bind(spec, {}, base_dir=Path("/elsewhere")).inputs == {"d": tmp_path / "specs" / "data"}


def test_missing_port_default(tmp_path: Path) -> None:
    spec = module(port("d", default="data"), source=tmp_path / "m.yaml")
    assert failure(spec, {}) == (
        f"input 'd': default path {tmp_path / 'data'} does not exist",
        f"relative paths are taken from {tmp_path}",
    )


def test_remote_port_default() -> None:
    spec = module(port("d", default="azureml://datastores/x/paths/y"))
    assert failure(spec, {}) == (
        "input 'd': its default 'azureml://datastores/x/paths/y' is not a local path",
        "give a local path: -i d=<path>",
    )


def test_given_path_beats_a_remote_default(tmp_path: Path) -> None:
    spec = module(port("d", default="https://example.com/data"))
    assert bind(spec, {"d": "."}, base_dir=tmp_path).inputs == {"d": tmp_path}


def test_optional_port_without_value_is_absent(tmp_path: Path) -> None:
    assert dict(bind(module(port("d", optional=True)), {}, base_dir=tmp_path).inputs) == {}


# ---- outputs ------------------------------------------------------------------------------

OUTS = module(outputs=(output("Model dir"), output("Report", "AnyFile")))


def test_outputs_resolve_against_base_dir(tmp_path: Path) -> None:
    bindings = bind(
        OUTS, {}, {"model_dir": "out/m", "Report": tmp_path / "r.txt"}, base_dir=tmp_path
    )
    assert dict(bindings.outputs) == {
        "Model dir": tmp_path / "out" / "m",
        "Report": tmp_path / "r.txt",
    }


def test_no_outputs_given(tmp_path: Path) -> None:
    assert dict(bind(OUTS, {}, base_dir=tmp_path).outputs) == {}
    assert dict(bind(OUTS, {}, {"report": None}, base_dir=tmp_path).outputs) == {}


@pytest.mark.parametrize(
    ("outputs", "message", "hint"),
    [
        (
            {"model": "m"},
            "unknown output 'model'; known outputs: 'Model dir' (model_dir), 'Report' (report)",
            "did you mean 'model_dir'?",
        ),
        (
            {"model_dir": "a", "report": "a"},
            "outputs 'Model dir' (model_dir) and 'Report' (report) both go to /work/a",
            "give each output its own path",
        ),
        ({"report": 5}, "output 'Report' (report): expected a path, got 5", None),
    ],
)
def test_output_errors(outputs: dict[str, object], message: str, hint: str | None) -> None:
    assert failure(OUTS, {}, outputs) == (message, hint)


def test_input_given_as_output() -> None:
    spec = module(port("Input path"), outputs=(output("o"),))
    assert failure(spec, {}, {"input_path": "x"}) == (
        "unknown output 'input_path'; known outputs: 'o'",
        "'input_path' is an input: give it with -i input_path=...",
    )


def test_output_kind_must_match_an_existing_path(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    assert failure(OUTS, {}, {"report": "."}, tmp_path) == (
        f"output 'Report' (report) is a file, but {tmp_path} is an existing folder",
        f"name a file: -o report={tmp_path / 'report'}",
    )
    assert failure(OUTS, {}, {"model_dir": "file"}, tmp_path) == (
        f"output 'Model dir' (model_dir) is a folder, but {tmp_path / 'file'} is an existing file",
        "name a folder (it is created when missing)",
    )


# ---- the result ---------------------------------------------------------------------------


def test_bindings_are_read_only() -> None:
    bindings = Bindings({"a": 1}, {}, {})
    with pytest.raises(TypeError):
        bindings.values["a"] = 2  # type: ignore[index]
    source = {"a": 1}
    copied = Bindings(source)
    source["a"] = 5
    assert copied.values == {"a": 1}


def test_a_parameter_typed_input_used_as_a_path_takes_a_file_or_a_folder(tmp_path: Path) -> None:
    # Legacy specs in the wild declare `type: String` and use the input as {inputPath: ...}:
    # it is a port, of unknown kind.
    spec = module(port("Model file", "String"))
    (tmp_path / "model.pkl").write_text("x")
    (tmp_path / "models").mkdir()
    for given in ("model.pkl", "models"):
        bindings = bind(spec, {"model_file": given}, base_dir=tmp_path)
        assert bindings.inputs["Model file"] == tmp_path / given
