"""Registered versions in an open registry: finding one by reference, placing its bundle on
disk (its checkout), and loading it with the registered data types of its ports."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path
from typing import Literal

from runner.cache.store import DamagedEntryError
from runner.errors import quote
from runner.registry.base import Registry
from runner.registry.catalogue import Catalogue, ModuleRow, VersionRow
from runner.registry.errors import RegistryError, storage_error
from runner.registry.location import BUNDLE
from runner.registry.names import FORMS, Reference, close_matches, parse_reference, version_key
from runner.registry.porttypes import has_custom_types
from runner.spec.load import load_spec
from runner.spec.model import ModuleSpec
from runner.struct import replace

Purpose = Literal["run", "inspect"]


class UnknownModule(RegistryError):
    """No registered module (or version) by that name."""


def open_version(registry: Registry, ref: str, purpose: Purpose) -> tuple[VersionRow, ModuleSpec]:
    """The version `ref` names in an open registry, and its module as registered."""
    row = find_version(registry.catalogue, parse_reference(ref), purpose)
    return row, attach_datatypes(load_spec(checkout(registry, row)), registry.catalogue)


def attach_datatypes(spec: ModuleSpec, catalogue: Catalogue) -> ModuleSpec:
    """`spec` knowing the registered data types among its port types (ModuleSpec.datatypes)."""
    if not has_custom_types(spec):
        return spec
    from runner.registry.datatypes import registered_types, spec_datatypes  # custom types only

    found = spec_datatypes(spec, registered_types(catalogue))
    return replace(spec, datatypes=found) if found else spec


# ---- finding a version --------------------------------------------------------------------


def find_module(catalogue: Catalogue, name: str) -> ModuleRow:
    """A module by full name (case-insensitive), or by its name without namespace when that
    is unambiguous; else an UnknownModule listing close matches."""
    found = catalogue.module(name)
    if found is not None:
        return found
    modules = catalogue.modules()
    short = [m for m in modules if m.name.rpartition("/")[2].lower() == name.lower()]
    if len(short) == 1:
        return short[0]
    if len(short) > 1:
        names = ", ".join(m.name for m in short)
        raise UnknownModule(
            f"{quote(name)} names {len(short)} registered modules: {names}",
            "give the namespace too",
        )
    close = close_matches(name, [m.name for m in modules])
    listing = f"; close matches: {', '.join(close)}" if close else ""
    raise UnknownModule(
        f"no registered module is named {quote(name)}{listing}",
        "`runner module list` lists them; `runner module register SOURCE` adds one",
    )


def find_version(catalogue: Catalogue, ref: Reference, purpose: Purpose) -> VersionRow:
    module = find_module(catalogue, ref.name)
    versions = catalogue.versions(module.name)
    if ref.latest:
        usable = [v for v in versions if v.enabled] or ([] if purpose == "run" else versions)
        if not usable:
            raise RegistryError(
                f"every version of {module.name} is disabled",
                f"enable one: runner module enable {quoted(module.name)}@VERSION",
            )
        return max(usable, key=lambda v: v.order)
    wanted = ref.version or module.default_version
    row = next((v for v in versions if v.version == wanted), None)
    if row is None:
        known = ", ".join(v.version for v in sorted(versions, key=lambda v: version_key(v.version)))
        raise UnknownModule(
            f"{module.name} has no version {quote(wanted)} (registered: {known})",
            f"write {FORMS}",
        )
    if purpose == "run" and not row.enabled:
        raise RegistryError(
            f"{module.name} {row.version} is disabled: it cannot start new runs",
            _instead(module, versions, row),
        )
    return row


def _instead(module: ModuleRow, versions: list[VersionRow], disabled: VersionRow) -> str:
    enabled = [v for v in versions if v.enabled]
    default = next((v for v in enabled if v.version == module.default_version), None)
    name = quoted(module.name)
    if default is not None:
        return f"use the default version instead: {name}@{default.version}"
    if enabled:
        latest = max(enabled, key=lambda v: v.order)
        return f"use {name}@{latest.version} instead (the latest enabled version)"
    return f"enable it again: runner module enable {name}@{disabled.version}"


def quoted(name: str) -> str:
    """A name as typed in a shell command (legacy names hold spaces)."""
    return f"'{name}'" if " " in name else name


# ---- checkouts ----------------------------------------------------------------------------


def checkout(registry: Registry, row: VersionRow) -> Path:
    """The spec of `row`'s bundle on disk, placed from the store the first time (one rename,
    so a checkout is whole or absent)."""
    spec = registry.layout.checkout(row.digest) / row.spec_file
    if spec.is_file():
        return spec
    doing = f"cannot place {row.module} {row.version} on disk"
    try:
        entry = registry.store.lookup(row.digest)
        if entry is None:
            raise bundle_lost(registry, row)
        partial = registry.layout.scratch("checkout")
        partial.parent.mkdir(parents=True, exist_ok=True)
        try:
            registry.store.materialize(entry, {BUNDLE: partial})
            registry.layout.checkouts.mkdir(exist_ok=True)
            partial.rename(registry.layout.checkout(row.digest))
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    except DamagedEntryError:
        raise bundle_lost(registry, row) from None
    except (OSError, sqlite3.Error) as exc:
        raise storage_error(exc, registry.root, doing) from None
    return spec


def bundle_lost(registry: Registry, row: VersionRow) -> RegistryError:
    return RegistryError(
        f"{row.module} {row.version}: its bundle is missing or damaged in {registry.layout.store}",
        "register it again from its source (the same content restores it)",
    )


def registered_reference(spec: ModuleSpec, registry: Path | None = None) -> str | None:
    """`NAME@VERSION` when `spec` was loaded from a checkout of that registry, else None."""
    with Registry.open(registry) as opened:
        folder = spec.source.parent
        if folder.parent != opened.layout.checkouts:
            return None
        for row in opened.catalogue.versions():
            if row.digest == folder.name and row.spec_file == spec.source.name:
                return f"{row.module}@{row.version}"
    return None
