"""Registering modules: one spec, or every spec under a folder (batch registration).

A registration is: load the spec (any error stops it), check its name, version and port types,
freeze it into a bundle in the registry's tmp/ (runner.registry.freeze), store the bundle in
the registry's store (objects first, the entry last; kept from gc), then add the version to the
catalogue in one transaction. Whatever fails before that transaction leaves the catalogue as
it was; a bundle stored by a registration that then failed is an unreferenced entry, harmless.

A version is immutable: the same namespace/name/version again with the same bundle is a no-op
that says so; with a different bundle it is refused, naming the files that differ.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from runner.cache.digest import FileDigest, digest_path
from runner.cache.gc import remove_stale_tmp
from runner.cache.manifest import KEEP
from runner.cache.store import NotStored
from runner.clock import now_iso
from runner.errors import RunnerError, SnapshotError, SpecError
from runner.files import is_runner_folder
from runner.registry.base import Registry
from runner.registry.catalogue import VersionRow
from runner.registry.datatypes import bad_port_types, registered_types, unknown_port_types
from runner.registry.errors import RegistryError, storage_error
from runner.registry.freeze import Frozen, freeze
from runner.registry.location import BUNDLE
from runner.registry.lookup import checkout
from runner.registry.names import check_name
from runner.registry.sources import open_source
from runner.snapshot.ignore import ALWAYS_SKIPPED_DIRS
from runner.spec.load import detect_generation, load_spec
from runner.spec.model import ModuleSpec
from runner.spec.source import load_document
from runner.struct import Struct

SPEC_SUFFIXES = (".yaml", ".yml")


class Registered(Struct):
    name: str  # NAMESPACE/NAME or NAME
    version: str
    status: str  # "registered" | "unchanged"
    default: bool  # the module's default version now
    digest: str
    snapshot: str
    spec: str  # the spec file registered, as found in the source
    source: Mapping[str, object]
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "status": self.status,
            "name": self.name,
            "version": self.version,
            "default": self.default,
            "digest": self.digest,
            "snapshot": self.snapshot,
            "spec": self.spec,
            "source": dict(self.source),
            "warnings": list(self.warnings),
        }


class Outcome(Struct):
    """One spec of a batch registration: registered, refused (an error), or skipped."""

    spec: str
    registered: Registered | None = None
    error: RunnerError | None = None
    skipped: str | None = None  # why a YAML file is not a module spec

    def to_json(self) -> dict[str, object]:
        if self.registered is not None:
            return self.registered.to_json()
        if self.error is not None:
            return {"status": "failed", "spec": self.spec, "error": str(self.error)}
        return {"status": "skipped", "spec": self.spec, "reason": self.skipped}


class Request(Struct, frozen=False):
    """What to register: SOURCE and the flags of `runner module register`."""

    source: str
    spec_file: str | None = None
    ref: str | None = None
    subdir: str | None = None
    set_default: bool = False
    pattern: str | None = None  # batch registration only


def register(registry: Registry, request: Request) -> Registered:
    """Register the one spec SOURCE names (a spec file, or the one spec in a folder, a package
    or a repository; `spec_file` picks one when there are several)."""
    with open_source(request.source, ref=request.ref, subdir=request.subdir) as opened:
        origin, where = opened.origin, opened.where
        spec_path = _pick_spec(where, request)
        relative = None if origin.kind == "file" else _relative(spec_path, where)
        source = origin.to_json(relative)
        return register_spec(registry, spec_path, source, request.set_default, opened.confine)


def register_all(registry: Registry, request: Request) -> list[Outcome]:
    """Register every module spec under SOURCE (matching `pattern`), each on its own."""
    outcomes: list[Outcome] = []
    with open_source(request.source, ref=request.ref, subdir=request.subdir) as opened:
        origin, where = opened.origin, opened.where
        if not where.is_dir():
            raise RegistryError(f"--recursive: {request.source} is not a folder")
        for path in _yaml_files(where, request.pattern):
            relative = _relative(path, where)
            reason = not_a_module_spec(path)
            if reason is not None:
                outcomes.append(Outcome(relative, skipped=reason))
                continue
            try:
                source = origin.to_json(relative)
                done = register_spec(registry, path, source, request.set_default, opened.confine)
            except RunnerError as exc:
                if exc.exit_code != 2:
                    raise  # a full disk stops the batch: the next ones would fail the same way
                outcomes.append(Outcome(relative, error=exc))
            else:
                outcomes.append(Outcome(relative, registered=done))
    return outcomes


def register_spec(
    registry: Registry,
    spec_path: Path,
    source: Mapping[str, object],
    set_default: bool,
    confine: Path | None = None,
) -> Registered:
    """Register one spec file; `confine`: a folder everything it registers must come from."""
    spec = load_spec(spec_path)
    full_name = module_name(spec)
    _check(spec, full_name, registry)
    remove_stale_tmp(registry.layout.tmp, time.time())  # what crashed registrations left
    staging = registry.layout.scratch("stage")
    try:
        frozen = _freeze(registry, spec, staging, confine)
        tree = digest_path(frozen.folder, registry.store.state)
        existing = registry.catalogue.version(full_name, spec.version)
        if existing is not None:
            return _again(
                registry, existing, frozen, tree.digest, tree.files, spec_path, set_default
            )
        _store(registry, frozen, tree.digest, full_name, spec.version)
        row = VersionRow(
            module=full_name,
            version=spec.version,
            digest=tree.digest,
            snapshot=frozen.snapshot,
            spec_file=frozen.spec_file,
            generation=spec.generation.value,
            display_name=spec.display_name,
            description=spec.description,
            source=source,
            registered_at=now_iso(),
            enabled=True,
            order=0,
        )
        return _add(registry, spec, row, frozen, tree.files, set_default, spec_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def module_name(spec: ModuleSpec) -> str:
    return f"{spec.namespace}/{spec.name}" if spec.namespace else spec.name


def _check(spec: ModuleSpec, full_name: str, registry: Registry) -> None:
    problem = check_name(full_name, spec.version)
    if problem is not None:
        raise RegistryError(
            f"{spec.source}: cannot register {full_name!r}: {problem}",
            "a registered module needs a name and a version (legacy: amlModuleIdentifier"
            " moduleName and moduleVersion; 2.0 and CLI v2: name and version)",
        )
    bad = bad_port_types(spec)
    if bad:
        raise RegistryError(
            f"{spec.source}: port types may not hold '<' or '>': {'; '.join(bad)}",
            "rename the type",
        )
    unknown = unknown_port_types(spec, registered_types(registry.catalogue))
    if unknown:
        first = unknown[0].rpartition(": ")[2]
        raise RegistryError(
            f"{spec.source}: unknown data type{'s' if len(unknown) > 1 else ''}: "
            + "; ".join(unknown),
            f"register each one first, e.g. runner datatype register {first}"
            " [--parent AnyDirectory] (built in: AnyFile, AnyDirectory and the CLI v2 types)",
        )


def _freeze(registry: Registry, spec: ModuleSpec, staging: Path, confine: Path | None) -> Frozen:
    doing = f"cannot register {module_name(spec)}"
    try:
        staging.parent.mkdir(parents=True, exist_ok=True)
        return freeze(spec, staging / BUNDLE, confine)
    except OSError as exc:
        raise storage_error(exc, registry.root, doing) from None
    except SnapshotError as exc:
        # Writing the snapshot into the registry failed: the registry's disk, not the spec.
        cause = exc.__context__
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            raise storage_error(cause, registry.root, doing) from None
        raise


def _store(registry: Registry, frozen: Frozen, digest: str, name: str, version: str) -> None:
    meta = {KEEP: True, "module": name, "version": version, "spec_file": frozen.spec_file}
    try:
        registry.store.publish(digest, {BUNDLE: (frozen.folder, "dir")}, {}, meta)
    except NotStored as exc:
        raise storage_error(exc.error, registry.root, f"cannot register {name} {version}") from None
    except (OSError, sqlite3.Error) as exc:
        raise storage_error(exc, registry.root, f"cannot register {name} {version}") from None


def _add(
    registry: Registry,
    spec: ModuleSpec,
    row: VersionRow,
    frozen: Frozen,
    files: tuple[FileDigest, ...],
    set_default: bool,
    spec_path: Path,
) -> Registered:
    with registry.catalogue.transaction(f"cannot register {row.module} {row.version}"):
        raced = registry.catalogue.version(row.module, row.version)
        if raced is None:
            module = registry.catalogue.add_version(
                spec.namespace or "", row, make_default=set_default
            )
    if raced is not None:  # another process registered it since we looked
        return _again(registry, raced, frozen, row.digest, files, spec_path, set_default)
    # Placed now, while the registry is writable: a registry later mounted read-only (shared
    # on a cluster, in CI) is then complete. If this fails, the first use places it instead.
    with contextlib.suppress(RegistryError):
        checkout(registry, row)
    return Registered(
        module.name,
        row.version,
        "registered",
        module.default_version == row.version,
        row.digest,
        row.snapshot,
        str(spec_path),
        row.source,
        frozen.warnings,
    )


def _again(
    registry: Registry,
    existing: VersionRow,
    frozen: Frozen,
    digest: str,
    files: tuple[FileDigest, ...],
    spec_path: Path,
    set_default: bool,
) -> Registered:
    """The version exists already: a no-op when the content is the same (but for
    `--set-default`, which is honoured), else refused."""
    if existing.digest != digest:
        raise RegistryError(
            f"{existing.module} {existing.version} is already registered with different"
            f" content: {_differences(registry, existing.digest, files)}",
            "a registered version never changes: give the spec a new version to register this",
        )
    if registry.store.lookup(digest) is None:  # lost or damaged: this registration repairs it
        _store(registry, frozen, digest, existing.module, existing.version)
    if set_default:
        with registry.catalogue.transaction(f"cannot set the default of {existing.module}"):
            registry.catalogue.set_default(existing.module, existing.version)
    module = registry.catalogue.module(existing.module)
    return Registered(
        existing.module,
        existing.version,
        "unchanged",
        module is not None and module.default_version == existing.version,
        digest,
        existing.snapshot,
        str(spec_path),
        existing.source,
        frozen.warnings,
    )


def _differences(registry: Registry, digest: str, files: tuple[FileDigest, ...]) -> str:
    reading = registry.store.read(digest)
    if reading is None or reading.manifest is None:
        return "its stored bundle is gone, so which files differ is unknown"
    old = {f.relpath: f.digest for f in reading.manifest.entry.outputs[BUNDLE].files}
    new = {f.relpath: f.digest for f in files}
    lines = [f"{p} (changed)" for p in sorted(set(old) & set(new)) if old[p] != new[p]]
    lines += [f"{p} (added)" for p in sorted(set(new) - set(old))]
    lines += [f"{p} (removed)" for p in sorted(set(old) - set(new))]
    shown = ", ".join(lines[:10]) + (f" and {len(lines) - 10} more" if len(lines) > 10 else "")
    return f"files that differ: {shown}" if lines else "the bundles differ"


# ---- finding specs ------------------------------------------------------------------------


def not_a_module_spec(path: Path) -> str | None:
    """Why the YAML file at `path` is not a module spec, or None when it is one."""
    try:
        detect_generation(load_document(path).root)
    except SpecError as exc:
        return exc.reason
    return None


def _yaml_files(root: Path, pattern: str | None) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(
            d for d in dirs if d not in ALWAYS_SKIPPED_DIRS and not is_runner_folder(here / d)
        )
        for name in sorted(files):
            path = here / name
            if _matches(path.relative_to(root).as_posix(), name, pattern):
                yield path


def _matches(relative: str, name: str, pattern: str | None) -> bool:
    if pattern is None:
        return name.endswith(SPEC_SUFFIXES)
    return fnmatch.fnmatch(relative if "/" in pattern else name, pattern)


def _pick_spec(where: Path, request: Request) -> Path:
    if where.is_file():
        if request.spec_file is not None:
            raise RegistryError(f"--spec-file: {request.source} is a spec file already")
        return where
    if request.spec_file is not None:
        chosen = where / request.spec_file
        if not chosen.is_file():
            raise RegistryError(f"--spec-file {request.spec_file}: no such file in {where}")
        return chosen
    found = [path for path in _yaml_files(where, None) if not_a_module_spec(path) is None]
    if len(found) == 1:
        return found[0]
    names = ", ".join(_relative(path, where) for path in found[:10])
    if not found:
        raise RegistryError(f"{request.source}: no module spec found", _SPEC_FILE_HINT)
    raise RegistryError(
        f"{request.source} holds {len(found)} module specs: {names}",
        f"{_SPEC_FILE_HINT}, or register them all with --recursive",
    )


_SPEC_FILE_HINT = "name the spec with --spec-file PATH (relative to the source)"


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
