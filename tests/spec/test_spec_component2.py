"""Component 2.0 specs: map-style interface, one command string, code-relative files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runner.spec.load import load_spec
from runner.spec.model import (
    CondaDependencies,
    Distribution,
    EnumOption,
    EnvironmentSpec,
    Generation,
    Include,
    InputPort,
    JobType,
    ModuleSpec,
    Parameter,
    ParamType,
    ReturnCodeRule,
)
from runner.template.model import CommandTemplate, Literal, OptionalGroup, Ref, RefKind, Token

LoadSpec = Callable[..., ModuleSpec]
FIXTURES = Path(__file__).parent / "fixtures"
RECO = FIXTURES / "recommenders"
HEAD = "$schema: http://azureml/sdk-2-0/CommandComponent.json\nname: m\nversion: 0.0.1\n"


def test_stratified_splitter_code_is_the_repository_root() -> None:
    spec = load_spec(
        RECO / "reco_utils/azureml/azureml_designer_modules/module_specs/stratified_splitter.yaml"
    )
    assert spec.generation is Generation.COMPONENT_2
    assert (spec.name, spec.version, spec.display_name) == (
        "microsoft.com.cat.stratified_splitter",
        "1.1.1",
        "Stratified Splitter",
    )
    assert spec.tags == (("Recommenders", ""),)
    assert spec.code is not None and spec.code.base == RECO
    # The conda file path is relative to `code`, not to the spec.
    assert spec.environment.conda is not None
    assert spec.environment.conda.name == "Recommenders_module_environment"
    assert spec.environment.os == "linux"
    ratio = spec.find_input("ratio")
    assert ratio == Parameter(
        "ratio",
        "ratio",
        ParamType.FLOAT,
        "Share of the rows that go to the training set.\n",
        default=0.75,
        min=0.0,
        max=1.0,
    )
    assert [o.name for o in spec.outputs] == ["output_train_data", "output_test_data"]
    assert spec.command.parts[2:4] == (
        Token((Literal("--input-path"),)),
        Token((Ref(RefKind.INPUT, "input_path"),)),
    )
    assert spec.warnings == ()


def test_distributed_component() -> None:
    spec = load_spec(FIXTURES / "component2/distributed_train.yaml")
    assert spec.job_type is JobType.MPI
    assert spec.distribution == Distribution(
        "torch.distributed", additional_arguments="--nproc_per_node 2"
    )
    assert spec.is_deterministic is False
    assert spec.return_code is ReturnCodeRule.ZERO_OR_GREATER
    types = {i.name: (i.type if isinstance(i, Parameter) else i.types) for i in spec.inputs}
    assert types == {
        "training_data": ("path",),
        "epochs": ParamType.INTEGER,
        "learning_rate": ParamType.FLOAT,
        "optimizer": ParamType.ENUM,
        "verbose": ParamType.BOOLEAN,
    }
    optimizer = spec.find_input("optimizer")
    assert isinstance(optimizer, Parameter)
    assert optimizer.options == (EnumOption("sgd"), EnumOption("adam"))
    learning_rate = spec.find_input("learning_rate")
    assert isinstance(learning_rate, Parameter) and learning_rate.default == 1.0
    assert spec.environment_variables == (
        ("OMP_NUM_THREADS", "4"),
        ("DEBUG", "false"),
        ("EMPTY", ""),
    )
    assert spec.environment == EnvironmentSpec(
        image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"
    )
    assert (
        OptionalGroup((Token((Literal("--verbose"),)), Token((Ref(RefKind.INPUT, "verbose"),))))
        in spec.command.parts
    )


def test_parallel_component() -> None:
    spec = load_spec(FIXTURES / "component2/parallel_score.yaml")
    assert spec.job_type is JobType.PARALLEL
    assert spec.command == CommandTemplate(())
    assert spec.parallel is not None
    assert (spec.parallel.input_data, spec.parallel.output_data) == (("input_dir",), "output_dir")
    assert spec.parallel.entry == "score.py"
    assert spec.parallel.args.source == "--label {inputs.label}"
    assert spec.warnings == ()


@pytest.mark.parametrize(
    ("written", "job_type"),
    [
        ("CommandComponent", JobType.BASIC),
        ("CommandComponent@2", JobType.BASIC),
        ("CommandComponent@1-legacy", JobType.BASIC),
        ("commandcomponent", JobType.BASIC),
        ("DistributedComponent", JobType.MPI),
    ],
)
def test_component_types(load: LoadSpec, written: str, job_type: JobType) -> None:
    spec = load(f"{HEAD}type: {written}\ncommand: echo hi\n")
    assert spec.job_type is job_type


def test_hdinsight_component_loads(load: LoadSpec) -> None:
    spec = load(
        f"{HEAD}type: HDInsightComponent\ninputs:\n  data: {{type: AnyFile}}\n"
        "hdinsight:\n  file: main.py\n  args: --input {inputs.data}\n"
    )
    assert spec.job_type is JobType.HDINSIGHT
    assert spec.command.parts[0] == Token((Literal("main.py"),))


def test_unknown_type_warns_and_reads_as_a_command_component(
    load: LoadSpec, spec_path: Path
) -> None:
    spec = load(f"{HEAD}type: command_component\ncommand: echo hi\n")
    assert spec.job_type is JobType.BASIC
    assert [str(w) for w in spec.warnings] == [
        f"{spec_path}:4:7: type: unknown component type 'command_component' is read as"
        " CommandComponent"
    ]


def test_parameter_type_spellings(load: LoadSpec) -> None:
    inputs = "".join(
        f"  p{i}: {{type: {t}}}\n"
        for i, t in enumerate(
            [
                *("String", "string", "Integer", "integer", "int", "Float", "float", "number"),
                *("Boolean", "boolean", "AnyFile", "AnyDirectory", "path", "ImageDirectory"),
            ]
        )
    )
    spec = load(f"{HEAD}type: CommandComponent\ninputs:\n{inputs}command: echo\n")
    found = [i.type if isinstance(i, Parameter) else i.types[0] for i in spec.inputs]
    assert found == [
        *[ParamType.STRING] * 2,
        *[ParamType.INTEGER] * 3,
        *[ParamType.FLOAT] * 3,
        *[ParamType.BOOLEAN] * 2,
        *["AnyFile", "AnyDirectory", "path", "ImageDirectory"],
    ]
    assert spec.warnings == ()


def test_string_with_enum_is_an_enum(load: LoadSpec) -> None:
    spec = load(
        f"{HEAD}inputs:\n  mode: {{type: string, enum: [a, b], default: b}}\ncommand: echo\n"
    )
    mode = spec.inputs[0]
    assert isinstance(mode, Parameter)
    assert (mode.type, mode.option_values, mode.default) == (ParamType.ENUM, ("a", "b"), "b")


def test_command_may_use_the_python_name(load: LoadSpec) -> None:
    spec = load(
        f"{HEAD}inputs:\n  Input path: {{type: AnyDirectory}}\ncommand: ls {{inputs.input_path}}\n"
    )
    assert spec.inputs == (InputPort("Input path", "input_path", ("AnyDirectory",)),)


def test_dependency_files_fall_back_to_the_spec_folder(load: LoadSpec) -> None:
    text = (
        f"{HEAD}code: ../src\ncommand: echo\nenvironment:\n"
        "  docker: {baseImage: python:3.11}\n"
        "  conda: {conda_dependencies_file: env.yml, pip_requirements_file: req.txt}\n"
    )
    files = {
        "../src/": "",
        "env.yml": "dependencies: [python=3.11, {pip: [rich]}]\n",
        "../src/req.txt": "numpy\n",
    }
    spec = load(text, files)
    assert spec.environment == EnvironmentSpec(
        base_image="python:3.11",
        conda=CondaDependencies(dependencies=("python=3.11",), pip=("rich",)),
        pip_requirements=("numpy",),
    )


def test_inline_conda_and_registered_environment(load: LoadSpec) -> None:
    inline = load(
        f"{HEAD}command: echo\nenvironment:\n  conda:\n    conda_dependencies:\n"
        "      channels: [conda-forge]\n      dependencies: [python=3.9]\n"
    )
    assert inline.environment == EnvironmentSpec(
        conda=CondaDependencies(channels=("conda-forge",), dependencies=("python=3.9",))
    )
    named = load(f"{HEAD}command: echo\nenvironment: azureml:AzureML-Minimal:1\n")
    assert named.environment == EnvironmentSpec(named="azureml:AzureML-Minimal:1")


def test_additional_includes_file_and_inline_list(load: LoadSpec, spec_path: Path) -> None:
    from_file = load(
        f"{HEAD}command: echo\n", {"spec.additional_includes": "../lib\n", "../lib/": ""}
    )
    assert from_file.code is not None
    assert from_file.code.includes == (Include("../lib", "spec.additional_includes:1"),)
    (spec_path.parent / "spec.additional_includes").unlink()
    inline = load(f"{HEAD}command: echo\nadditional_includes: [../lib]\n")
    assert inline.code is not None
    assert inline.code.includes == (Include("../lib", "additional_includes[0]"),)
    assert [w.message for w in inline.warnings] == [
        "a 2.0 component lists additional includes in spec.additional_includes next to the spec"
    ]


def test_return_code_and_determinism_defaults(load: LoadSpec) -> None:
    spec = load(f"{HEAD}command: echo\n")
    assert spec.return_code is ReturnCodeRule.ZERO
    assert spec.is_deterministic is True
    assert spec.display_name == "m"
    assert spec.code is not None and spec.code.base == spec.source.parent


def test_a_mode_input_is_an_enum_parameter(load: LoadSpec) -> None:
    """Designer's trainers declare `Create trainer mode` as `type: Mode` with an enum: a value
    chosen from the enum and rendered as text, never a path port."""
    spec = load(
        f"{HEAD}inputs:\n"
        "  Create trainer mode:\n"
        "    type: Mode\n"
        "    default: SingleParameter\n"
        "    enum: [SingleParameter, ParameterRange]\n"
        "command: python a.py --mode {inputs.create_trainer_mode}\n"
    )
    mode = spec.inputs[0]
    assert isinstance(mode, Parameter)
    assert (mode.type, mode.option_values, mode.default) == (
        ParamType.ENUM,
        ("SingleParameter", "ParameterRange"),
        "SingleParameter",
    )
    assert spec.warnings == ()
