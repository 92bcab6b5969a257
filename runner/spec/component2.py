"""Component spec 2.0 (`$schema: .../CommandComponent.json`, `type: CommandComponent`)."""

from __future__ import annotations

from pathlib import Path

from runner.errors import quote
from runner.spec.command import parse_command_string
from runner.spec.common import (
    Context,
    Interface,
    at_least,
    check_refs,
    environment_variables,
    fields,
    image_environment,
    named_environment,
    opt_bool,
    opt_text,
    os_name,
    present,
    required_text,
    tags,
    text_list,
    version_text,
)
from runner.spec.entry import check_command_entry, check_script
from runner.spec.files import (
    code_spec,
    conda_from,
    first_existing,
    includes,
    includes_file_path,
    read_conda_file,
    read_pip_file,
)
from runner.spec.model import (
    CodeSpec,
    CondaDependencies,
    Distribution,
    EnvironmentSpec,
    Generation,
    InputPort,
    JobType,
    ModuleSpec,
    ParallelSpec,
    ParamType,
    ReturnCodeRule,
)
from runner.spec.names import component2_name_problem, free_text_name_problem
from runner.spec.ports import Style, interface
from runner.spec.source import Document, Node
from runner.template.model import CommandTemplate, Literal, Token

_TOP_KEYS = (
    *("$schema", "name", "version", "display_name", "description", "tags", "type"),
    *("is_deterministic", "successful_return_code", "inputs", "outputs", "command", "code"),
    *("environment", "environment_variables", "launcher", "parallel", "hdinsight"),
    "additional_includes",
)
_TYPES = {
    "commandcomponent": JobType.BASIC,
    "distributedcomponent": JobType.MPI,
    "parallelcomponent": JobType.PARALLEL,
    "hdinsightcomponent": JobType.HDINSIGHT,
}
_RETURN_CODES = {rule.value.lower(): rule for rule in ReturnCodeRule}
_LAUNCHERS = ("mpi", "torch.distributed")
STYLE = Style(
    param_types={
        "string": ParamType.STRING,
        "integer": ParamType.INTEGER,
        "int": ParamType.INTEGER,
        "float": ParamType.FLOAT,
        "number": ParamType.FLOAT,
        "boolean": ParamType.BOOLEAN,
        "enum": ParamType.ENUM,
        # Designer's Mode parameters (a trainer's "Create trainer mode"): an enum, never a port.
        "mode": ParamType.ENUM,
    },
    port_types=None,  # AnyDirectory, AnyFile, path and custom data types
    input_keys=("type", "optional", "default", "min", "max", "enum", "description"),
    output_keys=("type", "description"),
    default_output_type="AnyDirectory",
    name_problem=free_text_name_problem,
)
_INLINE_INCLUDES = "a 2.0 component lists additional includes in {file} next to the spec"


def load(doc: Document) -> ModuleSpec:
    ctx = Context(doc)
    root = doc.root
    fields(ctx, root, _TOP_KEYS)
    name = _name(root)
    version = present(root, "version")
    job_type = _job_type(ctx, root)
    declared = interface(ctx, root, STYLE)
    inline = present(root, "additional_includes")
    note = _INLINE_INCLUDES.format(file=includes_file_path(doc.path).name)
    code = code_spec(
        ctx, present(root, "code"), includes(ctx, inline, deprecated=note), allow_file=False
    )
    command, parallel = _command(ctx, root, job_type, declared)
    _check_entry(root, job_type, command, code)
    environment = _environment(ctx, present(root, "environment"), [code.base, ctx.spec_dir])
    distribution = _launcher(ctx, present(root, "launcher"), job_type)
    return ModuleSpec(
        source=doc.path,
        generation=Generation.COMPONENT_2,
        name=name,
        version="" if version is None else version_text(ctx, version),
        display_name=opt_text(root, "display_name", name),
        description=opt_text(root, "description"),
        tags=tags(present(root, "tags")),
        job_type=job_type,
        is_deterministic=opt_bool(root, "is_deterministic", True),
        return_code=_return_code(present(root, "successful_return_code")),
        inputs=declared.inputs,
        outputs=declared.outputs,
        command=command,
        environment=environment,
        code=code,
        environment_variables=environment_variables(present(root, "environment_variables")),
        parallel=parallel,
        distribution=distribution,
        warnings=tuple(ctx.warnings),
    )


def _name(root: Node) -> str:
    name = required_text(root, "name", "the component's name")
    problem = component2_name_problem(name)
    if problem is not None:
        raise root.require("name").error(f"invalid name {name!r}: {problem}")
    return name


def _job_type(ctx: Context, root: Node) -> JobType:
    node = present(root, "type")
    if node is None:
        schema = opt_text(root, "$schema").lower()
        return next((job for key, job in _TYPES.items() if key in schema), JobType.BASIC)
    written = node.text().strip()
    found = _TYPES.get(written.split("@", 1)[0].lower())
    if found is None:
        ctx.warn(node, f"unknown component type {quote(written)} is read as CommandComponent")
        return JobType.BASIC
    return found


def _return_code(node: Node | None) -> ReturnCodeRule:
    if node is None:
        return ReturnCodeRule.ZERO
    found = _RETURN_CODES.get(node.text().strip().lower())
    if found is None:
        raise node.expected("Zero or ZeroOrGreater")
    return found


# ---- command, parallel, hdinsight ---------------------------------------------------------


