"""Data types: built in and registered, the naming rules, registration checks of a module's
port types, pipeline wiring through ancestors, and the kind a registered type gives a port."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_helpers import Cli, Json

from runner.pipeline.load import load_pipeline
from runner.pipeline.validate import check
from runner.registry.resolve import load_module_spec

# A 2.0 module with one input and one output of the given types; copies its input's listing.
MODULE = """\
$schema: http://azureml/sdk-2-0/CommandComponent.json
type: CommandComponent
name: {name}
version: 1.0.0
inputs:
  data: {{type: {input}, optional: true}}
outputs:
  result: {{type: {output}}}
command: >-
  python -c "import sys, os; open(os.path.join(sys.argv[1], 'seen.txt'), 'w').write(sys.argv[2])"
  {{outputs.result}} [{{inputs.data}}]
"""


def write_module(folder: Path, name: str, input_type: str, output_type: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(MODULE.format(name=name, input=input_type, output=output_type))
    return path


def test_register_list_and_show(run_json: Json, run_cli: Cli) -> None:
    tabular = run_json("datatype", "register", "TabularData", "--parent", "AnyDirectory",
                       "--description", "rows and columns")  # fmt: skip
    assert tabular["new"] is True and tabular["kind"] == "folder"
    csv = run_json("datatype", "register", "CsvFolder", "--parent", "tabulardata")
    assert csv["parent"] == "TabularData"
    assert csv["ancestors"] == ["TabularData", "AnyDirectory"]
    assert run_json("datatype", "register", "CsvFolder", "--parent", "TabularData")["new"] is False
    code, _, err = run_cli("datatype", "register", "CsvFolder", "--parent", "AnyFile")
    assert code == 2 and "already registered" in err
    shown = run_json("datatype", "show", "csvfolder")
    assert (shown["name"], shown["built_in"], shown["kind"]) == ("CsvFolder", False, "folder")
    names = [t["name"] for t in run_json("datatype", "list")["datatypes"]]
    assert {"AnyFile", "AnyDirectory", "uri_file", "uri_folder", "mltable", "path"} <= set(names)
    assert names[-2:] == ["CsvFolder", "TabularData"]
    code, out, _ = run_cli("datatype", "list")
    row = next(line for line in out.splitlines() if line.startswith("TabularData "))
    assert " ".join(row.split()) == "TabularData a folder parent AnyDirectory rows and columns"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("List<int>",), "holds '<', '>' or a control character"),
        (("Dict>",), "holds '<', '>' or a control character"),
        (("AnyFile",), "AnyFile is a built-in data type"),
        (("uri_folder",), "uri_folder is a built-in data type"),
        (("X", "--parent", "TabularDta"), "unknown data type 'TabularDta' (close: TabularData)"),
        ((" padded",), "starts or ends with spaces"),
    ],
)
def test_bad_data_types_are_refused(
    argv: tuple[str, ...], message: str, run_cli: Cli, run_json: Json
) -> None:
    run_json("datatype", "register", "TabularData")
    code, _, err = run_cli("datatype", "register", *argv)
    assert code == 2 and message in err
    assert len(run_json("datatype", "list")["datatypes"]) == 10  # nine built in, TabularData


def test_a_module_with_an_unknown_port_type_is_refused_until_it_is_registered(
    tmp_path: Path, run_cli: Cli, run_json: Json
) -> None:
    spec = write_module(tmp_path, "make_table", "AnyFile", "TabularData")
    code, _, err = run_cli("module", "register", spec)
    assert code == 2
    assert "unknown data type: port 'result': TabularData" in err
    assert "runner datatype register TabularData" in err
    assert run_json("module", "list")["modules"] == []
    run_json("datatype", "register", "TabularData", "--parent", "AnyDirectory")
    assert run_json("module", "register", spec)["status"] == "registered"
    bad = write_module(tmp_path, "bad", "AnyFile", "Table<Row>")
    code, _, err = run_cli("module", "register", bad)
    assert code == 2 and "may not hold '<' or '>'" in err


PIPELINE = """\
type: pipeline
jobs:
  make:
    component: ./{producer}.yaml
  use:
    component: ./{consumer}.yaml
    inputs:
      data: ${{{{parent.jobs.make.outputs.result}}}}
