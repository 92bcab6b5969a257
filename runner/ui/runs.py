"""Pipeline run folders under a runs root: which belong to which pipeline, and safe paths in them.

A run is named by its folder's name, never by a path: a name the page sends must be a direct
child of the root holding a pipeline record, so `../x`, absolute paths and symlinks out of the
root are refused. Files are served only when their real path lies inside the run's folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from runner.errors import UsageError
from runner.pipeline.model import STEP_NAME
from runner.ui.live import RECORD, record_origin


class RunsRoot:
    """The runs folder the server watches (the one `runner pipeline run` uses from here)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._origins: dict[str, tuple[str, float]] = {}  # folder name -> (pipeline, start)

    def _origin(self, name: str) -> tuple[str, float] | None:
        if name not in self._origins:
            origin = record_origin(self.root / name)
            if origin is None:
                return None  # not a pipeline run, or its record is not written yet
            self._origins[name] = origin
        return self._origins[name]

    def all_runs(self) -> list[tuple[str, str]]:
        """Every pipeline run here as (folder name, pipeline file), newest first."""
        try:
            names = [entry.name for entry in os.scandir(self.root) if entry.is_dir()]
        except OSError:
            return []
        found = [(name, self._origin(name)) for name in names]
        known = [(name, origin) for name, origin in found if origin is not None]
        known.sort(key=lambda item: (item[1][1], item[0]), reverse=True)
        return [(name, origin[0]) for name, origin in known]

    def runs_of(self, pipeline: Path) -> list[str]:
        """The run folders of `pipeline`, newest first."""
        wanted = os.path.normpath(pipeline)
        return [name for name, source in self.all_runs() if source == wanted]

    def run_dir(self, name: str) -> Path:
        """The folder of run `name`: a direct child of the root holding a pipeline record."""
        if not name or name in (".", "..") or "/" in name or "\0" in name:
            raise UsageError(f"no run {name!r} here")
        path = self.root / name
        if path.is_symlink() or not (path / RECORD).is_file():
            raise UsageError(f"no run {name!r} here")
        return path


def inside(folder: Path, relative: str) -> Path:
    """`folder/relative` when its real path lies inside `folder`'s real path; else UsageError."""
    if "\0" in relative or Path(relative).is_absolute():
        raise UsageError(f"{relative!r} is not a path inside the run")
    base = folder.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise UsageError(f"{relative!r} is not a path inside the run")
    return target


def step_dir(run_dir: Path, step: str) -> Path:
    """The module run folder of `step` in a pipeline run (whether or not it exists yet)."""
    if not STEP_NAME.fullmatch(step):
        raise UsageError(f"{step!r} is not a step name")
    return inside(run_dir, f"steps/{step}")
