"""Freezing a spec into a bundle (see runner.registry.rewrite for the layout): the snapshot as
the module would run it today, the spec rewritten to use it, and the files it names.

The bundle is checked before anything is registered: loaded back, it must be the same module
(interface, command, environment, job settings) with the same snapshot digest, so that running
the registered version, or a downloaded copy, has the cache key of the spec it came from.
(One exception: a `.zip` include built from a folder is digested by its members when built,
and by its bytes once frozen, so such a snapshot gets a new digest, still the same for every
copy of the version.)
"""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from runner.errors import RunnerError
from runner.registry.errors import RegistryError
from runner.registry.rewrite import RESERVED, SNAPSHOT, rewrite
from runner.snapshot.model import SnapshotPlan
from runner.snapshot.plan import plan_snapshot
from runner.snapshot.write import materialize
from runner.spec.load import load_spec
from runner.spec.model import DockerBuild, InputPort, ModuleSpec
from runner.spec.source import load_document
from runner.struct import Struct, replace


class Frozen(Struct):
    folder: Path  # the staged bundle
    spec_file: str  # the spec's name in it
    snapshot: str  # the snapshot's digest
    warnings: tuple[str, ...]  # from planning the snapshot


def freeze(spec: ModuleSpec, folder: Path, confine: Path | None = None) -> Frozen:
    """Write `spec`'s bundle into `folder` (which must not exist yet) and check it. With
    `confine` (a package or a clone), a file from outside that folder is refused."""
    if spec.code is None:
        raise RegistryError(f"{spec.source}: the module has no code folder to freeze")
    plan = plan_snapshot(spec.code)
    data: Any = copy.deepcopy(load_document(spec.source).data)
    carried = rewrite(spec, data, {entry.relpath for entry in plan.entries})
    if confine is not None:
        _confined(spec, confine, plan, [item.source for item in carried])
    folder.mkdir(parents=True)
    materialize(plan, folder / SNAPSHOT)
    for item in carried:
        _carry(item.source, folder / item.place)
    name = spec.source.name if spec.source.name not in RESERVED else "spec.yaml"
    (folder / name).write_text(dump_yaml(data), encoding="utf-8")
    _check(spec, folder / name, plan)
    return Frozen(folder, name, plan.digest, plan.warnings)


def _confined(spec: ModuleSpec, root: Path, plan: SnapshotPlan, carried: list[Path]) -> None:
    """Everything a package or a clone registers comes from inside it: an include, a conda file
    or a default reaching out (`../../..`) would copy the registering user's files."""
    sources = [e.source or e.zip_source for e in plan.entries if e.kind != "symlink"]
    for path in [*(s for s in sources if s is not None), *carried]:
        real = Path(os.path.realpath(path))
        if real != root and root not in real.parents:
            raise RegistryError(
                f"{spec.source}: refused: {real} lies outside the package or repository",
                "its additional includes and the files its spec names must be inside it;"
                " nothing was registered",
            )


def _carry(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copyfile(source, target)


def _check(spec: ModuleSpec, frozen_spec: Path, plan: SnapshotPlan) -> None:
    try:
        frozen = load_spec(frozen_spec)
    except RunnerError as exc:
        raise _unfaithful(spec, f"the rewritten spec does not load: {exc}") from None
    if _essence(frozen) != _essence(spec):
        raise _unfaithful(spec, "the rewritten spec describes another module")
    if frozen.code is None:
        raise _unfaithful(spec, "the rewritten spec has no code folder")
    again = plan_snapshot(frozen.code)
    if again.digest != plan.digest and not any(e.kind == "zip" for e in plan.entries):
        raise _unfaithful(spec, "the frozen snapshot digests differently")


def _essence(spec: ModuleSpec) -> ModuleSpec:
    """The spec without what the bundle moves: its paths, and warnings about how it was written."""
    inputs = tuple(
        replace(item, default=None) if isinstance(item, InputPort) else item for item in spec.inputs
    )
    build = spec.environment.build
    environment = replace(
        spec.environment,
        build=None if build is None else DockerBuild(Path(), build.dockerfile),
    )
    return replace(
        spec, source=Path(), code=None, warnings=(), inputs=inputs, environment=environment
    )


def _unfaithful(spec: ModuleSpec, why: str) -> RegistryError:
    return RegistryError(
        f"{spec.source}: cannot freeze this module faithfully: {why}",
        "this is a bug in runner; please report it with the spec",
    )


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as block scalars, so a downloaded spec reads like the original."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump_yaml(data: object) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
