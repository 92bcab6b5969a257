"""The registry as a Python API, for the rest of runner (the Designer's palette, scripts):
the registered modules with their versions, and each version's interface (a `ModuleSpec`).

    from runner.registry.api import registered_modules, load_registered
    for module in registered_modules():
        spec = module.spec()                      # the default version's interface
        print(module.name, module.versions, [p.python_name for p in spec.inputs])
    spec = load_registered("samples/sar/Stratified Splitter@0.1.0")
    is_registered_form("azureml:sar_train:0.2.0")   # True: how a pipeline file names one
"""

from __future__ import annotations

from pathlib import Path

from runner.registry.base import Registry
from runner.registry.lookup import Purpose
from runner.registry.manage import list_modules
from runner.registry.names import is_registered_form as is_registered_form
from runner.registry.resolve import resolve_registered
from runner.spec.model import ModuleSpec
from runner.struct import Struct


class RegisteredModule(Struct):
    name: str  # NAMESPACE/NAME or NAME: what `spec()` and `runner run` take
    namespace: str | None
    display_name: str  # of the default version
    description: str
    default_version: str
    versions: tuple[str, ...]  # natural order, oldest first
    enabled_versions: tuple[str, ...]
    registry: Path

    def spec(self, version: str | None = None) -> ModuleSpec:
        """The interface of `version` (default: the default version), as registered."""
        ref = self.name if version is None else f"{self.name}@{version}"
        return resolve_registered(ref, registry=self.registry, purpose="inspect")


def registered_modules(
    registry: Path | None = None, *, include_disabled: bool = False
) -> list[RegisteredModule]:
    """Every registered module (with at least one enabled version, unless `include_disabled`)."""
    with Registry.open(registry) as opened:
        found = []
        for info in list_modules(opened, include_disabled=include_disabled):
            default = info.default() or info.versions[-1]
            ordered = info.sorted_versions()
            found.append(
                RegisteredModule(
                    name=info.name,
                    namespace=info.module.namespace or None,
                    display_name=default.display_name,
                    description=default.description,
                    default_version=info.default_version,
                    versions=tuple(v.version for v in ordered),
                    enabled_versions=tuple(v.version for v in ordered if v.enabled),
                    registry=opened.root,
                )
            )
        return found


def load_registered(
    ref: str, registry: Path | None = None, *, purpose: Purpose = "inspect"
) -> ModuleSpec:
    """One registered version (NAME, NAME@VERSION, NAME@latest, azureml:...)."""
    return resolve_registered(ref, registry=registry, purpose=purpose)
