"""Load a module spec of any generation: detect which one it is and dispatch to its loader."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from runner.errors import quote
from runner.spec import cliv2, component2, legacy
from runner.spec.model import Generation, ModuleSpec
from runner.spec.source import Document, Node, load_document, parse_document

_COMPONENT2_TYPES = (
    "commandcomponent",
    "distributedcomponent",
    "parallelcomponent",
    "hdinsightcomponent",
)
_COMPONENT2_SCHEMAS = (
    "commandcomponent.json",
    "distributedcomponent",
    "parallelcomponent",
    "hdinsightcomponent",
    "azureml/sdk-2-0",
    "componentsdk",
)
_SHAPES = (
    "a module spec is one of: a legacy module (top-level amlModuleIdentifier), a 2.0"
    " component ($schema .../CommandComponent.json or type: CommandComponent) or a CLI v2"
    " component (type: command)"
)
_PREVIEW_HINT = (
    "the CLI v2 preview's `type: command_component` is `type: command` in CLI v2"
    " (and `code: {local_path: ./src}` is `code: ./src`)"
)
_LOADERS: dict[Generation, Callable[[Document], ModuleSpec]] = {
    Generation.LEGACY: legacy.load,
    Generation.COMPONENT_2: component2.load,
    Generation.CLI_V2: cliv2.load,
}


def load_spec(path: str | os.PathLike[str]) -> ModuleSpec:
    """Read and load the spec file at `path`."""
    return _load(load_document(_absolute(Path(path))))


def load_spec_text(path: Path, text: str) -> ModuleSpec:
    """Load spec `text` as if read from `path` (named in messages, base of relative paths)."""
    return _load(parse_document(_absolute(path), text))


def load_inline_spec(node: Node) -> ModuleSpec:
    """The component written inline at `node` of a document (a pipeline job's `component:
    {type: command, ...}`): loaded as if it were a file beside that document, its errors at
    their lines there."""
    prefix = len(node.path)
    positions = {
        key[prefix:]: where
        for key, where in node.doc.positions.items()
        if key[:prefix] == node.path
    }
    return _load(Document(node.doc.path, node.value, positions))


def _absolute(path: Path) -> Path:
    return Path(os.path.normpath(path.absolute()))


def _load(doc: Document) -> ModuleSpec:
    return _LOADERS[detect_generation(doc.root)](doc)


def detect_generation(root: Node) -> Generation:
    """Which generation the document at `root` is written in."""
    if not root.is_map():
        raise root.expected("a mapping of spec fields", _SHAPES)
    if root.get("amlModuleIdentifier") is not None:
        return Generation.LEGACY
    # `type` decides before `$schema`: files in the wild pair the 2.0 schema URL with
    # `type: command` and CLI v2 `${{inputs.x}}` placeholders.
    type_node = root.get("type")
    if type_node is not None and isinstance(type_node.value, str):
        base = type_node.value.split("@", 1)[0].strip().lower()
        if base == "pipeline":
            raise type_node.error(
                "this is a pipeline job, not a module",
                "run it with `runner pipeline run` (a pipeline cannot be a step of another one)",
            )
        if base in _COMPONENT2_TYPES:
            return Generation.COMPONENT_2
        if base == "command":
            return Generation.CLI_V2
    found = _from_schema(root)
    if found is not None:
        return found
    if root.get("moduleIdentifier") is not None:
        raise root.require("moduleIdentifier").error(
            "not a module spec: 'moduleIdentifier' is not a known key",
            "did you mean amlModuleIdentifier?",
        )
    if type_node is not None:
        # A `type` is there but names no module kind: say so, where it is written.
        written = type_node.text() if not type_node.is_map() else "a mapping"
        hint = _PREVIEW_HINT if written.strip().lower() == "command_component" else _SHAPES
        raise type_node.error(f"not a module spec: unknown type {quote(written)}", hint)
    raise root.error("not a module spec: no amlModuleIdentifier, $schema or type", _SHAPES)


def pipeline_marker(root: Node) -> Node | None:
    """The field that makes `root` a pipeline job (`type: pipeline`, or a pipelineJob $schema
    when `type` names no module kind), else None: `detect_generation` refuses exactly these."""
    if not root.is_map():
        return None
    type_node = root.get("type")
    if type_node is not None and isinstance(type_node.value, str):
        base = type_node.value.split("@", 1)[0].strip().lower()
        if base == "pipeline":
            return type_node
        if base in _COMPONENT2_TYPES or base == "command":
            return None
    schema = root.get("$schema")
    if schema is None or not isinstance(schema.value, str):
        return None
    return schema if "pipelinejob" in schema.value.lower() else None


def _from_schema(root: Node) -> Generation | None:
    node = root.get("$schema")
    if node is None or not isinstance(node.value, str):
        return None
    schema = node.value.lower()
    if "pipelinejob" in schema:
        raise node.error(
            "this is a pipeline job, not a module",
            "run it with `runner pipeline run` (a pipeline cannot be a step of another one)",
        )
    if "azuremlschemas" in schema and "commandcomponent" in schema:
        return Generation.CLI_V2
    if any(marker in schema for marker in _COMPONENT2_SCHEMAS):
        return Generation.COMPONENT_2
    return None
