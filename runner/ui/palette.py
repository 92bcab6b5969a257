"""The modules the page offers in its palette, from pluggable sources.

A source is any callable returning `PaletteModule`s. Built in: the specs the open pipelines
use, and spec files found under the served folder (samples and the user's own). Other
sources are added with `add_module_source`: the server adds the module registry's (one entry
per enabled version, its default version marked), which reads the registry only when it
exists and never creates one. A module is identified in the page by its `id`: the absolute
path of its spec file, or `azureml:NAME:VERSION` for a registered version, which is also what
a pipeline file saved from the page names it by. Entries sharing a `name` and an origin are
one item with a version picker.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from runner.errors import RunnerError
from runner.files import is_runner_folder
from runner.pipeline.graph import reference_text, registered_name, registered_reference
from runner.registry.api import registered_modules
from runner.spec.load import load_spec
from runner.spec.model import ModuleSpec
from runner.struct import Struct

# Folders never searched for specs (besides hidden ones and runner's own: runs, caches).
_SKIP = frozenset({"node_modules", "__pycache__", "site-packages"})
_MARKERS = ("amlModuleIdentifier", "CommandComponent", "ParallelComponent", "type: command")
SCAN_LIMIT = 2000  # files looked at per scan: a huge folder must not stall the page


class PaletteModule(Struct):
    path: Path | None  # the spec file; None for a registered version not placed on disk yet
    name: str
    display_name: str
    version: str
    origin: str  # "pipeline", "folder", or a plugged source's name ("registry")
    reference: str = ""  # azureml:NAME:VERSION for a registered version
    default: bool = False  # the version a picker preselects

    @property
    def id(self) -> str:
        return self.reference or str(self.path)

    def to_json(self, root: Path) -> dict[str, object]:
        shown = self.reference
        if self.path is not None and not shown:
            shown = str(
                self.path.relative_to(root) if self.path.is_relative_to(root) else self.path
            )
        return {
            "id": self.id,
            "path": shown,
            "name": self.name,
            "display_name": self.display_name,
            "version": self.version,
            "origin": self.origin,
            "registered": bool(self.reference),
            "default": self.default,
        }


ModuleSource = Callable[[], Iterable[PaletteModule]]
_SOURCES: list[ModuleSource] = []


def add_module_source(source: ModuleSource) -> Callable[[], None]:
    """Offer the modules `source` returns in every palette (e.g. a module registry, one entry
    per version: the page groups entries of one `name` under a version picker). Returns the
    function that takes it away again."""
    _SOURCES.append(source)
    return lambda: _SOURCES.remove(source)


def palette_module(spec: ModuleSpec, origin: str, *, registered: bool = False) -> PaletteModule:
    """`spec` on offer; `registered`: a registered version (a pipeline named it azureml:...)."""
    name = registered_name(spec) if registered else spec.name
    reference = registered_reference(spec) if registered else ""
    display = spec.display_name or spec.name
    return PaletteModule(spec.source, name, display, spec.version, origin, reference)


def registry_source(registry: Path | None) -> ModuleSource:
    """The registry's modules (`registry`: a --registry folder, None: $RUNNER_REGISTRY or the
    default), one entry per enabled version; none while no registry exists there."""

    def source() -> list[PaletteModule]:
        return [
            PaletteModule(
                None,
                module.name,
                module.display_name or module.name,
                version,
                "registry",
                reference_text(module.name, version),
                default=version == module.default_version,
            )
            for module in registered_modules(registry)
            for version in module.enabled_versions
        ]

    return source


def spec_files(
    root: Path, markers: tuple[str, ...] = _MARKERS, exclude: tuple[str, ...] = ("type: pipeline",)
) -> Iterator[Path]:
    """YAML files under `root` whose first 4 KiB hold one of `markers` and none of `exclude`
    (module specs by default): a cheap text test, no parsing."""
    seen = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and d not in _SKIP and not is_runner_folder(Path(folder, d))
        )
        for name in sorted(files):
            if not name.endswith((".yaml", ".yml")):
                continue
            seen += 1
            if seen > SCAN_LIMIT:
                return
            path = Path(folder, name)
            try:
                head = path.read_text(encoding="utf-8", errors="replace")[:4096]
            except OSError:
                continue
            if any(m in head for m in markers) and not any(m in head for m in exclude):
                yield path


def folder_modules(root: Path) -> list[PaletteModule]:
    found = []
    for path in spec_files(root):
        try:
            found.append(palette_module(load_spec(path), "folder"))
        except RunnerError:
            continue  # not a loadable spec: `runner validate` is the place to say why
    return found


def palette(
    used: Iterable[PaletteModule], root: Path, problems: list[str] | None = None
) -> list[PaletteModule]:
    """Every module on offer: the pipelines' own first, then those under `root` (each spec
    once), then each plugged source's (all their versions, even those a pipeline uses). A
    source that fails is left out, its message added to `problems`."""
    local: dict[str, PaletteModule] = {}
    for module in [*used, *folder_modules(root)]:
        local.setdefault(module.id, module)
    plugged: dict[tuple[str, str], PaletteModule] = {}
    for source in _SOURCES:
        try:
            offered = list(source())
        except RunnerError as exc:  # a damaged registry: the rest of the palette still shows
            if problems is not None:
                problems.append(str(exc))
            continue
        for module in offered:
            plugged.setdefault((module.origin, module.id), module)
    # Stable: a source's versions stay in its order (the registry's: oldest first).
    return sorted([*local.values(), *plugged.values()], key=_place)


def _place(module: PaletteModule) -> tuple[int, str, str, str]:
    rank = {"pipeline": 0, "folder": 1}.get(module.origin, 2)
    return rank, module.origin, module.display_name.lower(), module.name
