"""Legacy module specs (2020, `amlModuleIdentifier`): identity and the one `inputs` list."""

from __future__ import annotations

from runner.spec.common import (
    Context,
    Declared,
    Interface,
    check_unique,
    fields,
    opt_text,
    present,
    python_name_of,
    required_text,
    tags,
    version_text,
)
from runner.spec.legacy_impl import implementation
from runner.spec.model import (
    Distribution,
    Enabler,
    EnumOption,
    Generation,
    InputPort,
    JobType,
    ModuleSpec,
    OutputPort,
    Parameter,
    ParamType,
)
from runner.spec.names import free_text_name_problem
from runner.spec.params import ParamDecl, check_distinct_options, parameter, port, port_types
from runner.spec.source import Document, Node

_TOP_KEYS = (
    "amlModuleIdentifier",
    "jobType",
    "description",
    "metadata",
    "isDeterministic",
    "inputs",
    "outputs",
    "implementation",
    "version",  # the schema marker, e.g. microsoft.com/azureml/module/v2beta1
    "meta",  # generated specs carry {collectLogs: true}
)
_INPUT_KEYS = (
    "name",
    "type",
    "description",
    "optional",
    "default",
    "min",
    "max",
    "options",
    # Seen in real files; harmless locally.
    "argumentName",
    "label",
    "port",
    "columnPickerFor",
    "singleColumnSelection",
)
_OUTPUT_KEYS = ("name", "type", "description", "argumentName", "label", "port")
_PARAM_TYPES = {
    "string": ParamType.STRING,
    "integer": ParamType.INTEGER,
    "int": ParamType.INTEGER,
    "float": ParamType.FLOAT,
    "boolean": ParamType.BOOLEAN,
    "enum": ParamType.ENUM,
    "mode": ParamType.ENUM,
}
_JOB_TYPES = {job.value: job for job in JobType}
_NAME_HINT = "rename one, or give one an `argumentName` (its python name)"
_PYTHON_HINT = "give it an `argumentName`: the python identifier to call it by"


def load(doc: Document) -> ModuleSpec:
    ctx = Context(doc)
    root = doc.root
    fields(ctx, root, _TOP_KEYS, ignore_case=True)
    ident = root.require("amlModuleIdentifier", "moduleName and moduleVersion")
    fields(ctx, ident, ("namespace", "moduleName", "moduleVersion"))
    name = required_text(ident, "moduleName", "the module's name")
    _check_name(ident.require("moduleName"), name)
    version = version_text(ctx, ident.require("moduleVersion", "the module's version"))
    job_type = _job_type(root.get_ci("jobType"))
    impl = root.require("implementation", "container, parallel or hdinsight")
    path_refs = _path_refs(impl.value)
    declared = _inputs(ctx, present(root, "inputs"), path_refs)
    declared += _outputs(ctx, present(root, "outputs"))
    check_unique(declared, _NAME_HINT)
    interface = Interface(
        tuple(d.item for d in declared if isinstance(d.item, (InputPort, Parameter))),
        tuple(d.item for d in declared if isinstance(d.item, OutputPort)),
    )
    built = implementation(ctx, impl, job_type, interface)
    deterministic = root.get_ci("isDeterministic")
    annotation_tags = _annotation_tags(ctx, present(root, "metadata"))
    return ModuleSpec(
        source=doc.path,
        generation=Generation.LEGACY,
        name=name,
        version=version,
        namespace=opt_text(ident, "namespace") or None,
        display_name=name,
        description=opt_text(root, "description"),
        tags=annotation_tags,
        job_type=job_type,
        is_deterministic=True
        if deterministic is None or deterministic.value is None
        else deterministic.boolean(),
        inputs=interface.inputs,
        outputs=interface.outputs,
        command=built.command,
        environment=built.environment,
        code=built.code,
        parallel=built.parallel,
        distribution=Distribution("mpi") if job_type is JobType.MPI else None,
        warnings=tuple(ctx.warnings),
    )


def _check_name(node: Node, name: str) -> None:
    problem = free_text_name_problem(name)
    if problem is not None:
        raise node.error(f"invalid name {name!r}: {problem}")


def _job_type(node: Node | None) -> JobType:
    if node is None or node.value is None:
        return JobType.BASIC
    found = _JOB_TYPES.get(node.text().strip().lower())
    if found is None:
        raise node.expected("one of basic, mpi, parallel, hdinsight")
    return found


