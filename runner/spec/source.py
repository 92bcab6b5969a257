"""YAML documents that remember where every value came from, and typed, located accessors.

Loaders never see raw dicts without a position: every value is reached through a `Node`, so any
error can name the file, line, column and field path, what was expected and what was found.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from runner.errors import Location, SpecError
from runner.spec import memo
from runner.struct import Struct

if TYPE_CHECKING:
    import yaml

PathKey = tuple[str | int, ...]
_MAX_DEPTH = 200


class Document(Struct):
    path: Path
    data: object
    positions: dict[PathKey, tuple[int, int]]  # path -> 1-based (line, column)

    @property
    def root(self) -> Node:
        return Node(self, (), self.data)


def field_path(path: PathKey) -> str:
    """`("inputs", "x", "type")` -> `inputs.x.type`; list indices as `[i]`."""
    out = ""
    for key in path:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            out += f".{key}" if out else str(key)
    return out


def describe(value: object) -> str:
    """How a found value is named in an error message."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"boolean {value!r}"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"string {shown!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


class Node(Struct):
    """A value at a path in a document."""

    doc: Document
    path: PathKey
    value: object

    def location(self) -> Location:
        probe = self.path
        while probe not in self.doc.positions and probe:
            probe = probe[:-1]
        line, column = self.doc.positions.get(probe, (None, None))
        return Location(self.doc.path, line, column, field_path(self.path))

    def error(self, message: str, hint: str | None = None) -> SpecError:
        return SpecError(self.location(), message, hint)

    def expected(self, what: str, hint: str | None = None) -> SpecError:
        return self.error(f"expected {what}, found {describe(self.value)}", hint)

    def child(self, key: str | int, value: object) -> Node:
        return Node(self.doc, (*self.path, key), value)

    # ---- mappings

    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    def mapping(self) -> dict[str, Node]:
        if not isinstance(self.value, dict):
            raise self.expected("a mapping")
        return {str(k): self.child(str(k), v) for k, v in self.value.items()}

    def get(self, key: str) -> Node | None:
        if not isinstance(self.value, dict) or key not in self.value:
            return None
        return self.child(key, self.value[key])

    def get_ci(self, key: str) -> Node | None:
        """A key looked up case-insensitively (real legacy specs vary the case)."""
        if not isinstance(self.value, dict):
            return None
        for k, v in self.value.items():
            if isinstance(k, str) and k.lower() == key.lower():
                return self.child(k, v)
        return None

    def require(self, key: str, what: str = "a value") -> Node:
        found = self.get(key)
        if found is None:
            raise self.error(f"missing required field '{key}' ({what})")
        return found

    # ---- sequences

    def items(self) -> list[Node]:
        if not isinstance(self.value, list):
            raise self.expected("a list")
        return [self.child(i, v) for i, v in enumerate(self.value)]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.items())

    # ---- scalars

    def text(self) -> str:
        """A scalar rendered as text; numbers and booleans are accepted as their YAML text."""
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        if isinstance(self.value, (str, int, float)):
            return str(self.value)
        raise self.expected("a string")

    def string(self) -> str:
        if not isinstance(self.value, str):
            raise self.expected("a string")
        return self.value

    def boolean(self) -> bool:
        if isinstance(self.value, bool):
            return self.value
        if isinstance(self.value, str) and self.value.lower() in ("true", "false"):
            return self.value.lower() == "true"
        raise self.expected("true or false")

    def integer(self) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, (int, str)):
            raise self.expected("an integer")
        try:
            return int(self.value)
        except ValueError:
            raise self.expected("an integer") from None

    def number(self) -> int | float:
        if isinstance(self.value, bool):
            raise self.expected("a number")
        if isinstance(self.value, (int, float)):
            return self.value
        if isinstance(self.value, str):
            try:
                return int(self.value)
            except ValueError:
                pass
            try:
                return float(self.value)
            except ValueError:
                pass
        raise self.expected("a number")


# `yaml` is imported where a document is parsed, not at the top: importing it costs about 10 ms
# (4.5 of them compiling one regular expression in yaml.reader), which commands that read no
# YAML (--help, --version, cache and env listings) do not pay.


@functools.cache
def _fast_loader() -> type[yaml.CSafeLoader] | None:
    """libyaml's parser, when PyYAML was built with it: 10-20x faster than the pure-Python one
    (about 0.2 ms against 3 ms for a 50-line spec). Only from libyaml 0.2.5 on, which caps the
    nesting depth (its composer recurses in C, where Python's recursion limit does not apply)."""
    import yaml

    if not yaml.__with_libyaml__:
        return None
    from yaml import _yaml

    return yaml.CSafeLoader if _yaml.get_version() >= (0, 2, 5) else None


