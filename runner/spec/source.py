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
# Specs are kilobytes; a document above this is refused before it is parsed.
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
_LIMIT_TEXT = f"{MAX_DOCUMENT_BYTES // (1024 * 1024)} MB"
_TOO_BIG_HINT = "a spec is a few kilobytes: keep data in files that the spec names"
# A spec has hundreds of values, a long pipeline thousands: composing a document costs about
# half a kilobyte per value, so one of more values is refused before it is composed.
MAX_VALUES = 50_000
# PyYAML's own parser reads about a megabyte in seconds: it judges only smaller documents.
_PURE_PYTHON_LIMIT = 256 * 1024


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
            if len(text) > 2 * MAX_VALUES:
                _count_values(text, fast)
            return yaml.compose(text, Loader=fast)
        except _TooManyValues:
            raise
        except Exception:  # whatever libyaml refuses, the pure-Python parser judges
            if len(text) > _PURE_PYTHON_LIMIT:
                raise  # ... unless that would take seconds: libyaml's own words then
    elif len(text) > _PURE_PYTHON_LIMIT:
        raise _TooManyValues(f"larger than {_PURE_PYTHON_LIMIT // 1024} KB, without libyaml")
    # The reference parser: every error message and position a user sees comes from it.
    return yaml.compose(text, Loader=yaml.SafeLoader)


class _TooManyValues(Exception):
    pass


def _count_values(text: str, loader: type[yaml.CSafeLoader]) -> None:
    """Refuse a document of more than MAX_VALUES values before composing it: its node tree
    would take hundreds of megabytes. libyaml's events are counted and dropped as they come,
    so this costs little memory, and time only for large documents."""
    import yaml

    kinds = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)
    count = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, kinds):
            count += 1
            if count > MAX_VALUES:
                raise _TooManyValues(f"holds more than {MAX_VALUES} values")


def parse_document(path: Path, text: str) -> Document:
    """Parse YAML text into plain values plus a position for every path."""
    import yaml

    if _too_big(text):
        raise SpecError(Location(path), f"larger than {_LIMIT_TEXT}", _TOO_BIG_HINT)

    try:
        root = _compose(text)
    except _TooManyValues as exc:
        raise SpecError(Location(path), str(exc), _TOO_BIG_HINT) from None
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
    if root is None:
        return Document(path, None, {})
    converter = _Converter(path, root)
    data = converter.convert(root, (), 0)
    return Document(path, data, converter.positions)


def _too_big(text: str) -> bool:
    """More than MAX_DOCUMENT_BYTES once encoded (a character is 1 to 4 bytes)."""
    if len(text) * 4 <= MAX_DOCUMENT_BYTES:
        return False
    return (
        len(text) > MAX_DOCUMENT_BYTES or len(text.encode("utf-8", "replace")) > MAX_DOCUMENT_BYTES
    )


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
        with path.open("rb") as file:
            raw = file.read(MAX_DOCUMENT_BYTES + 1)
    except FileNotFoundError:
        raise SpecError(Location(path), "spec file not found") from None
    except IsADirectoryError:
        raise SpecError(
            Location(path), "is a folder, not a spec file", "name the module's YAML file"
        ) from None
    except OSError as exc:
        raise SpecError(Location(path), f"cannot read spec file: {exc.strerror or exc}") from None
    except ValueError as exc:  # a NUL byte in the path
        raise SpecError(Location(path), f"cannot read spec file: {exc}") from None
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise SpecError(Location(path), f"larger than {_LIMIT_TEXT}", _TOO_BIG_HINT)
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


# A value that an alias (`*name`) or a merge key (`<<`) repeats is counted again each time; a
# document may repeat this many values beyond its own before it is refused. Expansion is
# counted before it happens, so a "billion laughs" document (kilobytes that expand to
# billions of values) is refused after this much work and memory, whatever its size.
ALIAS_BUDGET = 10_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Converter:
    """Turns a composed YAML node tree into plain values, recording each value's position."""

    def __init__(self, path: Path, root: yaml.Node) -> None:
        self.path = path
        import yaml

        self.positions: dict[PathKey, tuple[int, int]] = {}
        self._constructor = yaml.SafeLoader("")
        self._budget = _distinct_nodes(root) + ALIAS_BUDGET
        self._merged: dict[int, list[tuple[yaml.Node, yaml.Node]]] = {}
        self._merging: set[int] = set()

    def _location(self, node: yaml.Node, at: PathKey) -> Location:
        mark = node.start_mark
        return Location(self.path, mark.line + 1, mark.column + 1, field_path(at))

    def _spend(self, count: int, node: yaml.Node, at: PathKey) -> None:
        self._budget -= count
        if self._budget < 0:
            raise SpecError(
                self._location(node, at),
                f"aliases and merge keys repeat more than {ALIAS_BUDGET} values",
                "each `*alias` and `<<` copies what it names: a spec needs few (this looks"
                " like an alias bomb)",
            )

    def convert(self, node: yaml.Node, at: PathKey, depth: int) -> object:
        import yaml

        self._spend(1, node, at)
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

        result: dict[object, object] = {}
        for key_node, value_node in self._pairs(node, at, depth):
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

    def _pairs(
        self, node: yaml.MappingNode, at: PathKey, depth: int
    ) -> list[tuple[yaml.Node, yaml.Node]]:
        """The mapping's own pairs, then those its merge keys bring in and it does not set
        itself (an earlier merged mapping wins over a later one, as YAML's merge key says).
        Computed once per mapping node, however often aliases repeat it."""
        import yaml

        known = self._merged.get(id(node))
        if known is not None:
            return known
        if id(node) in self._merging or depth > _MAX_DEPTH:
            raise SpecError(self._location(node, at), "a merge key (<<) includes itself")
        self._merging.add(id(node))
        own: list[tuple[yaml.Node, yaml.Node]] = []
        sources: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                own.append((key_node, value_node))
            elif isinstance(value_node, yaml.SequenceNode):
                sources.extend(value_node.value)
            else:
                sources.append(value_node)
        pairs = list(own)
        taken = {_key_of(key) for key, _ in own}
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise SpecError(
                    self._location(source, at),
                    "invalid merge key: `<<` takes a mapping or a list of mappings",
                )
            for key_node, value_node in self._pairs(source, at, depth + 1):
                if _key_of(key_node) not in taken:
                    self._spend(1, key_node, at)
                    taken.add(_key_of(key_node))
                    pairs.append((key_node, value_node))
        self._merging.discard(id(node))
        self._merged[id(node)] = pairs
        return pairs

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


def _key_of(node: yaml.Node) -> tuple[str, object]:
    """What makes two keys the same key: the tag and the text of a scalar (other keys are
    refused when converted, and are never the same as another here)."""
    import yaml

    if isinstance(node, yaml.ScalarNode):
        return node.tag, node.value
    return node.tag, id(node)


def _distinct_nodes(root: yaml.Node) -> int:
    """How many nodes the document writes out: a node that aliases repeat counts once."""
    import yaml

    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack += (key, value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return len(seen)
