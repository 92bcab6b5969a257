"""The one frozen, typed model that every spec generation loads into."""

from __future__ import annotations

import enum
from pathlib import Path

from runner.struct import Struct, field
from runner.template.model import CommandTemplate


class Generation(enum.Enum):
    LEGACY = "legacy"  # amlModuleIdentifier (2020)
    COMPONENT_2 = "component-2.0"  # $schema .../CommandComponent.json
    CLI_V2 = "cli-v2"  # spec with `type: command`


class JobType(enum.Enum):
    BASIC = "basic"
    MPI = "mpi"
    PARALLEL = "parallel"
    HDINSIGHT = "hdinsight"


class ParamType(enum.Enum):
    STRING = "String"
    INTEGER = "Integer"
    FLOAT = "Float"
    BOOLEAN = "Boolean"
    ENUM = "Enum"


class ReturnCodeRule(enum.Enum):
    ZERO = "Zero"
    ZERO_OR_GREATER = "ZeroOrGreater"

    def succeeded(self, exit_code: int) -> bool:
        if self is ReturnCodeRule.ZERO:
            return exit_code == 0
        return exit_code >= 0


ParamValue = str | int | float | bool

# Port types that name a single file; every other port type is a directory (or either, for
# the wildcards below). Compared case-insensitively.
FILE_PORT_TYPES = frozenset({"anyfile", "uri_file"})
# Port types that take either a file or a folder. A legacy input declared with a parameter
# type but used as {inputPath: ...} is a port of unknown kind: either, too.
EITHER_KIND_PORT_TYPES = frozenset(
    {"path", "custom_model", "string", "integer", "int", "float", "boolean", "enum", "mode"}
)


# The built-in folder types. Any other name (a custom type such as `MyFile` or
# `DataFrameDirectory`) says nothing runner can check about its kind: an input of it takes a
# file or a folder, unless a registered data type (runner.registry) says which.
FOLDER_PORT_TYPES = frozenset(
    {"anydirectory", "uri_folder", "mltable", "mlflow_model", "triton_model"}
)


def port_kind(port_type: str) -> str:
    """ "file", "folder" or "either": what a port of this type takes or gives."""
    lowered = port_type.lower()
    if lowered in FILE_PORT_TYPES:
        return "file"
    return "folder" if lowered in FOLDER_PORT_TYPES else "either"


WILDCARD_PORT_TYPES = frozenset(
    {"anyfile", "anydirectory", "path", "uri_file", "uri_folder", "mltable"}
)


class Enabler(Struct):
    """An enum option that switches a child parameter on: `parent` must equal `option`."""

    parent: str  # original name of the parent Enum parameter
    option: str


class EnumOption(Struct):
    value: str
    children: tuple[str, ...] = ()  # original names of the child parameters it enables


class Parameter(Struct):
    """A typed value (String, Integer, Float, Boolean, Enum) rendered into the command."""

    name: str
    python_name: str
    type: ParamType
    description: str = ""
    optional: bool = False
    default: ParamValue | None = None
    min: int | float | None = None
    max: int | float | None = None
    options: tuple[EnumOption, ...] = ()
    enabled_by: Enabler | None = None

    @property
    def option_values(self) -> tuple[str, ...]:
        return tuple(option.value for option in self.options)


class InputPort(Struct):
    """A data input: a file or folder path handed to the command."""

    name: str
    python_name: str
    types: tuple[str, ...]
    description: str = ""
    optional: bool = False
    default: str | None = None  # a path, relative to the spec folder, when the spec gives one
    enabled_by: Enabler | None = None

    @property
    def is_file(self) -> bool:
        """True when every accepted type is a single-file type (AnyFile, uri_file)."""
        return all(t.lower() in FILE_PORT_TYPES for t in self.types)


class OutputPort(Struct):
    name: str
    python_name: str
    types: tuple[str, ...]
    description: str = ""

    @property
    def is_file(self) -> bool:
        """AnyFile/uri_file outputs are single files; all other outputs are directories."""
        return all(t.lower() in FILE_PORT_TYPES for t in self.types)


Input = InputPort | Parameter


# ---- environment --------------------------------------------------------------------------


class CondaDependencies(Struct):
    """A conda environment definition, parsed at load time (file contents read then)."""

    name: str | None = None
    channels: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()  # conda package specs, e.g. "python=3.10", "numpy>=1.24"
    pip: tuple[str, ...] = ()  # pip requirement lines

    @property
    def python_version(self) -> str | None:
        for dep in self.dependencies:
            head = dep.replace(" ", "")
            if head == "python" or head.startswith(("python=", "python>", "python<", "python!")):
                return head[len("python") :].lstrip("=<>!~") or None
        return None


class DockerBuild(Struct):
    context: Path
    dockerfile: str = "Dockerfile"


