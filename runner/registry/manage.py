"""What `runner module list | show | set-default | disable | enable | download` do, on an
open registry. Each change is one catalogue transaction."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from runner.cache.store import CacheStore, DamagedEntryError
from runner.errors import quote
from runner.registry.base import Registry
from runner.registry.catalogue import ModuleRow, VersionRow
from runner.registry.errors import RegistryError, storage_error
from runner.registry.location import BUNDLE
from runner.registry.lookup import bundle_lost, find_module, find_version, quoted
from runner.registry.names import parse_reference, version_key
from runner.registry.sources import describe
from runner.struct import Struct


class ModuleInfo(Struct):
    module: ModuleRow
    versions: tuple[VersionRow, ...]  # in registration order

    @property
    def name(self) -> str:
        return self.module.name

    @property
    def default_version(self) -> str:
        return self.module.default_version

    @property
    def status(self) -> str:
        enabled = sum(v.enabled for v in self.versions)
        if enabled == len(self.versions):
            return "enabled"
        return "disabled" if enabled == 0 else "partly disabled"

    def sorted_versions(self) -> list[VersionRow]:
        return sorted(self.versions, key=lambda v: version_key(v.version))

    def default(self) -> VersionRow | None:
        return next((v for v in self.versions if v.version == self.default_version), None)

    def to_json(self) -> dict[str, object]:
        default = self.default()
        return {
            "name": self.name,
            "namespace": self.module.namespace or None,
            "default_version": self.default_version,
            "versions": [v.version for v in self.sorted_versions()],
            "status": self.status,
            "source": dict(default.source) if default else None,
            "created_at": self.module.created_at,
        }


def version_json(info: ModuleInfo, row: VersionRow) -> dict[str, object]:
    return {
        "name": info.name,
        "version": row.version,
        "default": row.version == info.default_version,
        "status": "enabled" if row.enabled else "disabled",
        "registered_at": row.registered_at,
        "source": dict(row.source),
        "source_text": describe(row.source),
        "digest": row.digest,
        "snapshot_digest": row.snapshot,
        "spec_file": row.spec_file,
        "generation": row.generation,
    }


def list_modules(
    registry: Registry, *, include_disabled: bool = False, namespace: str | None = None
) -> list[ModuleInfo]:
    """Modules by name; without `include_disabled`, disabled versions (and modules with no
    enabled version) are left out."""
    found: list[ModuleInfo] = []
    by_module: dict[str, list[VersionRow]] = {}
    for row in registry.catalogue.versions():
        by_module.setdefault(row.module.lower(), []).append(row)
    for module in registry.catalogue.modules(namespace):
        versions = by_module.get(module.name.lower(), [])
        if not include_disabled:
            versions = [v for v in versions if v.enabled]
        if versions:
            found.append(ModuleInfo(module, tuple(versions)))
    return found


def module_info(registry: Registry, name: str) -> ModuleInfo:
    module = find_module(registry.catalogue, name)
    return ModuleInfo(module, tuple(registry.catalogue.versions(module.name)))


def set_default(registry: Registry, name: str, version: str) -> ModuleInfo:
    with registry.catalogue.transaction(f"cannot set the default version of {name}"):
        info = module_info(registry, name)
        row = next((v for v in info.versions if v.version == version), None)
        if row is None:
            known = ", ".join(v.version for v in info.sorted_versions())
            raise RegistryError(
                f"{info.name} has no version {quote(version)} (registered: {known})"
            )
        if not row.enabled:
            raise RegistryError(
                f"{info.name} {version} is disabled and cannot be the default",
                f"enable it first: runner module enable {quoted(info.name)}@{version}",
            )
        registry.catalogue.set_default(info.name, version)
    return module_info(registry, info.name)


def set_enabled(registry: Registry, ref: str, enabled: bool) -> tuple[ModuleInfo, list[str]]:
    """Enable or disable NAME@VERSION, or every version of NAME; returns the module and the
    versions whose state changed."""
    reference = parse_reference(ref)
    what = "enable" if enabled else "disable"
    with registry.catalogue.transaction(f"cannot {what} {ref}"):
        info = module_info(registry, reference.name)
        if reference.version is None and not reference.latest:
            targets = list(info.versions)
        else:
            targets = [find_version(registry.catalogue, reference, "inspect")]
        changed = [v.version for v in targets if v.enabled != enabled]
        registry.catalogue.set_enabled(info.name, changed, enabled)
    return module_info(registry, info.name), changed


def download(registry: Registry, ref: str, dest: Path) -> tuple[VersionRow, Path]:
    """Write NAME[@VERSION]'s bundle (spec and snapshot, as registered) into `dest`, a new or
    empty folder, as ordinary writable files; returns the version and the spec's path."""
    row = find_version(registry.catalogue, parse_reference(ref), "inspect")
    dest = dest.expanduser().absolute()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise RegistryError(f"{dest} exists and is not an empty folder", "give a new folder")
    try:
        entry = registry.store.lookup(row.digest)
        if entry is None:
            raise bundle_lost(registry, row)
        # Copies (or reflinks), never hardlinks: the files are the user's to edit.
        with CacheStore(registry.layout.store, methods=("reflink", "copy"), tagged=False) as store:
            store.materialize(entry, {BUNDLE: dest})
    except DamagedEntryError:
        raise bundle_lost(registry, row) from None
    except (OSError, sqlite3.Error) as exc:
        raise storage_error(exc, dest, f"cannot download {row.module} {row.version}") from None
    _make_writable(dest)
    return row, dest / row.spec_file


def _make_writable(root: Path) -> None:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)
