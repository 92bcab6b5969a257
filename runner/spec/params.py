"""Typed parameters and input ports: defaults read as the declared type, bounds, options."""

from __future__ import annotations

from collections.abc import Sequence

from runner.errors import quote, shown
from runner.spec.common import Context, opt_bool, opt_text, present
from runner.spec.model import Enabler, EnumOption, InputPort, Parameter, ParamType, ParamValue
from runner.spec.source import Node
from runner.struct import Struct


def typed_value(node: Node, ptype: ParamType) -> ParamValue:
    """A scalar read as the declared parameter type."""
    if ptype is ParamType.INTEGER:
        return node.integer()
    if ptype is ParamType.FLOAT:
        try:
            return float(node.number())
        except OverflowError:
            raise node.expected("a number within float range") from None
    if ptype is ParamType.BOOLEAN:
        return node.boolean()
    return node.text()


def enum_options(node: Node) -> tuple[EnumOption, ...]:
    """Plain enum values (2.0 and v2 `enum`); legacy options with children are read elsewhere."""
    values = [item.text() for item in node.items()]
    check_distinct_options(node, values)
    return tuple(EnumOption(value) for value in values)


def check_distinct_options(node: Node, values: Sequence[str]) -> None:
    if not values:
        raise node.expected("at least one option")
    for i, value in enumerate(values):
        if value in values[:i]:
            raise node.items()[i].error(f"option {quote(value)} is listed twice")


class ParamDecl(Struct):
    """What a loader knows of a parameter before its default and bounds are read."""

    name: str
    python_name: str
    type: ParamType
    options: tuple[EnumOption, ...] = ()
    enabled_by: Enabler | None = None


def parameter(ctx: Context, item: Node, decl: ParamDecl) -> Parameter:
    """A parameter from the `default`, `min`, `max`, `optional`, `description` keys of `item`."""
    low = _bound(ctx, item, "min", decl.type)
    high = _bound(ctx, item, "max", decl.type)
    if low is not None and high is not None and low > high:
        raise item.require("min").error(f"min {low} is greater than max {high}")
    default: ParamValue | None = None
    default_node = present(item, "default")
    if default_node is not None:
        default = typed_value(default_node, decl.type)
        _check_default(default_node, default, low, high, decl.options)
    return Parameter(
        name=decl.name,
        python_name=decl.python_name,
        type=decl.type,
        description=opt_text(item, "description"),
        optional=opt_bool(item, "optional", False),
        default=default,
        min=low,
        max=high,
        options=decl.options,
        enabled_by=decl.enabled_by,
    )


def _bound(ctx: Context, item: Node, key: str, ptype: ParamType) -> int | float | None:
    node = present(item, key)
    if node is None:
        return None
    if ptype not in (ParamType.INTEGER, ParamType.FLOAT):
        ctx.warn(node, f"'{key}' applies only to Integer and Float parameters; ignored")
        return None
    return node.number()


def _check_default(
    node: Node,
    value: ParamValue,
    low: int | float | None,
    high: int | float | None,
    options: tuple[EnumOption, ...],
) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if low is not None and value < low:
            raise node.error(f"default {value} is below min {low}")
        if high is not None and value > high:
            raise node.error(f"default {value} is above max {high}")
    allowed = [option.value for option in options]
    if allowed and value not in allowed:
        raise node.error(
            f"default {quote(value)} is not one of the options: {', '.join(map(shown, allowed))}",
        )


def port(
    name: str,
    python: str,
    types: tuple[str, ...],
    item: Node,
    *,
    default: str | None = None,
    enabled_by: Enabler | None = None,
) -> InputPort:
    return InputPort(
        name=name,
        python_name=python,
        types=types,
        description=opt_text(item, "description"),
        optional=opt_bool(item, "optional", False),
        default=default,
        enabled_by=enabled_by,
    )


def port_types(node: Node) -> tuple[str, ...]:
    """A port type: one name, or a list of names any of which is accepted."""
    if isinstance(node.value, list):
        names = tuple(item.string() for item in node.items())
        if not names:
            raise node.expected("at least one port type")
        return names
    if not isinstance(node.value, str) or not node.value.strip():
        raise node.expected("a type name")
    return (node.value.strip(),)