def _compose(text: str) -> yaml.Node | None:
    """The node tree of `text`, by libyaml when present. The two parsers agree on the values and
    positions of any document PyYAML writes and of every shipped spec (tests/spec/test_spec_yaml);
    they differ on syntax no spec uses, where libyaml follows the YAML spec more closely: it
    accepts some tabs and `|#` that PyYAML refuses, reads the bare tag `!` as a string, and
    places some empty values (in a flow collection, before `---`) at the next token rather than
    just after the previous one."""
    import yaml

    fast = _fast_loader()
    if fast is not None:
        try:
            return yaml.compose(text, Loader=fast)
        except Exception:  # whatever libyaml refuses, the pure-Python parser judges
            pass
    # The reference parser: every error message and position a user sees comes from it.
    return yaml.compose(text, Loader=yaml.SafeLoader)


def parse_document(path: Path, text: str) -> Document:
    """Parse YAML text into plain values plus a position for every path."""
    import yaml

    try:
        root = _compose(text)
    except yaml.MarkedYAMLError as exc:
        # The context mark is where the broken construct starts (the `args:[` line); the
        # problem mark is often the line after, where the parser gave up.
        mark = exc.context_mark or exc.problem_mark
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        line = mark.line + 1 if mark else None
        loc = Location(path, line, mark.column + 1 if mark else None)
        raise SpecError(loc, f"invalid YAML: {problem}{context}", _yaml_hint(text, line)) from None
    except yaml.YAMLError as exc:
        raise SpecError(Location(path), f"invalid YAML: {exc}") from None
    except RecursionError:
        raise SpecError(Location(path), "invalid YAML: nesting is too deep") from None
    converter = _Converter(path)
    data = converter.convert(root, (), 0) if root is not None else None
    return Document(path, data, converter.positions)


_GLUED_KEY = r"^\s*(-\s+)?([\w$.-]+):([\[{])"  # compiled by `re` when an error needs it


def _yaml_hint(text: str, line: int | None) -> str:
    lines = text.splitlines()
    if line is not None and 0 < line <= len(lines):
        glued = re.match(_GLUED_KEY, lines[line - 1])
        if glued:
            key, bracket = glued.group(2), glued.group(3)
            return (
                f"`{key}:{bracket}` is not a key: put a space after the colon (`{key}: {bracket}`)"
            )
    return "check the indentation and that every `key:` is followed by a space"


def load_document(path: Path) -> Document:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(Location(path), "spec file not found") from None
    except IsADirectoryError:
        raise SpecError(
            Location(path), "is a folder, not a spec file", "name the module's YAML file"
        ) from None
    except OSError as exc:
        raise SpecError(Location(path), f"cannot read spec file: {exc.strerror}") from None
    remembered = memo.recall(raw)
    if remembered is not None:
        return Document(path, *remembered)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(Location(path), f"not UTF-8 text (byte {exc.start})") from None
    document = parse_document(path, text)
    memo.remember(raw, document.data, document.positions)
    return document


class _Converter:
    """Turns a composed YAML node tree into plain values, recording each value's position."""

    def __init__(self, path: Path) -> None:
        self.path = path
        import yaml

        self.positions: dict[PathKey, tuple[int, int]] = {}
        self._constructor = yaml.SafeLoader("")

    def _location(self, node: yaml.Node, at: PathKey) -> Location:
        mark = node.start_mark
        return Location(self.path, mark.line + 1, mark.column + 1, field_path(at))

    def convert(self, node: yaml.Node, at: PathKey, depth: int) -> object:
        import yaml

        self.positions[at] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if depth > _MAX_DEPTH:
            raise SpecError(self._location(node, at), "nesting is too deep")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, at, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*at, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, at)

    def _mapping(self, node: yaml.MappingNode, at: PathKey, depth: int) -> dict[object, object]:
        import yaml

        try:
            self._constructor.flatten_mapping(node)
        except yaml.YAMLError as exc:
            raise SpecError(self._location(node, at), f"invalid merge key: {exc}") from None
        result: dict[object, object] = {}
        for key_node, value_node in node.value:
            key = self._scalar(key_node, at) if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                raise SpecError(self._location(key_node, at), "expected a plain key")
            if key in result:
                raise SpecError(
                    self._location(key_node, (*at, str(key))),
                    f"duplicate key '{key}'",
                    "YAML keeps only the last value; remove one of them",
                )
            result[key] = self.convert(value_node, (*at, str(key)), depth + 1)
        return result

    def _scalar(self, node: yaml.Node, at: PathKey) -> object:
        import yaml

        try:
            value = self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            raise SpecError(self._location(node, at), f"bad value: {exc}") from None
        if value is not None and not isinstance(value, (str, int, float, bool)):
            # Timestamps, binary and other YAML types carry no meaning in a spec: keep the text.
            return str(node.value)
        return value
