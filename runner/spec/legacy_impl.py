"""The `implementation` of a legacy spec: command and args, environment, code, job kinds."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from runner.spec.common import (
    Context,
    Interface,
    fields,
    image_environment,
    os_name,
    present,
    required_text,
    text_list,
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
    EnvironmentSpec,
    InputPort,
    JobType,
    ParallelSpec,
)
from runner.spec.source import Node
from runner.struct import Struct
from runner.template.model import CommandTemplate, Literal, OptionalGroup, Part, Ref, RefKind, Token

_KINDS = ("container", "parallel", "hdinsight")
_KIND_OF_JOB = {
    JobType.BASIC: "container",
    JobType.MPI: "container",
    JobType.PARALLEL: "parallel",
    JobType.HDINSIGHT: "hdinsight",
}
_SNAPSHOT_KEYS = ("additionalIncludes", "sourceDirectory")
_ENV_KEYS = ("amlEnvironment", "image")
_SECTION_KEYS = {
    "container": (*_ENV_KEYS, *_SNAPSHOT_KEYS, "command", "args"),
    "parallel": (*_ENV_KEYS, *_SNAPSHOT_KEYS, "inputData", "outputData", "entry", "args"),
    "hdinsight": (
        *_SNAPSHOT_KEYS,
        *("file", "files", "className", "jars", "pyFiles", "archives", "args"),
    ),
}
_PLACEHOLDERS = {
    "inputValue": RefKind.INPUT_VALUE,
    "inputPath": RefKind.INPUT_PATH,
    "outputPath": RefKind.OUTPUT,
}
_PLACEHOLDER_FORMS = "placeholders are {inputValue: Name}, {inputPath: Name} and {outputPath: Name}"
_DEPRECATED_INCLUDES = (
    "inline additionalIncludes is deprecated: list the paths in {file} next to the spec"
)


class Implementation(Struct):
    command: CommandTemplate
    environment: EnvironmentSpec
    code: CodeSpec
    parallel: ParallelSpec | None = None


def implementation(
    ctx: Context, impl: Node, job_type: JobType, interface: Interface
) -> Implementation:
    found = fields(ctx, impl, (*_KINDS, "os"))
    kinds = [kind for kind in _KINDS if kind in found]
    expected = _KIND_OF_JOB[job_type]
    if not kinds:
        raise impl.error(
            "expected one of container, parallel or hdinsight",
            f"jobType {job_type.value} runs implementation.{expected}",
        )
    if len(kinds) > 1:
        raise found[kinds[1]].error(
            f"implementation has both {kinds[0]} and {kinds[1]}; give exactly one"
        )
    section = found[kinds[0]]
    if kinds[0] != expected:
        raise section.error(
            f"jobType {job_type.value} needs implementation.{expected},"
            f" found implementation.{kinds[0]}",
            f"set jobType to match, or move the section to implementation.{expected}",
        )
    fields(ctx, section, _SECTION_KEYS[expected])
    system = os_name(present(impl, "os"))
    code = _code(ctx, section)
    if expected == "hdinsight":
        return Implementation(
            _hdinsight_command(section, interface), EnvironmentSpec(os=system), code
        )
    environment = _environment(ctx, section, system)
    if expected == "parallel":
        parallel = _parallel(section, interface)
        check_script(section.require("entry"), parallel.entry, code, "parallel entry script")
        return Implementation(CommandTemplate(()), environment, code, parallel)
    command_node = section.require("command", "the program to run, e.g. [python, main.py]")
    command = _command(command_node)
    parts = command + _args(present(section, "args"), interface)
    check_command_entry(command_node, parts, code)
    return Implementation(CommandTemplate(parts, display(parts)), environment, code)


def _code(ctx: Context, section: Node) -> CodeSpec:
    inline = present(section, "additionalIncludes")
    note = _DEPRECATED_INCLUDES.format(file=includes_file_path(ctx.doc.path).name)
    found = includes(ctx, inline, deprecated=note)
    source = present(section, "sourceDirectory")
    return code_spec(ctx, source, found, allow_file=False, what="source directory")


# ---- command and args ---------------------------------------------------------------------


def _command(node: Node) -> tuple[Part, ...]:
    if not isinstance(node.value, list):
        raise node.expected("a list of words", "write it as a list: [python, main.py]")
    words: list[Part] = []
    for item in node.items():
        if isinstance(item.value, (dict, list)) or item.value is None:
            raise item.expected("a literal word", "put placeholders in args, not in command")
        words.append(Token((Literal(item.text()),)))
    if not words:
        raise node.expected("at least one word")
    return tuple(words)


def _args(node: Node | None, interface: Interface) -> tuple[Part, ...]:
    if node is None:
        return ()
    if not isinstance(node.value, list):
        raise node.expected("a list", "write args as a list: [--x, {inputValue: X}]")
    return tuple(_arg(item, interface) for item in node.items())


def _arg(item: Node, interface: Interface) -> Part:
    if isinstance(item.value, list):
        # A nested list is an optional group: dropped when its optional input has no value.
        return OptionalGroup(tuple(_arg(inner, interface) for inner in item.items()))
    if isinstance(item.value, dict):
        return Token((_placeholder(item, interface),))
    if item.value is None:
        raise item.expected("a word, a placeholder such as {inputValue: Name} or a nested list")
    return Token((Literal(item.text()),))


def _placeholder(item: Node, interface: Interface) -> Ref:
    pairs = list(item.mapping().items())
    if len(pairs) != 1:
        keys = ", ".join(key for key, _ in pairs) or "none"
        raise item.error(f"a placeholder has exactly one key, found {keys}", _PLACEHOLDER_FORMS)
    key, value = pairs[0]
    kind = _PLACEHOLDERS.get(key)
    if kind is None:
        raise item.error(f"unknown placeholder '{key}'", _PLACEHOLDER_FORMS)
    name = value.text()
    if kind is RefKind.OUTPUT:
        if interface.find_output(name) is None:
            raise item.error(
                f"{{outputPath: {name}}} names no output;"
                f" known outputs: {interface.known_outputs()}",
                f"'{name}' is an input: use {{inputPath: {name}}} or {{inputValue: {name}}}"
                if interface.find_input(name)
                else None,
            )
        return Ref(kind, name)
    found = interface.find_input(name)
    if found is None:
        raise item.error(
            f"{{{key}: {name}}} names no input; known inputs: {interface.known_inputs()}",
            f"'{name}' is an output: use {{outputPath: {name}}}"
            if interface.find_output(name)
            else None,
        )
    if kind is RefKind.INPUT_VALUE and isinstance(found, InputPort):
        raise item.error(f"'{name}' is an input port: use {{inputPath: {name}}}")
    return Ref(kind, name)


def display(parts: Sequence[Part]) -> str:
    """The template as one line, in the legacy notation, for messages and `show`."""
    words: list[str] = []
    for part in parts:
        if isinstance(part, OptionalGroup):
            words.append(f"[{display(part.parts)}]")
            continue
        text = ""
        for segment in part.segments:
            if isinstance(segment, Literal):
                text += shlex.quote(segment.text)
            else:
                key = next(k for k, v in _PLACEHOLDERS.items() if v is segment.kind)
                text += f"{{{key}: {segment.name}}}"
        words.append(text)
    return " ".join(words)


# ---- environment --------------------------------------------------------------------------


def _environment(ctx: Context, section: Node, system: str) -> EnvironmentSpec:
    aml = present(section, "amlEnvironment")
    image = present(section, "image")
    if aml is not None and image is not None:
        raise image.error("give either image or amlEnvironment, not both")
    if image is not None:
        return EnvironmentSpec(image=image.string(), os=system)
    if aml is None:
        return EnvironmentSpec(os=system)
    found = fields(ctx, aml, ("docker", "python", "name", "version"))
    if "name" in found:
        return _reference(aml, found, system)
    base = None
    docker = present(aml, "docker")
    if docker is not None:
        fields(ctx, docker, ("baseImage", "enabled", "arguments"))
        base_node = present(docker, "baseImage")
        base = None if base_node is None else base_node.string()
    conda, pip = _python(ctx, present(aml, "python"))
    return image_environment(base, system, conda, pip)


def _reference(aml: Node, found: dict[str, Node], system: str) -> EnvironmentSpec:
    """The `{name, version}` form: a registered environment, resolved against local ones."""
    if "docker" in found or "python" in found:
        raise aml.error("an environment reference {name, version} takes no docker or python")
    name = required_text(aml, "name", "the environment's name")
    version = present(aml, "version")
    named = f"azureml:{name}@latest" if version is None else f"azureml:{name}:{version.text()}"
    return EnvironmentSpec(named=named, os=system)


def _python(ctx: Context, python: Node | None) -> tuple[CondaDependencies | None, tuple[str, ...]]:
    if python is None:
        return None, ()
    fields(ctx, python, ("condaDependencies", "condaDependenciesFile", "pipRequirementsFile"))
    inline = present(python, "condaDependencies")
    from_file = present(python, "condaDependenciesFile")
    if inline is not None and from_file is not None:
        raise from_file.error("give either condaDependencies or condaDependenciesFile, not both")
    conda = None
    if inline is not None:
        conda = conda_from(inline)
    elif from_file is not None:
        conda = read_conda_file(from_file, first_existing(from_file, [ctx.spec_dir], "conda file"))
    pip_node = present(python, "pipRequirementsFile")
    pip: tuple[str, ...] = ()
    if pip_node is not None:
        pip = read_pip_file(pip_node, first_existing(pip_node, [ctx.spec_dir], "pip file"))
    return conda, pip


# ---- parallel and hdinsight ---------------------------------------------------------------


def _parallel(section: Node, interface: Interface) -> ParallelSpec:
    data_node = section.require("inputData", "the input(s) whose files feed run(mini_batch)")
    input_data: list[str] = []
    for name in text_list(data_node):
        found = interface.find_input(name)
        if not isinstance(found, InputPort):
            raise data_node.error(
                f"inputData '{name}' is not an input port; known inputs: {interface.known_inputs()}"
            )
        input_data.append(found.name)
    if not input_data:
        raise data_node.expected("an input name or a list of input names")
    out_node = section.require("outputData", "the output receiving the results")
    output = interface.find_output(out_node.text())
    if output is None:
        raise out_node.error(
            f"outputData '{out_node.text()}' is not an output;"
            f" known outputs: {interface.known_outputs()}"
        )
    parts = _args(present(section, "args"), interface)
    return ParallelSpec(
        input_data=tuple(input_data),
        output_data=output.name,
        entry=required_text(section, "entry", "the script defining init() and run()"),
        args=CommandTemplate(parts, display(parts)),
    )


def _hdinsight_command(section: Node, interface: Interface) -> CommandTemplate:
    """Kept for display: hdinsight modules load, but the engine refuses to run them."""
    file = required_text(section, "file", "the application to run")
    parts = (Token((Literal(file),)), *_args(present(section, "args"), interface))
    return CommandTemplate(parts, display(parts))
