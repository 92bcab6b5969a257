"""CLI v2 command components: data types, `${{...}}` commands, single-file code, resources."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.errors import SpecError
from runner.spec.load import load_spec
from runner.spec.model import (
    CondaDependencies,
    Distribution,
    DockerBuild,
    EnvironmentSpec,
    Generation,
    Include,
    InputPort,
    JobType,
    ModuleSpec,
    Parameter,
    ParamType,
    Resources,
)
from runner.template.model import Literal, OptionalGroup, Ref, RefKind, Token

LoadSpec = Callable[..., ModuleSpec]
FIXTURES = Path(__file__).parent / "fixtures/cliv2"
HEAD = "type: command\nname: job\n"


def test_azureml_examples_train_component() -> None:
    spec = load_spec(FIXTURES / "train.yml")
    assert spec.generation is Generation.CLI_V2
    assert (spec.name, spec.version, spec.display_name) == ("my_train", "", "Train_upper_case")
    assert spec.inputs[0] == InputPort("training_data", "training_data", ("uri_folder",))
    epochs, rate, schedule = spec.inputs[1:]
    assert isinstance(epochs, Parameter) and (epochs.type, epochs.min, epochs.max) == (
        ParamType.INTEGER,
        0,
        100,
    )
    assert isinstance(rate, Parameter) and (rate.type, rate.default) == (ParamType.FLOAT, 0.01)
    assert isinstance(schedule, Parameter)
    assert (schedule.type, schedule.option_values, schedule.default) == (
        ParamType.ENUM,
        ("step", "time-based"),
        "time-based",
    )
    assert spec.environment == EnvironmentSpec(
        named="azureml://registries/azureml/environments/sklearn-1.0/labels/latest"
    )
    assert spec.code is not None
    assert (spec.code.base, spec.code.is_single_file) == (FIXTURES / "train_src", False)
    assert spec.command.parts[-1] == Token((Ref(RefKind.OUTPUT, "model_output"),))
    assert spec.warnings == ()


def test_mpi_component_with_single_file_code() -> None:
    spec = load_spec(FIXTURES / "mpi_train.yml")
    assert spec.version == "1.10"
    assert spec.tags == (("team", "vision"), ("tier", "2"))
    assert spec.is_deterministic is False
    assert spec.job_type is JobType.MPI
    assert spec.distribution == Distribution("mpi", process_count=4)
    assert spec.resources == Resources(instance_count=2, shm_size="2g", docker_args="--ipc=host")
    images, labels = spec.ports
    assert images.default == str(FIXTURES / "data")
    assert labels.optional and labels.is_file
    checkpoint, logs = spec.outputs
    assert checkpoint.is_file and not logs.is_file
    assert spec.code is not None
    assert (spec.code.base, spec.code.is_single_file) == (FIXTURES / "mpi_src/main.py", True)
    assert spec.code.includes == (
        Include("../shared/utils", "additional_includes[0]"),
        Include("../shared/LICENSE", "additional_includes[1]"),
    )
    assert spec.environment == EnvironmentSpec(
        base_image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04",
        conda=CondaDependencies(
            "mpi-env", ("conda-forge",), ("python=3.10", "pip"), ("torch==2.1.0",)
        ),
    )
    assert spec.environment_variables == (("NCCL_DEBUG", "INFO"),)
    assert (
        OptionalGroup((Token((Literal("--labels"),)), Token((Ref(RefKind.INPUT, "labels"),))))
        in spec.command.parts
    )
    assert spec.warnings == ()


def test_docker_build_environment(load: LoadSpec, spec_path: Path) -> None:
    spec = load(
        f"{HEAD}command: echo\nenvironment:\n"
        "  build: {path: docker, dockerfile_path: gpu.Dockerfile}\n",
        {"docker/": ""},
    )
    assert spec.environment == EnvironmentSpec(
        build=DockerBuild(spec_path.parent / "docker", "gpu.Dockerfile")
    )


def test_inline_conda_mapping_and_image_used_as_is(load: LoadSpec) -> None:
    inline = load(
        f"{HEAD}command: echo\nenvironment:\n  conda_file: {{dependencies: [python=3.12]}}\n"
    )
    assert inline.environment == EnvironmentSpec(
        conda=CondaDependencies(dependencies=("python=3.12",))
    )
    image = load(f"{HEAD}command: echo\nenvironment: {{image: 'python:3.12-slim'}}\n")
    assert image.environment == EnvironmentSpec(image="python:3.12-slim")


@pytest.mark.parametrize(
    "reference",
    [
        "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:33",
        "azureml:my-env@latest",
        "azureml://registries/azureml/environments/sklearn-1.5/versions/3",
    ],
)
def test_registered_environments(load: LoadSpec, reference: str) -> None:
    spec = load(f"{HEAD}command: echo\nenvironment: {reference}\n")
    assert spec.environment == EnvironmentSpec(named=reference)


@pytest.mark.parametrize(
    ("distribution", "expected"),
    [
        ("{type: pytorch, process_count_per_instance: 2}", Distribution("pytorch", 2)),
        (
            "{type: TensorFlow, worker_count: 3, parameter_server_count: 1}",
            Distribution("tensorflow", 3),
        ),
        ("{type: mpi}", Distribution("mpi", 1)),
    ],
)
def test_distributions(load: LoadSpec, distribution: str, expected: Distribution) -> None:
    spec = load(f"{HEAD}command: echo\ndistribution: {distribution}\n")
    assert spec.distribution == expected
    assert spec.job_type is (JobType.MPI if expected.type == "mpi" else JobType.BASIC)
    assert spec.warnings == ()


def test_remote_data_default_is_kept_and_mode_ignored(load: LoadSpec) -> None:
    spec = load(
        f"{HEAD}inputs:\n  data: {{type: uri_file, mode: download,"
        " default: 'azureml:iris:1'}\ncommand: cat ${{inputs.data}}\n"
    )
    assert spec.inputs == (InputPort("data", "data", ("uri_file",), default="azureml:iris:1"),)
    assert spec.warnings == ()


def test_unknown_data_type_and_enum_on_integer_warn(load: LoadSpec, spec_path: Path) -> None:
    spec = load(
        f"{HEAD}inputs:\n  d: {{type: AnyDirectory}}\n  n: {{type: integer, enum: [1, 2]}}\n"
        "command: ls ${{inputs.d}} ${{inputs.n}}\n"
    )
    assert [str(w) for w in spec.warnings] == [
        f"{spec_path}:4:13: inputs.d.type: unknown type 'AnyDirectory' is read as a data input"
        " (known: boolean, custom_model, integer, mlflow_model, mltable, number, path, string,"
        " triton_model, uri_file, uri_folder)",
        f"{spec_path}:5:28: inputs.n.enum: 'enum' applies only to string inputs; ignored",
    ]


def test_includes_file_next_to_a_v2_spec(load: LoadSpec) -> None:
    spec = load(
        f"{HEAD}command: echo\n", {"spec.additional_includes": "../common\n", "../common/": ""}
    )
    assert spec.code is not None
    assert spec.code.includes == (Include("../common", "spec.additional_includes:1"),)


def test_gpu_count(load: LoadSpec) -> None:
    spec = load(f"{HEAD}command: echo\nresources: {{gpu_count: 1, instance_type: Standard_NC6}}\n")
    assert spec.resources == Resources(gpu_count=1)


def test_runner_resources_extension(load: LoadSpec) -> None:
    text = "resources: {cpus: 2, memory: 512M, gpus: 1, custom: {worker_node: 1}}\n"
    spec = load(f"{HEAD}command: echo\n{text}")
    expected = Resources(gpu_count=1, cpus=2.0, memory=512 * 1024**2, custom=(("worker_node", 1),))
    assert spec.resources == expected
    assert load(f"{HEAD}command: echo\nresources: {{memory: 1000}}\n").resources.memory == 1000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{cpus: -1}", "cpus: expected a number of at least 0"),
        ("{memory: lots}", "memory: expected bytes, or a size such as 512M or 4G"),
        ("{custom: {a: x}}", "custom.a: expected a number"),
    ],
)
def test_bad_resources_are_located(load: LoadSpec, text: str, message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        load(f"{HEAD}command: echo\nresources: {text}\n")