def _annotation_tags(ctx: Context, metadata: Node | None) -> tuple[tuple[str, str], ...]:
    if metadata is None:
        return ()
    fields(ctx, metadata, ("annotations",))
    annotations = present(metadata, "annotations")
    # Annotation keys beyond tags/contact/helpDocument occur in the wild: accept them quietly.
    if annotations is None or not annotations.mapping():
        return ()
    return tags(present(annotations, "tags"))


def _path_refs(impl: object) -> frozenset[str]:
    """Names used as `{inputPath: X}` or parallel `inputData`: those inputs are ports."""
    found: set[str] = set()
    stack = [impl]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            named = value.get("inputPath") if len(value) == 1 else None
            data = value.get("inputData")
            for name in [named, *(data if isinstance(data, list) else [data])]:
                if isinstance(name, (str, int, float)) and not isinstance(name, bool):
                    found.add(str(name))
            stack.extend(value.values())
    return frozenset(found)


# ---- inputs and outputs -------------------------------------------------------------------


def _inputs(ctx: Context, node: Node | None, path_refs: frozenset[str]) -> list[Declared]:
    if node is None:
        return []
    declared: list[Declared] = []
    for item in node.items():
        declared += _input(ctx, item, path_refs, None)
    return declared


def _input(
    ctx: Context, item: Node, path_refs: frozenset[str], enabler: Enabler | None
) -> list[Declared]:
    """One input, followed by the child parameters its enum options enable (depth first)."""
    fields(ctx, item, _INPUT_KEYS)
    name = required_text(item, "name", "the input's name")
    name_node = item.require("name")
    _check_name(name_node, name)
    python = python_name_of(name_node, name, item.get("argumentName"), _PYTHON_HINT)
    type_node = item.require("type", "String, Integer, Float, Boolean, Enum or a port type")
    ptype = _param_type(ctx, type_node)
    if ptype is not None and path_refs & {name, python}:
        ctx.warn(type_node, f"'{name}' is used as {{inputPath: ...}}: read as an input port")
        ptype = None
    if ptype is None:
        if present(item, "default") is not None:
            ctx.warn(item.require("default"), "an input port takes no default; ignored")
        found = port(name, python, port_types(type_node), item, enabled_by=enabler)
        return [Declared(found, name_node)]
    options: tuple[EnumOption, ...] = ()
    children: list[Declared] = []
    if ptype is ParamType.ENUM:
        options, children = _options(ctx, item, name, path_refs)
    param = parameter(ctx, item, ParamDecl(name, python, ptype, options, enabler))
    return [Declared(param, name_node), *children]


def _param_type(ctx: Context, node: Node) -> ParamType | None:
    """The parameter type named at `node`, or None for a port type."""
    if isinstance(node.value, list):
        return None
    if not isinstance(node.value, str) or not node.value.strip():
        raise node.expected("a type name")
    written = node.value.strip()
    found = _PARAM_TYPES.get(written.lower())
    if written.lower() == "int":
        ctx.warn(node, f"type '{written}' is read as Integer; write Integer")
    return found


def _options(
    ctx: Context, item: Node, parent: str, path_refs: frozenset[str]
) -> tuple[tuple[EnumOption, ...], list[Declared]]:
    """Enum options; an option may be a one-key map to the child parameters it enables."""
    node = item.require("options", "the values an Enum parameter can take")
    options: list[EnumOption] = []
    children: list[Declared] = []
    for entry in node.items():
        if not isinstance(entry.value, dict):
            if entry.value is None:
                raise entry.expected("an option value")
            options.append(EnumOption(entry.text()))
            continue
        pairs = list(entry.mapping().items())
        if len(pairs) != 1:
            raise entry.expected("an option, or a one-key map from an option to its parameters")
        value, kids = pairs[0]
        names: list[str] = []
        for kid in kids.items() if kids.value is not None else []:
            found = _input(ctx, kid, path_refs, Enabler(parent, value))
            names.append(found[0].item.name)
            children += found
        options.append(EnumOption(value, tuple(names)))
    check_distinct_options(node, [option.value for option in options])
    return tuple(options), children


def _outputs(ctx: Context, node: Node | None) -> list[Declared]:
    if node is None:
        return []
    declared: list[Declared] = []
    for item in node.items():
        fields(ctx, item, _OUTPUT_KEYS)
        name = required_text(item, "name", "the output's name")
        name_node = item.require("name")
        _check_name(name_node, name)
        python = python_name_of(name_node, name, item.get("argumentName"), _PYTHON_HINT)
        types = port_types(item.require("type", "a port type such as AnyDirectory or AnyFile"))
        output = OutputPort(name, python, types, opt_text(item, "description"))
        declared.append(Declared(output, name_node))
    return declared
