"""The modules the page offers in its palette, from pluggable sources.

A source is any callable returning `PaletteModule`s. Built in: the specs the open pipelines
use, and spec files found under the served folder (samples and the user's own). Other
sources (a module registry, with several versions of a module) are added with
`add_module_source`; each module is identified by the absolute path of its spec file, so a
source that keeps versions in files offers one entry per version with a shared `name`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from runner.errors import RunnerError
from runner.files import is_runner_folder
from runner.spec.load import load_spec
from runner.spec.model import ModuleSpec
from runner.struct import Struct

# Folders never searched for specs (besides hidden ones and runner's own: runs, caches).
_SKIP = frozenset({"node_modules", "__pycache__", "site-packages"})
_MARKERS = ("amlModuleIdentifier", "CommandComponent", "ParallelComponent", "type: command")
SCAN_LIMIT = 2000  # files looked at per scan: a huge folder must not stall the page


class PaletteModule(Struct):
    path: Path  # the spec file: the module's identity in the page
    name: str
    display_name: str
    version: str
    origin: str  # "pipeline", "folder", or a plugged source's name

    def to_json(self, root: Path) -> dict[str, object]:
        try:
            shown = str(self.path.relative_to(root))
        except ValueError:
            shown = str(self.path)
        return {
            "id": str(self.path),
            "path": shown,
            "name": self.name,
            "display_name": self.display_name,
            "version": self.version,
            "origin": self.origin,
        }


ModuleSource = Callable[[], Iterable[PaletteModule]]
_SOURCES: list[ModuleSource] = []


def add_module_source(source: ModuleSource) -> Callable[[], None]:
    """Offer the modules `source` returns in every palette (e.g. a module registry, one entry
    per version: the page groups entries of one `name` under a version picker). Returns the
    function that takes it away again."""
    _SOURCES.append(source)
    return lambda: _SOURCES.remove(source)


def palette_module(spec: ModuleSpec, origin: str) -> PaletteModule:
    return PaletteModule(
        spec.source, spec.name, spec.display_name or spec.name, spec.version, origin
    )


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


def palette(used: Iterable[ModuleSpec], root: Path) -> list[PaletteModule]:
    """Every module on offer, one entry per spec file: the pipelines' own first."""
    entries: dict[Path, PaletteModule] = {}
    for spec in used:
        entries.setdefault(spec.source, palette_module(spec, "pipeline"))
    for source in (lambda: folder_modules(root), *_SOURCES):
        for module in source():
            entries.setdefault(module.path, module)
    return sorted(entries.values(), key=lambda m: (m.origin != "pipeline", m.display_name.lower()))
