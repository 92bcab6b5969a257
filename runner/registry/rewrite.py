"""A spec rewritten to stand in a bundle: its code is the frozen snapshot beside it, and every
file it names outside that snapshot is carried into the bundle.

The bundle (what a registered version is, and what `runner module download` writes):

    <spec file>        the spec, rewritten as below
    snapshot/          the frozen code snapshot (additional includes and ignore files applied)
    environment/...    conda and pip files, a docker build context the environment names
    data/<input>/...   local default paths of data inputs

The rewrite, per generation (spec reference sections 1-3): the code field (`sourceDirectory`,
`code`) becomes `snapshot`; additional includes are dropped (the snapshot holds them already,
and no `<stem>.additional_includes` file lies beside the rewritten spec); conda and pip file
fields, `build.path` and data input defaults point into the bundle. Nothing else changes, so
the module's definition (hence its cache key) stays what it was.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from runner.registry.errors import RegistryError
from runner.spec.files import is_remote
from runner.spec.model import Generation, ModuleSpec
from runner.struct import Struct

SNAPSHOT = "snapshot"
ENVIRONMENT = "environment"
DATA = "data"
RESERVED = frozenset({SNAPSHOT, ENVIRONMENT, DATA})


class Carried(Struct):
    """A file or folder the spec names outside its snapshot, and where it goes in the bundle."""

    field: tuple[str, ...]  # where the spec writes its path
    source: Path
    place: str  # bundle-relative posix path


class _Places:
    """Bundle paths handed out so far; a name is never reused, nor one the snapshot holds (2.0
    looks files up in the code folder first, so that one would shadow the carried file)."""

    def __init__(self, snapshot_paths: Collection[str]) -> None:
        self.taken = set(snapshot_paths)

    def claim(self, folder: str, name: str) -> str:
        candidate, count = f"{folder}/{name}", 1
        while candidate in self.taken or any(t.startswith(candidate + "/") for t in self.taken):
            count += 1
            candidate = f"{folder}-{count}/{name}"
        self.taken.add(candidate)
        return candidate


def rewrite(spec: ModuleSpec, data: Any, snapshot_paths: Collection[str]) -> list[Carried]:
    """Rewrite `data` (the spec document, changed in place) for the bundle; returns what must
    be carried into it, with each field already pointing at its place."""
    if not isinstance(data, dict):
        raise RegistryError(f"{spec.source}: the spec is not a mapping")
    places = _Places(snapshot_paths)
    carried = _REWRITES[spec.generation](spec, data, places)
    carried += _input_defaults(spec, data, places)
    for item in carried:
        _set(data, item.field, item.place)
    return carried


def _legacy(spec: ModuleSpec, data: dict[str, Any], places: _Places) -> list[Carried]:
    impl = data.get("implementation")
    kinds = [k for k in ("container", "parallel", "hdinsight") if k in (impl or {})]
    if not isinstance(impl, dict) or not kinds or not isinstance(impl[kinds[0]], dict):
        raise RegistryError(f"{spec.source}: no implementation section to rewrite")
    kind = kinds[0]
    section: dict[str, Any] = impl[kind]
    section["sourceDirectory"] = SNAPSHOT
    section.pop("additionalIncludes", None)
    at = ("implementation", kind, "amlEnvironment", "python")
    spec_dir = spec.source.parent
    return [
        *_file(data, (*at, "condaDependenciesFile"), [spec_dir], places),
        *_file(data, (*at, "pipRequirementsFile"), [spec_dir], places),
    ]


def _component2(spec: ModuleSpec, data: dict[str, Any], places: _Places) -> list[Carried]:
    bases = [spec.code.base, spec.source.parent] if spec.code else [spec.source.parent]
    _code(data)
    at = ("environment", "conda")
    return [
        *_file(data, (*at, "conda_dependencies_file"), bases, places),
        *_file(data, (*at, "pip_requirements_file"), bases, places),
    ]


def _cliv2(spec: ModuleSpec, data: dict[str, Any], places: _Places) -> list[Carried]:
    _code(data)
    spec_dir = spec.source.parent
    carried = _file(data, ("environment", "conda_file"), [spec_dir], places)
    build = _get(data, ("environment", "build", "path"))
    if isinstance(build, str):
        source = spec_dir / build
        carried.append(
            Carried(("environment", "build", "path"), source, places.claim(ENVIRONMENT, "build"))
        )
    return carried


def _code(data: dict[str, Any]) -> None:
    data["code"] = SNAPSHOT
    data.pop("additional_includes", None)


_REWRITES: dict[Generation, Callable[[ModuleSpec, dict[str, Any], _Places], list[Carried]]] = {
    Generation.LEGACY: _legacy,
    Generation.COMPONENT_2: _component2,
    Generation.CLI_V2: _cliv2,
}


def _file(
    data: dict[str, Any], field: tuple[str, ...], bases: Sequence[Path], places: _Places
) -> list[Carried]:
    """The file written at `field` (a string path), found as the loader finds it."""
    written = _get(data, field)
    if not isinstance(written, str):
        return []  # absent, or inline (a conda mapping): nothing to carry
    for base in dict.fromkeys(bases):
        source = base / written
        if source.is_file():
            return [Carried(field, source, places.claim(ENVIRONMENT, source.name))]
    return []  # the loader accepted the spec, so this cannot happen; the check would catch it


def _input_defaults(spec: ModuleSpec, data: dict[str, Any], places: _Places) -> list[Carried]:
    """Map-style data inputs (2.0, CLI v2) with a local default path (`default` or `path`)."""
    if spec.generation is Generation.LEGACY or not isinstance(data.get("inputs"), dict):
        return []
    carried: list[Carried] = []
    for port in spec.ports:
        if port.default is None or is_remote(port.default):
            continue
        item = data["inputs"].get(port.name)
        key = next((k for k in ("default", "path") if isinstance(item, dict) and k in item), None)
        if key is None:
            continue
        source = Path(port.default)
        name = PurePosixPath(source.name).name or port.python_name
        place = places.claim(f"{DATA}/{port.python_name}", name)
        carried.append(Carried(("inputs", port.name, key), source, place))
    return carried


def _get(data: Any, field: tuple[str, ...]) -> object:
    for key in field:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _set(data: Any, field: tuple[str, ...], value: str) -> None:
    for key in field[:-1]:
        data = data[key]
    data[field[-1]] = value
