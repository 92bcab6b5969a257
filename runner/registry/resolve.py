"""The one way from what a user writes to a module: a spec path, or a registered name.

`load_module_spec` serves every command that takes a spec (run, render, show, validate,
explain), pipeline files (`component:`) and the Python API (`runner.load_module`):

- `azureml:...` (any form of runner.registry.names) is a registered module;
- an existing file, or a path that looks like one (`.yaml`/`.yml`/`.json`, `./`, `../`, `/`,
  `~`, `file:`), is a spec file;
- anything else is a registered name (NAME, NAMESPACE/NAME, with @VERSION or @latest).

A registered version is loaded from its checkout (`checkouts/<digest>/`, placed from the store
on first use), so it runs exactly as registered. A disabled version cannot start a new run
(`purpose="run"`); it can still be shown, rendered and explained. Either way the module gets
the registered data types of its ports (ModuleSpec.datatypes), when there are any.

This module stays light (the registry is imported when a name or a custom port type needs it):
every run of a spec file goes through it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from runner.registry.names import is_registered_form
from runner.registry.porttypes import has_custom_types
from runner.spec.load import load_spec
from runner.spec.model import ModuleSpec, SpecWarning
from runner.struct import replace

if TYPE_CHECKING:
    from runner.registry.lookup import Purpose

_PATH_SUFFIXES = (".yaml", ".yml", ".json")
_PATH_STARTS = ("./", "../", "/", "~", "file:")


def load_module_spec(
    ref: str | os.PathLike[str],
    *,
    registry: Path | None = None,
    base: Path | None = None,
    purpose: Purpose = "run",
) -> ModuleSpec:
    """The module `ref` names: a spec file (relative to `base`, default the current folder)
    or a registered module of the registry `registry` (default: $RUNNER_REGISTRY, XDG)."""
    if not isinstance(ref, str):
        return _with_datatypes(load_spec(_path(os.fspath(ref), base)), registry)
    if is_registered_form(ref):
        return resolve_registered(ref, registry=registry, purpose=purpose)
    path = _path(ref.removeprefix("file:"), base)
    # os.path.isfile: False, not an OSError, for a name the system refuses (load_spec says why).
    is_file = os.path.isfile(path)  # noqa: PTH113
    if is_file or ref.lower().endswith(_PATH_SUFFIXES) or ref.startswith(_PATH_STARTS):
        return _with_datatypes(load_spec(path), registry)
    from runner.registry.lookup import UnknownModule

    try:
        return resolve_registered(ref, registry=registry, purpose=purpose)
    except UnknownModule as exc:
        what = "a folder, not a spec file" if os.path.isdir(path) else "not a file"  # noqa: PTH112
        raise UnknownModule(f"{ref!r} is {what}, and {exc.message}", exc.hint) from None


def resolve_registered(
    ref: str, *, registry: Path | None = None, purpose: Purpose = "run"
) -> ModuleSpec:
    """A registered module by reference, as it was frozen."""
    from runner.registry.base import Registry
    from runner.registry.lookup import open_version

    with Registry.open(registry) as opened:
        return open_version(opened, ref, purpose)[1]


def _path(written: str, base: Path | None) -> Path:
    path = Path(written).expanduser()
    return path if base is None or path.is_absolute() else base / path


def _with_datatypes(spec: ModuleSpec, registry: Path | None) -> ModuleSpec:
    """A spec file with custom port types learns what the registry says of them; a registry
    that cannot be read costs a warning, never the run of a file that does not need it."""
    if not has_custom_types(spec):
        return spec
    from runner.registry.base import Registry
    from runner.registry.errors import RegistryError
    from runner.registry.lookup import attach_datatypes

    try:
        with Registry.open(registry) as opened:
            return attach_datatypes(spec, opened.catalogue)
    except RegistryError as exc:
        unread = SpecWarning(str(spec.source), f"registered data types not read: {exc.message}")
        return replace(spec, warnings=(*spec.warnings, unread))
