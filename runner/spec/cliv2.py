"""CLI v2 command components (`type: command`, azuremlschemas commandComponent schema)."""

from __future__ import annotations

from runner.errors import quote
from runner.spec.command import parse_command_string
from runner.spec.common import (
    Context,
    at_least,
    check_refs,
    environment_variables,
    fields,
    image_environment,
    limits_timeout,
    named_environment,
    opt_bool,
    opt_text,
    os_name,
    present,
    required_text,
    tags,
    version_text,
)
from runner.spec.entry import check_command_entry
from runner.spec.files import (
    code_spec,
    conda_from,
    first_existing,
    includes,
    local_path,
    read_conda_file,
)
from runner.spec.model import (
    Distribution,
    DockerBuild,
    EnvironmentSpec,
    Generation,
    JobType,
    ModuleSpec,
    ParamType,
    Resources,
)
from runner.spec.names import (
    suggest_v2_component_name,
    v2_component_name_problem,
    v2_port_name_problem,
)
from runner.spec.ports import Style, interface
from runner.spec.resources import EXTENSION_KEYS, with_extension
from runner.spec.source import Document, Node

_TOP_KEYS = (
    *("$schema", "type", "name", "version", "display_name", "description", "tags"),
    *("is_deterministic", "inputs", "outputs", "command", "code", "environment"),
    *("additional_includes", "environment_variables", "resources", "distribution", "limits"),
)
_DATA_TYPES = ("uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model", "path")
STYLE = Style(
    param_types={
        "string": ParamType.STRING,
        "integer": ParamType.INTEGER,
        "number": ParamType.FLOAT,
        "boolean": ParamType.BOOLEAN,
    },
    port_types=frozenset((*_DATA_TYPES, "triton_model")),
    input_keys=("type", "optional", "default", "min", "max", "enum", "description", "mode", "path"),
    output_keys=("type", "description", "mode"),
    default_output_type="uri_folder",
    name_problem=v2_port_name_problem,
)
_DISTRIBUTIONS = {
    "mpi": "process_count_per_instance",
    "pytorch": "process_count_per_instance",
    "tensorflow": "worker_count",
}


def load(doc: Document) -> ModuleSpec:
    ctx = Context(doc)
    root = doc.root
    fields(ctx, root, _TOP_KEYS)
    name = _name(root)
    version = present(root, "version")
    declared = interface(ctx, root, STYLE)
    command_node = root.require("command", "the command line to run")
    command = parse_command_string(command_node, "cli_v2")
    check_refs(command_node, command, declared)
    found = includes(ctx, present(root, "additional_includes"), deprecated=None)
    code = code_spec(ctx, present(root, "code"), found, allow_file=True)
    check_command_entry(command_node, command.parts, code)
    environment = _environment(ctx, present(root, "environment"))
    distribution = _distribution(ctx, present(root, "distribution"))
    resources = _resources(ctx, present(root, "resources"))
    mpi = distribution is not None and distribution.type == "mpi"
    timeout = limits_timeout(ctx, present(root, "limits"))
    return ModuleSpec(
        source=doc.path,
        generation=Generation.CLI_V2,
        name=name,
        version="" if version is None else version_text(ctx, version),
        display_name=opt_text(root, "display_name", name),
        description=opt_text(root, "description"),
        tags=tags(present(root, "tags")),
        job_type=JobType.MPI if mpi else JobType.BASIC,
        is_deterministic=opt_bool(root, "is_deterministic", True),
        inputs=declared.inputs,
        outputs=declared.outputs,
        command=command,
        environment=environment,
        code=code,
        environment_variables=environment_variables(present(root, "environment_variables")),
        distribution=distribution,
        resources=resources,
        warnings=tuple(ctx.warnings),
        timeout=timeout,
    )


def _name(root: Node) -> str:
    node = root.require("name", "the component's name")
    name = required_text(root, "name", "the component's name")
    problem = v2_component_name_problem(name)
    if problem is not None:
        suggestion = suggest_v2_component_name(name)
        raise node.error(
            f"invalid name {quote(name)}: {problem}",
            f"for example '{suggestion}'" if suggestion else None,
        )
    return name


def _environment(ctx: Context, node: Node | None) -> EnvironmentSpec:
    if node is None:
        return EnvironmentSpec()
    if isinstance(node.value, str):
        return named_environment(node)
    keys = ("image", "conda_file", "build", "name", "version", "description", "tags", "os_type")
    fields(ctx, node, (*keys, "inference_config"))
    system = os_name(present(node, "os_type"))
    image = present(node, "image")
    build = present(node, "build")
    if image is not None and build is not None:
        raise build.error("give either image or build, not both")
    if build is not None:
        fields(ctx, build, ("path", "dockerfile_path"))
        context = local_path(
            build.require("path", "the docker build context"), ctx.spec_dir, "build context"
        )
        dockerfile = opt_text(build, "dockerfile_path", "Dockerfile")
        return EnvironmentSpec(build=DockerBuild(context, dockerfile), os=system)
    conda_node = present(node, "conda_file")
    conda = None
    if conda_node is not None and conda_node.is_map():
        conda = conda_from(conda_node)
    elif conda_node is not None:
        path = first_existing(conda_node, [ctx.spec_dir], "conda file")
        conda = read_conda_file(conda_node, path)
    return image_environment(None if image is None else image.string(), system, conda, ())


def _resources(ctx: Context, node: Node | None) -> Resources:
    if node is None:
        return Resources()
    keys = ("instance_count", "instance_type", "shm_size", "docker_args", "gpu_count")
    fields(ctx, node, (*keys, "properties", "locations", *EXTENSION_KEYS))
    count = present(node, "instance_count")
    gpus = present(node, "gpu_count") or present(node, "gpus")
    shm = present(node, "shm_size")
    docker_args = present(node, "docker_args")
    resources = Resources(
        instance_count=1 if count is None else at_least(count, 1),
        shm_size=None if shm is None else shm.text(),
        docker_args=None if docker_args is None else docker_args.text(),
        gpu_count=0 if gpus is None else at_least(gpus, 0),
    )
    return with_extension(node, resources)


def _distribution(ctx: Context, node: Node | None) -> Distribution | None:
    if node is None:
        return None
    node.mapping()
    type_node = node.require("type", "mpi, pytorch or tensorflow")
    kind = type_node.text().strip().lower()
    count_key = _DISTRIBUTIONS.get(kind)
    if count_key is None:
        raise type_node.expected("mpi, pytorch or tensorflow")
    extra = ("parameter_server_count",) if kind == "tensorflow" else ()
    fields(ctx, node, ("type", count_key, *extra))
    count = present(node, count_key)
    return Distribution(kind, process_count=1 if count is None else at_least(count, 1))