"""


@pytest.mark.parametrize(
    ("output", "into", "ok"),
    [
        ("CsvFolder", "CsvFolder", True),
        ("CsvFolder", "TabularData", True),  # an ancestor
        ("CsvFolder", "AnyDirectory", True),  # a wildcard of its kind
        ("TabularData", "CsvFolder", False),  # a descendant is not an ancestor
        ("CsvFolder", "ModelFolder", False),
        ("CsvFile", "AnyDirectory", False),  # takes the file kind of its AnyFile parent
        ("CsvFile", "AnyFile", True),
    ],
)
def test_pipeline_wiring_uses_registered_types(
    output: str, into: str, ok: bool, tmp_path: Path, run_json: Json
) -> None:
    run_json("datatype", "register", "TabularData", "--parent", "AnyDirectory")
    run_json("datatype", "register", "CsvFolder", "--parent", "TabularData")
    run_json("datatype", "register", "ModelFolder", "--parent", "AnyDirectory")
    run_json("datatype", "register", "CsvFile", "--parent", "AnyFile")
    write_module(tmp_path, "producer", "AnyFile", output)
    write_module(tmp_path, "consumer", into, "AnyDirectory")
    path = tmp_path / "pipeline.yml"
    path.write_text(PIPELINE.format(producer="producer", consumer="consumer"))
    problems = check(load_pipeline(path))
    assert (problems == []) is ok, problems


def test_a_registered_type_says_whether_a_port_takes_a_file_or_a_folder(
    tmp_path: Path, run_json: Json, run_cli: Cli
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "rows.csv").write_text("a\n")
    spec = write_module(tmp_path, "reader", "CsvFile", "AnyDirectory")
    # Unregistered, a custom type says nothing of its kind: a file or a folder, as given.
    assert run_json("render", spec, "-i", f"data={folder / 'rows.csv'}")["argv"][-1] == str(
        folder / "rows.csv"
    )
    assert run_json("render", spec, "-i", f"data={folder}")["argv"][-1] == str(folder)
    run_json("datatype", "register", "Tables", "--parent", "AnyDirectory")
    tables = write_module(tmp_path, "tables", "Tables", "AnyDirectory")
    code, _, err = run_cli("render", tables, "-i", f"data={folder / 'rows.csv'}")
    assert code == 2 and "takes a folder" in err
    run_json("datatype", "register", "CsvFile", "--parent", "AnyFile")
    module = load_module_spec(spec)
    assert [d.name for d in module.datatypes] == ["CsvFile"]
    # Registered as a file type: a file is taken, and a folder gives its single file.
    assert run_json("render", spec, "-i", f"data={folder / 'rows.csv'}")["argv"][-1] == str(
        folder / "rows.csv"
    )
    assert run_json("render", spec, "-i", f"data={folder}")["argv"][-1] == str(folder / "rows.csv")
    run_json("datatype", "register", "Anything", "--parent", "path")
    either = write_module(tmp_path, "either", "Anything", "AnyDirectory")
    assert run_json("render", either, "-i", f"data={folder}")["argv"][-1] == str(folder)
    assert run_json("render", either, "-i", f"data={folder / 'rows.csv'}")["argv"][-1] == str(
        folder / "rows.csv"
    )


def test_module_show_lists_registered_types_of_a_module(tmp_path: Path, run_json: Json) -> None:
    run_json("datatype", "register", "TabularData", "--parent", "AnyDirectory")
    spec = write_module(tmp_path, "make_table", "AnyFile", "TabularData")
    run_json("module", "register", spec)
    shown = run_json("module", "show", "make_table")
    assert shown["outputs"][0]["types"] == ["TabularData"]
    assert shown["registered"]["generation"] == "component-2.0"
