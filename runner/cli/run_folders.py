"""The run folders under a runs folder (`./runs`, or `$RUNNER_RUNS_DIR`): what each one is,
and removing one so that no half-deleted run is ever seen.

A module run holds `run.json`, a pipeline run `pipeline.json` (its steps' module runs are
inside it). Any other entry of the runs folder is not a run, and is never touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import stat
from pathlib import Path

from runner.clock import parse_iso
from runner.struct import Struct

# prepared: laid out for `runner shell` or `runner debug-config`, started by hand if at all.
FINISHED = ("succeeded", "cached", "failed", "interrupted", "prepared")
FAILED = ("failed", "interrupted")


class RunFolder(Struct):
    path: Path
    kind: str  # "module" or "pipeline"
    name: str  # the module's or the pipeline's name
    status: str  # running, succeeded, cached, failed, interrupted; "unknown" if unreadable
    started: float  # seconds since the epoch (the folder's mtime when the record has none)
    duration: float | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def failed(self) -> bool:
        return self.status in FAILED


def run_folders(root: Path) -> list[RunFolder]:
    """Every run under `root`, most recent first."""
    found = []
    with contextlib.suppress(FileNotFoundError), os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
            folder = _read(Path(entry.path))
            if folder is not None:
                found.append(folder)
    return sorted(found, key=lambda folder: folder.started, reverse=True)


def _read(path: Path) -> RunFolder | None:
    for record, kind in (("pipeline.json", "pipeline"), ("run.json", "module")):
        try:
            data = json.loads((path / record).read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        spec = data.get("spec")
        name = data.get("pipeline") or (spec.get("name") if isinstance(spec, dict) else None)
        return RunFolder(
            path=path,
            kind=kind,
            name=str(name or path.name),
            status=str(data.get("status") or "unknown"),
            started=_started(data, path),
            duration=_number(data.get("duration")),
        )
    return None


def _started(data: dict[str, object], path: Path) -> float:
    text = data.get("started_at")
    if isinstance(text, str):
        with contextlib.suppress(ValueError):
            return parse_iso(text)
    return path.stat().st_mtime


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def remove_run(folder: RunFolder) -> None:
    """Take the run out of the listing with one rename, then delete it. Outputs linked from
    the cache are read-only files, which a writable folder lets go of; a folder that a module
    made read-only is made writable first."""
    hidden = folder.path.with_name(f".{folder.path.name}.{secrets.token_hex(3)}.removing")
    folder.path.rename(hidden)
    try:
        shutil.rmtree(hidden)
    except PermissionError:
        _make_folders_writable(hidden)
        shutil.rmtree(hidden)


def _make_folders_writable(root: Path) -> None:
    for folder, names, _ in os.walk(root):  # does not follow symlinks
        for path in [Path(folder), *(Path(folder, name) for name in names)]:
            mode = path.lstat().st_mode
            if stat.S_ISDIR(mode) and mode & 0o700 != 0o700:
                path.chmod(mode | 0o700)
