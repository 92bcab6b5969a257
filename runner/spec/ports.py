"""Map-style inputs and outputs (component 2.0 and CLI v2): `name: {type, default, ...}`."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from runner.errors import quote
from runner.spec.common import (
    Context,
    Declared,
    Interface,
    absolute,
    check_unique,
    fields,
    opt_text,
    present,
    python_name_of,
)
from runner.spec.files import is_remote
from runner.spec.model import EnumOption, InputPort, OutputPort, Parameter, ParamType
from runner.spec.params import ParamDecl, enum_options, parameter, port, port_types
from runner.spec.source import Node
from runner.struct import Struct

_NAME_HINT = "inputs and outputs are addressed by name or python name: rename one"
_PYTHON_HINT = "use letters, digits and '_' in the name"


class Style(Struct):
    """How one generation writes its interface."""

    param_types: Mapping[str, ParamType]  # lowercase type name -> parameter type
    port_types: frozenset[str] | None  # lowercase data types; None: any other type is a port
    input_keys: tuple[str, ...]
    output_keys: tuple[str, ...]
    default_output_type: str
    name_problem: Callable[[str], str | None]  # why a port name is refused, or None


def interface(ctx: Context, root: Node, style: Style) -> Interface:
    """The declared inputs and outputs; names must be unique across both."""
    declared = _inputs(ctx, present(root, "inputs"), style)
    declared += _outputs(ctx, present(root, "outputs"), style)
    check_unique(declared, _NAME_HINT)
    return Interface(
        tuple(d.item for d in declared if isinstance(d.item, (InputPort, Parameter))),
        tuple(d.item for d in declared if isinstance(d.item, OutputPort)),
    )


def _inputs(ctx: Context, node: Node | None, style: Style) -> list[Declared]:
    if node is None:
        return []
    declared: list[Declared] = []
    for name, item in node.mapping().items():
        if not item.is_map():
            raise item.expected(
                "a mapping such as {type: string}",
                "a component declares its inputs' types; values are given when it runs",
            )
        fields(ctx, item, style.input_keys)
        _check_name(item, name, style)
        python = python_name_of(item, name, None, _PYTHON_HINT)
        declared.append(Declared(_input(ctx, item, name, python, style), item))
    return declared


def _check_name(item: Node, name: str, style: Style) -> None:
    problem = style.name_problem(name)
    if problem is not None:
        raise item.error(f"invalid name {name!r}: {problem}")


def _input(ctx: Context, item: Node, name: str, python: str, style: Style) -> Parameter | InputPort:
    type_node = item.require("type", "the input's type")
    types = port_types(type_node)
    ptype = style.param_types.get(types[0].lower()) if len(types) == 1 else None
    enum_node = present(item, "enum")
    if ptype is ParamType.STRING and enum_node is not None:
        ptype = ParamType.ENUM
    if ptype is None:
        _check_port_types(ctx, type_node, types, style)
        return port(name, python, types, item, default=_port_default(ctx, item))
    options: tuple[EnumOption, ...] = ()
    if ptype is ParamType.ENUM:
        if enum_node is None:
            raise item.error("missing required field 'enum' (the values an Enum input can take)")
        options = enum_options(enum_node)
    elif enum_node is not None:
        ctx.warn(enum_node, "'enum' applies only to string inputs; ignored")
    return parameter(ctx, item, ParamDecl(name, python, ptype, options))


def _check_port_types(ctx: Context, node: Node, types: tuple[str, ...], style: Style) -> None:
    if style.port_types is None:
        return
    for written in types:
        if written.lower() not in style.port_types:
            known = ", ".join(sorted({*style.param_types, *style.port_types}))
            ctx.warn(
                node, f"unknown type {quote(written)} is read as a data input (known: {known})"
            )


def _port_default(ctx: Context, item: Node) -> str | None:
    """A data input's default (`default`, or v2 `path`): a local path made absolute, or a URI."""
    node = present(item, "default") or present(item, "path")
    if node is None:
        return None
    written = node.string()
    return written if is_remote(written) else str(absolute(ctx.spec_dir, written))


def _outputs(ctx: Context, node: Node | None, style: Style) -> list[Declared]:
    if node is None:
        return []
    declared: list[Declared] = []
    for name, item in node.mapping().items():
        types: tuple[str, ...] = (style.default_output_type,)
        if item.value is not None:
            fields(ctx, item, style.output_keys)
            type_node = present(item, "type")
            if type_node is not None:
                types = port_types(type_node)
                _check_port_types(ctx, type_node, types, style)
        _check_name(item, name, style)
        python = python_name_of(item, name, None, _PYTHON_HINT)
        output = OutputPort(
            name, python, types, "" if item.value is None else opt_text(item, "description")
        )
        declared.append(Declared(output, item))
    return declared
