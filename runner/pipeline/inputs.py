"""Pipeline-level inputs: read from YAML, typed, and given values when a pipeline runs.

A primitive input (string, integer, number, boolean) holds a typed value; a data input holds
an absolute path. Values given at run time (`-i ratio=0.8`, or the arguments of a DSL
pipeline call) are coerced with the same rules as a module's parameters.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from runner.bind.coerce import coerce
from runner.errors import BindingError, PipelineError, quote
from runner.pipeline.model import PRIMITIVE_TYPES, Pipeline, PipelineInput, unknown_input
from runner.spec.common import Context, absolute, fields, opt_bool, opt_text, present
from runner.spec.files import is_remote
from runner.spec.model import Parameter, ParamType, ParamValue
from runner.spec.source import Node
from runner.struct import replace

_ALIASES = {
    **{name: name for name in PRIMITIVE_TYPES},
    **{"str": "string", "int": "integer", "float": "number", "bool": "boolean"},
}
_PARAM_TYPES = {
    "string": ParamType.STRING,
    "integer": ParamType.INTEGER,
    "number": ParamType.FLOAT,
    "boolean": ParamType.BOOLEAN,
}
DATA_TYPES = (
    *("uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model", "triton_model"),
    *("path", "AnyFile", "AnyDirectory"),
)
_INPUT_KEYS = ("type", "default", "path", "optional", "description", "mode")


def as_parameter(item: PipelineInput) -> Parameter:
    """A primitive pipeline input seen as a module parameter, to reuse its coercion."""
    return Parameter(item.name, item.name, _PARAM_TYPES[item.type])


def type_of(value: object) -> str | None:
    """The primitive type a python value stands for (bool before int: True is an int)."""
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string")):
        if isinstance(value, kind):
            return name
    return None


# ---- YAML ---------------------------------------------------------------------------------


def pipeline_inputs(ctx: Context, node: Node | None) -> tuple[PipelineInput, ...]:
    if node is None:
        return ()
    return tuple(_input(ctx, name, item) for name, item in node.mapping().items())


def _input(ctx: Context, name: str, node: Node) -> PipelineInput:
    if node.value is None:
        return PipelineInput(name, "string")
    if not node.is_map():
        # `ratio: 0.75`: the value's YAML type is the input's type.
        kind = type_of(node.value)
        if kind is None:
            raise node.expected("a value, or a mapping such as {type: uri_folder, path: ./data}")
        if kind == "string" and "${{" in node.text():
            raise node.error("a pipeline input cannot be bound to another: give it a value")
        assert isinstance(node.value, (str, int, float, bool))  # type_of said so
        return PipelineInput(name, kind, node.value)
    fields(ctx, node, _INPUT_KEYS)
    kind = _declared_type(ctx, node)
    optional = opt_bool(node, "optional", False)
    description = opt_text(node, "description")
    if kind in PRIMITIVE_TYPES:
        if present(node, "path") is not None:
            raise node.require("path").error(f"a {kind} input has a value (`default`), no path")
        default = present(node, "default")
        value = None if default is None else _typed(default, kind)
        return PipelineInput(name, kind, value, optional, description)
    path = present(node, "path") or present(node, "default")
    value_path = None if path is None else local_data_path(path, ctx.spec_dir)
    return PipelineInput(name, kind, value_path, optional, description)


def _declared_type(ctx: Context, node: Node) -> str:
    type_node = present(node, "type")
    if type_node is None:
        if present(node, "path") is not None:
            return "path"
        default = present(node, "default")
        found = None if default is None else type_of(default.value)
        if found is None:
            raise node.error("missing required field 'type' (the input's type)")
        return found
    written = type_node.text().strip()
    if written.lower() in _ALIASES:
        return _ALIASES[written.lower()]
    if written.lower() not in {t.lower() for t in DATA_TYPES}:
        known = ", ".join((*PRIMITIVE_TYPES, *DATA_TYPES))
        ctx.warn(
            type_node, f"unknown type {quote(written)} is read as a data input (known: {known})"
        )
    return written


def _typed(node: Node, kind: str) -> ParamValue:
    if kind == "integer":
        return node.integer()
    if kind == "number":
        return float(node.number())
    if kind == "boolean":
        return node.boolean()
    return node.text()


def local_data_path(node: Node, base: Path) -> Path:
    """A local path written at `node`, made absolute from `base`; URIs cannot be read offline."""
    written = node.text()
    if not written.strip():
        raise node.expected("a path")
    if is_remote(written):
        raise node.error(
            f"remote data {quote(written)} is not available offline", "use a local path instead"
        )
    return absolute(base, written)


# ---- values given at run time -------------------------------------------------------------


def bind_inputs(pipeline: Pipeline, values: Mapping[str, object], base_dir: Path) -> Pipeline:
    """`pipeline` with the given input values in place of the defaults: primitives coerced to
    their type, data paths made absolute from `base_dir` (their existence is `validate`'s).
    A None value keeps the default. Every problem is reported, in one PipelineError."""
    given = dict(values)
    problems = [unknown_input(pipeline, name) for name in given if not pipeline.find_input(name)]
    inputs: list[PipelineInput] = []
    for item in pipeline.inputs:
        raw = given.get(item.name)
        if raw is None:
            inputs.append(item)
            continue
        try:
            inputs.append(replace(item, default=_value(item, raw, base_dir)))
        except BindingError as exc:
            problems.append(exc.message)
    if problems:
        raise PipelineError("\n".join(problems), problems=tuple(problems))
    return replace(pipeline, inputs=tuple(inputs))


def _value(item: PipelineInput, raw: object, base_dir: Path) -> ParamValue | Path:
    if item.is_data:
        if not isinstance(raw, (str, os.PathLike)) or not os.fsdecode(raw).strip():
            raise BindingError(f"pipeline input {item.name!r}: expected a path, got {quote(raw)}")
        return absolute(base_dir, os.fsdecode(raw))
    try:
        return coerce(as_parameter(item), raw)
    except BindingError as exc:
        # The coercion speaks of a parameter; here it is a pipeline input.
        raise BindingError(exc.message.replace("parameter", "pipeline input", 1)) from None
