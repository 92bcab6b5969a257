"""Legacy (`amlModuleIdentifier`) specs: every quirk seen in real files loads as documented."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runner.spec.load import load_spec
from runner.spec.model import (
    CondaDependencies,
    Distribution,
    Enabler,
    EnumOption,
    EnvironmentSpec,
    Generation,
    Include,
    InputPort,
    JobType,
    ModuleSpec,
    Parameter,
    ParamType,
)
from runner.template.model import CommandTemplate, Literal, OptionalGroup, Ref, RefKind, Token

LoadSpec = Callable[..., ModuleSpec]
FIXTURES = Path(__file__).parent / "fixtures"
RECO = FIXTURES / "recommenders/reco_utils/azureml/azureml_designer_modules/module_specs"
HEAD = "amlModuleIdentifier: {moduleName: M, moduleVersion: 0.0.1}\n"


def word(text: str) -> Token:
    return Token((Literal(text),))


def ref(kind: RefKind, name: str) -> Token:
    return Token((Ref(kind, name),))


def container(args: str, inputs: str = "", extra: str = "") -> str:
    return (
        f"{HEAD}inputs:\n{inputs}implementation:\n  container:\n    command: [python, a.py]\n"
        f"    args: {args}\n{extra}"
    )


def test_sar_score_enum_children_follow_their_parent_depth_first() -> None:
    spec = load_spec(RECO / "sar_score.yaml")
    assert spec.generation is Generation.LEGACY
    assert spec.identity == "microsoft.com/cat/SAR Scoring:1.1.1"
    assert spec.display_name == "SAR Scoring"
    assert spec.tags == (("Recommenders", ""),)
    assert [i.name for i in spec.inputs] == [
        "Trained model",
        "Dataset to score",
        "Score type",
        "Items to predict",
        "Ranking metric",
        "Remove seen items",
        "Top k",
        "Sort top k",
        "Normalize",
    ]
    score_type = spec.find_input("score_type")
    assert isinstance(score_type, Parameter)
    assert score_type.options == (
        EnumOption("Rating prediction", ("Items to predict",)),
        EnumOption("Item recommendation", ("Ranking metric", "Top k", "Sort top k")),
    )
    assert score_type.default == "Item recommendation"
    remove_seen = spec.find_input("Remove seen items")
    assert isinstance(remove_seen, Parameter)
    assert remove_seen.enabled_by == Enabler("Ranking metric", "Rating")
    assert remove_seen.type is ParamType.BOOLEAN and remove_seen.default is False
    top_k = spec.find_input("Top k")
    assert isinstance(top_k, Parameter)
    assert (top_k.default, top_k.min, top_k.enabled_by) == (
        10,
        1,
        Enabler("Score type", "Item recommendation"),
    )
    assert spec.ports == (
        InputPort(
            "Trained model", "trained_model", ("ModelDirectory",), "Folder holding the SAR model."
        ),
        InputPort(
            "Dataset to score", "dataset_to_score", ("DataFrameDirectory",), "Rows to score."
        ),
    )


def test_sar_score_command_conda_file_and_deprecated_includes() -> None:
    spec = load_spec(RECO / "sar_score.yaml")
    parts = spec.command.parts
    assert parts[:4] == (
        word("python"),
        word("reco_utils/azureml/azureml_designer_modules/entries/score_sar_entry.py"),
        word("--trained-model"),
        ref(RefKind.INPUT_PATH, "Trained model"),
    )
    assert parts[-1] == ref(RefKind.OUTPUT, "Score result")
    assert parts[7] == ref(RefKind.INPUT_VALUE, "Score type")
    assert spec.environment == EnvironmentSpec(
        conda=CondaDependencies(
            name="Recommenders_module_environment",
            channels=("defaults",),
            dependencies=("python=3.7",),
            pip=(
                "pandas>=0.23.4,<1.0.0",
                "pyarrow>=0.13.0",
                "azureml-designer-core==0.0.26.*",
                "scikit-learn==0.20.3",
            ),
        )
    )
    assert spec.code is not None
    assert spec.code.base == spec.code.spec_dir == RECO
    assert spec.code.includes == (
        Include("../../../", "implementation.container.additionalIncludes[0]"),
    )
    assert [w.message for w in spec.warnings] == [
        "inline additionalIncludes is deprecated: list the paths in"
        " sar_score.additional_includes next to the spec"
    ]
    assert spec.warnings[0].where.startswith(f"{RECO / 'sar_score.yaml'}:70:7: ")


def test_block_style_args_and_the_includes_file() -> None:
    spec = load_spec(RECO / "sar_train.yaml")
    assert spec.command.parts[2:4] == (word("--input-path"), ref(RefKind.INPUT_PATH, "Input path"))
    assert spec.command.parts[-2:] == (word("--output-model"), ref(RefKind.OUTPUT, "Output model"))
    assert spec.code is not None
    assert spec.code.includes == (Include("../../../", "sar_train.additional_includes:2"),)
    assert spec.warnings == ()


def test_optional_groups_list_types_and_module_flags() -> None:
    spec = load_spec(FIXTURES / "legacy/optional_input.yaml")
    assert spec.is_deterministic is False
    assert spec.job_type is JobType.BASIC
    assert spec.environment == EnvironmentSpec(image="mcr.microsoft.com/azureml/base:latest")
    optional = spec.find_input("optional_input_path")
    assert isinstance(optional, InputPort)
    assert optional.types == ("AnyFile", "AnyDirectory") and optional.optional
    assert not optional.is_file
    assert spec.outputs[0].is_file
    assert spec.command.parts[4] == OptionalGroup(
        (word("--optional-input-path"), ref(RefKind.INPUT_PATH, "Optional input path"))
    )
    assert spec.command.source == (
        "python optional_input.py --input-path {inputPath: Input path}"
        " [--optional-input-path {inputPath: Optional input path}]"
        " --string-param {inputValue: String parameter}"
        " [--optional-string-param {inputValue: Optional string parameter}]"
        " --output-path {outputPath: Output path}"
    )
    assert spec.warnings == ()


def test_block_style_group_parses_like_the_flow_style(load: LoadSpec) -> None:
    inputs = "- {name: X, type: String, optional: true}\n"
    flow = load(container("[[--x, {inputValue: X}]]", inputs))
    block = load(container("\n    - [--x, inputValue: X]", inputs))
    assert flow.command == block.command


def test_parallel_module(tmp_path: Path) -> None:
    spec = load_spec(FIXTURES / "legacy/parallel_score.yaml")
    assert spec.job_type is JobType.PARALLEL
    assert spec.command == CommandTemplate(())
    assert spec.parallel is not None
    assert spec.parallel.input_data == ("Images to score",)
    assert spec.parallel.output_data == "Scored images"
    assert spec.parallel.entry == "batch_score.py"
    assert spec.parallel.args.parts == (
        word("--model"),
        ref(RefKind.INPUT_PATH, "Model"),
        word("--label"),
        ref(RefKind.INPUT_VALUE, "Batch label"),
    )
    assert (
        spec.environment.base_image == "mcr.microsoft.com/azureml/base:intelmpi2018.3-ubuntu16.04"
    )
    assert spec.environment.conda == CondaDependencies(
        "project_environment", (), ("python=3.8",), ("azureml-defaults",)
    )


def test_hdinsight_module_loads() -> None:
    spec = load_spec(FIXTURES / "legacy/hello_hdinsight.yaml")
    assert spec.job_type is JobType.HDINSIGHT
    assert spec.command.source == (
        "main.py --input {inputPath: Input file} --output {outputPath: Output folder}"
    )


@pytest.mark.parametrize(
    ("written", "job_type"),
    [
        ("Basic", JobType.BASIC),
        ("basic", JobType.BASIC),
        ("Mpi", JobType.MPI),
        ("MPI", JobType.MPI),
    ],
)
def test_job_type_is_case_insensitive(load: LoadSpec, written: str, job_type: JobType) -> None:
    spec = load(f"{HEAD}jobType: {written}\nimplementation: {{container: {{command: [a]}}}}\n")
    assert spec.job_type is job_type
    expected = Distribution("mpi") if job_type is JobType.MPI else None
    assert spec.distribution == expected


def test_int_warns_and_mode_is_an_enum(load: LoadSpec, spec_path: Path) -> None:
    inputs = "- {name: N, type: Int, default: 3}\n- {name: M, type: Mode, options: [a, b]}\n"
    spec = load(container("[{inputValue: N}, {inputValue: M}]", inputs))
    n, m = spec.inputs
    assert (n.type, n.default) == (ParamType.INTEGER, 3)
    assert m.type is ParamType.ENUM and m.option_values == ("a", "b")
    assert [str(w) for w in spec.warnings] == [
        f"{spec_path}:3:19: inputs[0].type: type 'Int' is read as Integer; write Integer"
    ]


def test_input_path_makes_any_input_a_port(load: LoadSpec, spec_path: Path) -> None:
    inputs = "- {name: Data dir, type: String}\n"
    spec = load(container("[{inputPath: Data dir}]", inputs))
    assert spec.inputs == (InputPort("Data dir", "data_dir", ("String",)),)
    assert [str(w) for w in spec.warnings] == [
        f"{spec_path}:3:26: inputs[0].type: 'Data dir' is used as {{inputPath: ...}}:"
        " read as an input port"
    ]


def test_extra_keys_seen_in_real_files_are_accepted_quietly(load: LoadSpec) -> None:
    inputs = (
        "- name: Column\n  type: String\n  label: The column\n  port: false\n"
        "  columnPickerFor: Data\n  singleColumnSelection: true\n  argumentName: col\n"
    )
    spec = load(container("[--col, {inputValue: col}]", inputs))
    assert spec.inputs[0].python_name == "col"
    assert spec.find_input("col").name == "Column"
    assert spec.warnings == ()


def test_unknown_keys_warn_with_a_suggestion(load: LoadSpec, spec_path: Path) -> None:
    spec = load(HEAD + "descripton: typo\nimplementation: {container: {command: [a]}}\n")
    assert [str(w) for w in spec.warnings] == [
        f"{spec_path}:2:13: descripton: unknown key 'descripton' is ignored"
        " (did you mean 'description'?)"
    ]


def test_defaults_are_typed_by_the_declared_type(load: LoadSpec) -> None:
    inputs = (
        "- {name: F, type: Float, default: 1}\n- {name: I, type: Integer, default: '10'}\n"
        "- {name: B, type: Boolean, default: 'True'}\n- {name: S, type: String, default: 42}\n"
    )
    spec = load(container("[]", inputs))
    defaults = [i.default for i in spec.inputs]
    assert defaults == [1.0, 10, True, "42"]
    assert isinstance(defaults[0], float)


def test_literal_args_keep_their_yaml_text(load: LoadSpec) -> None:
    spec = load(container("[--k, 10, 0.5, true]"))
    assert spec.command.parts[2:] == (word("--k"), word("10"), word("0.5"), word("true"))


def test_pip_file_base_image_and_os(load: LoadSpec) -> None:
    extra = (
        "    amlEnvironment:\n      docker: {baseImage: ubuntu:22.04}\n"
        "      python: {pipRequirementsFile: req.txt}\n  os: Windows\n"
    )
    requirements = "# pinned\nnumpy==1.26  # math\n\n-r other.txt\n"
    spec = load(container("[]", extra=extra), {"req.txt": requirements})
    assert spec.environment == EnvironmentSpec(
        base_image="ubuntu:22.04", pip_requirements=("numpy==1.26", "-r other.txt"), os="windows"
    )


def test_base_image_without_dependencies_is_used_as_is(load: LoadSpec) -> None:
    extra = "    amlEnvironment: {docker: {baseImage: ubuntu:22.04}}\n"
    spec = load(container("[]", extra=extra))
    assert spec.environment == EnvironmentSpec(image="ubuntu:22.04")


@pytest.mark.parametrize(
    ("reference", "named"),
    [
        ("{name: AzureML-Minimal, version: '2'}", "azureml:AzureML-Minimal:2"),
        ("{name: X}", "azureml:X@latest"),
    ],
)
def test_environment_reference_form(load: LoadSpec, reference: str, named: str) -> None:
    spec = load(container("[]", extra=f"    amlEnvironment: {reference}\n"))
    assert spec.environment == EnvironmentSpec(named=named)


def test_includes_file_lines_crlf_blanks_and_comments(load: LoadSpec) -> None:
    listing = "../lib1\r\n\r\n# a comment\r\n  ../assets/LICENSE  \r\n../src/lib2.zip"
    spec = load(
        container("[]"),
        {
            "spec.additional_includes": listing,
            "../lib1/": "",
            "../assets/LICENSE": "",
            "../src/lib2/": "",
        },
    )
    assert spec.code.includes == (
        Include("../lib1", "spec.additional_includes:1"),
        Include("../assets/LICENSE", "spec.additional_includes:4"),
        Include("../src/lib2.zip", "spec.additional_includes:5"),
    )


def test_source_directory_is_the_absolute_snapshot_base(load: LoadSpec, spec_path: Path) -> None:
    spec = load(container("[]", extra="    sourceDirectory: ../src/./\n"), {"../src/a.py": ""})
    assert spec.code.base == spec_path.parent.parent / "src"
    assert spec.code.spec_dir == spec_path.parent
    assert spec.source == spec_path


def test_version_read_as_a_number_warns(load: LoadSpec) -> None:
    spec = load(
        "amlModuleIdentifier: {moduleName: M, moduleVersion: 1.10}\n"
        "implementation: {container: {command: [a]}}\n"
    )
    assert spec.version == "1.1"
    assert "quote it" in spec.warnings[0].message