class EnvironmentSpec(Struct):
    """What a module needs to run in. All empty means: the host interpreter as is."""

    image: str | None = None  # docker image used as is
    base_image: str | None = None  # docker image to build on
    conda: CondaDependencies | None = None
    pip_requirements: tuple[str, ...] = ()  # contents of a pip requirements file
    named: str | None = None  # azureml:<name>:<version>, azureml:<name>@latest, registry URI
    build: DockerBuild | None = None
    os: str = "linux"

    @property
    def declares_dependencies(self) -> bool:
        return self.conda is not None or bool(self.pip_requirements)


# ---- code snapshot ------------------------------------------------------------------------


class Include(Struct):
    """One additional include as written, with where it was written (for error messages)."""

    path: str  # relative to the spec's folder
    origin: str  # e.g. "train.additional_includes:3" or "additional_includes[1]"


class CodeSpec(Struct):
    spec_dir: Path  # absolute folder holding the spec file
    base: Path  # absolute snapshot base: a folder, or a single file for v2 `code: ./x.py`
    is_single_file: bool = False
    includes: tuple[Include, ...] = ()


# ---- job kinds ----------------------------------------------------------------------------


class ParallelSpec(Struct):
    input_data: tuple[str, ...]  # input names whose files feed run(mini_batch)
    output_data: str  # output name receiving the results
    entry: str  # script path relative to the snapshot root
    args: CommandTemplate
    mini_batch_size: int = 1
    error_threshold: int = -1  # number of failed items tolerated; -1: all


class Distribution(Struct):
    type: str  # mpi, pytorch, tensorflow, torch.distributed
    process_count: int = 1
    additional_arguments: str = ""


class Resources(Struct):
    instance_count: int = 1
    shm_size: str | None = None
    docker_args: str | None = None
    gpu_count: int = 0  # `gpu_count`, or the runner extension's `gpus`
    # The runner extension `resources: {cpus, memory, gpus, custom}`: what a step asks of an
    # executor (Ray schedules on them); None: the executor's default (one CPU, no memory limit).
    cpus: float | None = None
    memory: int | None = None  # bytes
    custom: tuple[tuple[str, float], ...] = ()  # Ray custom resources


# ---- the module ---------------------------------------------------------------------------


class SpecWarning(Struct):
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class DataType(Struct):
    """A registered port type a module uses, as found when the module was resolved against a
    registry (runner.registry): its ancestors, and the kind it inherits from a built-in one."""

    name: str
    ancestors: tuple[str, ...] = ()  # parent first
    kind: str | None = None  # "file", "folder" or "either"; None: the built-in rule (port_kind)


class ModuleSpec(Struct):
    source: Path  # absolute path of the spec file
    generation: Generation
    name: str
    version: str
    namespace: str | None = None
    display_name: str = ""
    description: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    job_type: JobType = JobType.BASIC
    is_deterministic: bool = True
    return_code: ReturnCodeRule = ReturnCodeRule.ZERO
    inputs: tuple[Input, ...] = ()  # ports and parameters, in spec order
    outputs: tuple[OutputPort, ...] = ()
    command: CommandTemplate = field(default_factory=lambda: CommandTemplate(()))
    environment: EnvironmentSpec = field(default_factory=EnvironmentSpec)
    code: CodeSpec | None = None
    environment_variables: tuple[tuple[str, str], ...] = ()
    parallel: ParallelSpec | None = None
    distribution: Distribution | None = None
    resources: Resources = field(default_factory=Resources)
    warnings: tuple[SpecWarning, ...] = ()
    datatypes: tuple[DataType, ...] = ()  # registered types of its ports (set by resolution)
    # Seconds: `limits.timeout` of a CLI v2 component, or of the pipeline step running it.
    timeout: float | None = None

    @property
    def ports(self) -> tuple[InputPort, ...]:
        return tuple(i for i in self.inputs if isinstance(i, InputPort))

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        return tuple(i for i in self.inputs if isinstance(i, Parameter))

    @property
    def identity(self) -> str:
        head = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{head}:{self.version}"

    def type_kind(self, port_type: str) -> str:
        """What a port of `port_type` takes or gives: its registered kind, else `port_kind`."""
        found = self._datatype(port_type)
        return found.kind if found is not None and found.kind else port_kind(port_type)

    def type_ancestors(self, port_type: str) -> tuple[str, ...]:
        found = self._datatype(port_type)
        return found.ancestors if found is not None else ()

    def input_is_file(self, port: InputPort) -> bool:
        """A single-file input: every accepted type is a file type (built in or registered)."""
        return all(self.type_kind(t) == "file" for t in port.types)

    def _datatype(self, port_type: str) -> DataType | None:
        lowered = port_type.lower()
        return next((d for d in self.datatypes if d.name.lower() == lowered), None)

    def find_input(self, name: str) -> Input | None:
        """An input by original name or python name."""
        for item in self.inputs:
            if name in (item.name, item.python_name):
                return item
        return None

    def find_output(self, name: str) -> OutputPort | None:
        for out in self.outputs:
            if name in (out.name, out.python_name):
                return out
        return None
