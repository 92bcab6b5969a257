"""Port data types: the built-in ones and those registered with `runner datatype register`.

A registered type may name a parent (built in or registered before it). A port of type T feeds
an input of T, of any of T's ancestors, or of a wildcard (AnyFile, AnyDirectory, uri_*, path);
T takes a file or a folder as the built-in type it descends from does (a type with no built-in
ancestor keeps the default rule of `runner.spec.model.port_kind` for custom types). Type names
are free text without '<' or '>' (the service's rule), compared case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from runner.clock import now_iso
from runner.registry.catalogue import Catalogue, DataTypeRow
from runner.registry.errors import RegistryError
from runner.registry.names import close_matches
from runner.registry.porttypes import BUILT_IN, built_in_name, is_known_port_type, port_types
from runner.spec.model import (
    DataType,
    ModuleSpec,
    port_kind,
)
from runner.struct import Struct

_BAD_NAME = re.compile(r"[<>\x00-\x1f\x7f]")
MAX_NAME = 255


class DataTypeInfo(Struct):
    name: str
    description: str
    parent: str | None
    ancestors: tuple[str, ...]  # parent first
    kind: str  # file / folder / either: the nearest built-in ancestor's, else the default rule
    built_in: bool
    registered_at: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "parent": self.parent,
            "ancestors": list(self.ancestors),
            "kind": self.kind,
            "built_in": self.built_in,
            "registered_at": self.registered_at,
        }


def check_type_name(name: str) -> None:
    if not name.strip() or name != name.strip():
        raise RegistryError(f"data type name {name!r} is empty or starts or ends with spaces")
    if _BAD_NAME.search(name):
        raise RegistryError(
            f"data type name {name!r} holds '<', '>' or a control character",
            "a port type can be any name without '<' and '>'",
        )
    if len(name) > MAX_NAME:
        raise RegistryError(f"data type name is longer than {MAX_NAME} characters")


def registered_types(catalogue: Catalogue) -> dict[str, DataTypeRow]:
    return {row.name.lower(): row for row in catalogue.datatypes()}


def info(name: str, registered: Mapping[str, DataTypeRow]) -> DataTypeInfo:
    """What is known of type `name`; a RegistryError with close matches when nothing is."""
    builtin = built_in_name(name)
    if builtin is not None:
        kind, description = BUILT_IN[builtin]
        return DataTypeInfo(builtin, description, None, (), kind, True, None)
    row = registered.get(name.lower())
    if row is None:
        known = [*BUILT_IN, *(r.name for r in registered.values())]
        close = close_matches(name, known)
        guess = f" (close: {', '.join(close)})" if close else ""
        raise RegistryError(
            f"unknown data type {name!r}{guess}",
            f"register it: runner datatype register {_quoted(name)} [--parent TYPE]",
        )
    ancestors = _ancestors(row, registered)
    kind = _kind(ancestors) or port_kind(row.name)
    return DataTypeInfo(
        row.name, row.description, row.parent, ancestors, kind, False, row.registered_at
    )


def _ancestors(row: DataTypeRow, registered: Mapping[str, DataTypeRow]) -> tuple[str, ...]:
    chain: list[str] = []
    parent = row.parent
    while parent is not None and parent.lower() not in {c.lower() for c in chain}:
        builtin = built_in_name(parent)
        if builtin is not None:
            chain.append(builtin)
            break
        found = registered.get(parent.lower())
        chain.append(found.name if found else parent)
        parent = found.parent if found else None
    return tuple(chain)


def _kind(ancestors: Iterable[str]) -> str | None:
    for name in ancestors:
        builtin = built_in_name(name)
        if builtin is not None:
            return BUILT_IN[builtin][0]
    return None


def register(
    catalogue: Catalogue, name: str, description: str, parent: str | None
) -> tuple[DataTypeInfo, bool]:
    """Register a data type (one transaction); returns it and whether it is new. The same
    definition again is a no-op; a different one is refused."""
    check_type_name(name)
    if built_in_name(name) is not None:
        raise RegistryError(f"{built_in_name(name)} is a built-in data type")
    with catalogue.transaction(f"cannot register data type {name!r}"):
        registered = registered_types(catalogue)
        parent_name = None if parent is None else info(parent, registered).name
        existing = registered.get(name.lower())
        if existing is not None:
            if (existing.description, existing.parent) != (description, parent_name):
                raise RegistryError(
                    f"data type {existing.name!r} is already registered"
                    f" (parent {existing.parent or 'none'}, description {existing.description!r})",
                    "a registered data type does not change: use another name",
                )
            return info(name, registered), False
        catalogue.add_datatype(DataTypeRow(name, description, parent_name, now_iso()))
        return info(name, registered_types(catalogue)), True


def unknown_port_types(spec: ModuleSpec, registered: Mapping[str, DataTypeRow]) -> list[str]:
    """'port <name>: <type>' for every port type that is neither built in nor registered."""
    return [
        f"port '{name}': {written}"
        for name, written in port_types(spec)
        if not is_known_port_type(written, registered)
    ]


def bad_port_types(spec: ModuleSpec) -> list[str]:
    return [
        f"port '{name}': {written}"
        for name, written in port_types(spec)
        if _BAD_NAME.search(written)
    ]


def spec_datatypes(spec: ModuleSpec, registered: Mapping[str, DataTypeRow]) -> tuple[DataType, ...]:
    """The registered types among the spec's port types, with their ancestry and kind."""
    names = {t.lower(): t for _, t in port_types(spec)}
    found: list[DataType] = []
    for lowered in sorted(names):
        if lowered in registered and built_in_name(lowered) is None:
            known = info(lowered, registered)
            found.append(DataType(known.name, known.ancestors, known.kind))
    return tuple(found)


def _quoted(name: str) -> str:
    return f"'{name}'" if " " in name else name
