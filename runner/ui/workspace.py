"""What one server serves: a folder, its runs folder, the pipelines it shows and the runs it
started. `runner pipeline view FILE` shows one pipeline (and those saved from the page);
`runner ui` every pipeline file under the folder and every pipeline with a run there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from runner.errors import RunnerError, UsageError
from runner.pipeline.load import load_pipeline
from runner.pipeline.model import Pipeline
from runner.spec.model import ModuleSpec
from runner.ui.jobs import Jobs, shown_path
from runner.ui.palette import PaletteModule, palette, spec_files
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
    ) -> None:
        self.root = root
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
        return load_pipeline(self.pipeline_path(key))

    def modules(self) -> list[PaletteModule]:
        used: list[ModuleSpec] = []
        for path in self.pipelines().values():
            try:
                used += [step.module for step in load_pipeline(path).steps]
            except RunnerError:
                continue  # a broken pipeline still lets the page offer the others' modules
        found = palette(used, self.root)
        self._palette = {str(module.path): module for module in found}
        return found

    def module_path(self, key: str) -> Path:
        """A module the palette offered (the page never names arbitrary files)."""
        if key not in self._palette:
            self.modules()
        if key not in self._palette:
            raise UsageError(f"no module {key!r} in the palette")
        return self._palette[key].path
