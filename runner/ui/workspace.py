"""What one server serves: a folder, its runs folder, the pipelines it shows, the runs it
started and the module registry its pipelines and palette use. `runner pipeline view FILE`
shows one pipeline (and those saved from the page); `runner ui` every pipeline file under the
folder and every pipeline with a run there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from runner.errors import RunnerError, UsageError
from runner.pipeline.graph import registered_components
from runner.pipeline.load import load_pipeline
from runner.pipeline.model import Pipeline
from runner.registry.api import is_registered_form, load_registered
from runner.spec.load import load_spec
from runner.spec.model import ModuleSpec
from runner.ui.jobs import Jobs, shown_path
from runner.ui.palette import PaletteModule, palette, palette_module, spec_files
from runner.ui.runs import RunsRoot

PIPELINE_MARKER = "type: pipeline"


def pipeline_files(root: Path) -> list[Path]:
    """Pipeline job files under `root` (a cheap text test; the loader judges them later)."""
    return list(spec_files(root, markers=(PIPELINE_MARKER,), exclude=()))


class Workspace:
    def __init__(
        self,
        root: Path,
        runs_root: Path,
        env: Mapping[str, str],
        state_dir: Path,
        pipeline: Path | None = None,
        registry: Path | None = None,
    ) -> None:
        self.root = root
        self.registry = registry  # --registry; None: $RUNNER_REGISTRY, else the default
        self.runs = RunsRoot(runs_root)
        self.jobs = Jobs(root, env, state_dir)
        self.single = pipeline is not None
        self._pipelines: dict[str, Path] = {}
        if pipeline is not None:
            self.add(pipeline)
        self._palette: dict[str, PaletteModule] = {}

    def add(self, path: Path) -> str:
        path = Path(os.path.normpath(path.absolute()))
        key = shown_path(path, self.root)
        self._pipelines[key] = path
        return key

    def pipelines(self) -> dict[str, Path]:
        """Pipelines on offer by id (their path as typed from the served folder)."""
        if not self.single:
            for path in pipeline_files(self.root):
                self.add(path)
            for _, source in self.runs.all_runs():
                if Path(source).is_file():
                    self.add(Path(source))
        return dict(self._pipelines)

    def pipeline_path(self, key: str) -> Path:
        if key not in self._pipelines and key not in self.pipelines():
            raise UsageError(f"no pipeline {key!r} here")
        return self._pipelines[key]

    def load(self, key: str) -> Pipeline:
        """The pipeline as the page shows it: a disabled registered version still loads (the
        page is where it is replaced; running it says which version to use)."""
        return self.load_path(self.pipeline_path(key))

    def load_path(self, path: Path) -> Pipeline:
        return load_pipeline(path, registry=self.registry, purpose="inspect")

    def modules(self, problems: list[str] | None = None) -> list[PaletteModule]:
        used: list[PaletteModule] = []
        for path in self.pipelines().values():
            try:
                pipeline = self.load_path(path)
            except RunnerError:
                continue  # a broken pipeline still lets the page offer the others' modules
            registered = registered_components(pipeline)
            for step in pipeline.steps:
                used.append(
                    palette_module(step.module, "pipeline", registered=step.name in registered)
                )
        found = palette(used, self.root, problems)
        self._palette = {module.id: module for module in found}
        return found

    def module(self, key: str) -> tuple[ModuleSpec, str]:
        """The module the page names by `key` (a palette id) and how a pipeline names it: its
        registered reference, or "" for a spec file. Any registered version may be named (a
        pipeline may use one the palette does not offer: a disabled one); a spec file only when
        the palette offered it (the page never names arbitrary files)."""
        if is_registered_form(key):
            return load_registered(key, self.registry), key.strip()
        if key not in self._palette:
            self.modules()
        found = self._palette.get(key)
        if found is None or found.path is None:
            raise UsageError(f"no module {key!r} in the palette")
        return load_spec(found.path), ""