def _command(
    ctx: Context, root: Node, job_type: JobType, declared: Interface
) -> tuple[CommandTemplate, ParallelSpec | None]:
    if job_type is JobType.PARALLEL:
        section = root.require("parallel", "a ParallelComponent's input_data, output_data, entry")
        ignored = present(root, "command")
        if ignored is not None:
            ctx.warn(ignored, "a ParallelComponent runs parallel.entry; command is ignored")
        return CommandTemplate(()), _parallel(ctx, section, declared)
    if job_type is JobType.HDINSIGHT:
        return _hdinsight(
            ctx, root.require("hdinsight", "an HDInsightComponent's file and args"), declared
        ), None
    return parsed(root.require("command", "the command line to run"), declared), None


def _check_entry(root: Node, job_type: JobType, command: CommandTemplate, code: CodeSpec) -> None:
    if job_type is JobType.PARALLEL:
        entry = root.require("parallel").require("entry")
        check_script(entry, entry.text(), code, "parallel entry script")
    elif job_type is not JobType.HDINSIGHT:
        check_command_entry(root.require("command"), command.parts, code)


def parsed(node: Node, declared: Interface) -> CommandTemplate:
    template = parse_command_string(node, "component2")
    check_refs(node, template, declared)
    return template


def _parallel(ctx: Context, section: Node, declared: Interface) -> ParallelSpec:
    keys = ("input_data", "output_data", "entry", "args", "mini_batch_size", "error_threshold")
    fields(ctx, section, keys)
    data_node = section.require("input_data", "the input(s) whose files feed run(mini_batch)")
    input_data: list[str] = []
    for written in text_list(data_node):
        found = declared.find_input(written.removeprefix("inputs."))
        if not isinstance(found, InputPort):
            raise data_node.error(
                f"input_data '{written}' is not an input port;"
                f" known inputs: {declared.known_inputs()}"
            )
        input_data.append(found.name)
    if not input_data:
        raise data_node.expected("an input name or a list of input names")
    out_node = section.require("output_data", "the output receiving the results")
    output = declared.find_output(out_node.text().removeprefix("outputs."))
    if output is None:
        raise out_node.error(
            f"output_data '{out_node.text()}' is not an output;"
            f" known outputs: {declared.known_outputs()}"
        )
    args = present(section, "args")
    batch = present(section, "mini_batch_size")
    threshold = present(section, "error_threshold")
    return ParallelSpec(
        input_data=tuple(input_data),
        output_data=output.name,
        entry=required_text(section, "entry", "the script defining init() and run()"),
        args=CommandTemplate(()) if args is None else parsed(args, declared),
        mini_batch_size=1 if batch is None else at_least(batch, 1),
        error_threshold=-1 if threshold is None else at_least(threshold, -1),
    )


def _hdinsight(ctx: Context, section: Node, declared: Interface) -> CommandTemplate:
    """Kept for display: hdinsight components load, but the engine refuses to run them."""
    keys = ("file", "files", "class_name", "jars", "py_files", "archives", "args")
    fields(ctx, section, (*keys, "conf", "driver_memory", "executor_memory", "name"))
    file = required_text(section, "file", "the application to run")
    args = present(section, "args")
    rest = () if args is None else parsed(args, declared).parts
    return CommandTemplate(
        (Token((Literal(file),)), *rest), source=f"{file} {opt_text(section, 'args')}".strip()
    )


# ---- environment and launcher -------------------------------------------------------------


def _environment(ctx: Context, node: Node | None, bases: list[Path]) -> EnvironmentSpec:
    if node is None:
        return EnvironmentSpec()
    if isinstance(node.value, str):
        return named_environment(node)
    fields(ctx, node, ("docker", "conda", "os", "name", "version"))
    system = os_name(present(node, "os"))
    image = None
    docker = present(node, "docker")
    if docker is not None:
        fields(ctx, docker, ("image", "baseImage", "enabled"))
        both = [n for n in (present(docker, "image"), present(docker, "baseImage")) if n]
        if len(both) > 1:
            raise both[1].error("give either image or baseImage, not both")
        image = both[0].string() if both else None
    conda, pip = _conda(ctx, present(node, "conda"), bases)
    return image_environment(image, system, conda, pip)


def _conda(
    ctx: Context, node: Node | None, bases: list[Path]
) -> tuple[CondaDependencies | None, tuple[str, ...]]:
    """Dependency files are relative to the code folder (else the spec folder), as in the SDK."""
    if node is None:
        return None, ()
    keys = ("conda_dependencies", "conda_dependencies_file", "pip_requirements_file")
    fields(ctx, node, keys)
    inline = present(node, "conda_dependencies")
    from_file = present(node, "conda_dependencies_file")
    if inline is not None and from_file is not None:
        raise from_file.error("give either conda_dependencies or conda_dependencies_file, not both")
    conda = None
    if inline is not None:
        conda = conda_from(inline)
    elif from_file is not None:
        conda = read_conda_file(from_file, first_existing(from_file, bases, "conda file"))
    pip_node = present(node, "pip_requirements_file")
    pip: tuple[str, ...] = ()
    if pip_node is not None:
        pip = read_pip_file(pip_node, first_existing(pip_node, bases, "pip file"))
    return conda, pip


def _launcher(ctx: Context, node: Node | None, job_type: JobType) -> Distribution | None:
    if node is None:
        return Distribution("mpi") if job_type is JobType.MPI else None
    fields(ctx, node, ("type", "additional_arguments"))
    type_node = node.require("type", "mpi or torch.distributed")
    kind = type_node.text().strip().lower()
    if kind not in _LAUNCHERS:
        raise type_node.expected("mpi or torch.distributed")
    if job_type is not JobType.MPI:
        ctx.warn(node, "launcher is used only by a DistributedComponent; ignored")
        return None
    return Distribution(kind, additional_arguments=opt_text(node, "additional_arguments"))
