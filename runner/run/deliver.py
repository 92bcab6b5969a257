"""Handing outputs to the places chosen with `-o`, after the run produced them in its folder.

A module always writes into fresh, empty output locations inside its run folder (as AzureML
gives it), so that what it produced, and nothing that happened to lie at the chosen place
before, is what gets cached. On success each output is then delivered: files are linked (or
copied across file systems) into place, replacing same-named ones; nothing else at the
destination is touched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from runner.errors import RunnerError


def deliver(produced: Path, destination: Path) -> None:
    """Put `produced` (a file or a folder tree) at `destination`."""
    check_destination(produced, destination)
    try:
        if produced.is_dir() and not produced.is_symlink():
            _deliver_tree(produced, destination)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            _place(produced, destination)
    except OSError as exc:
        raise RunnerError(
            f"cannot place the output at {destination}: {exc.strerror or exc}",
            f"the output is in the run folder: {produced}",
        ) from None


def check_destination(produced: Path, destination: Path) -> None:
    """Refuse a destination strictly inside the folder it would receive: the copy would land in
    the tree being copied (and, walked again, nest itself until paths grow too long)."""
    source, target = produced.resolve(), destination.resolve()
    if target != source and target.is_relative_to(source):
        raise RunnerError(
            f"cannot place the output at {destination}: it is inside the output's own folder "
            f"{produced}",
            "choose a place outside the run's output folder (or that folder itself)",
        )


def _deliver_tree(produced: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    for folder, dirs, files in os.walk(produced):
        relative = Path(folder).relative_to(produced)
        for name in dirs:
            source = Path(folder, name)
            if source.is_symlink():
                _place(source, destination / relative / name)
            else:
                (destination / relative / name).mkdir(exist_ok=True)
        for name in files:
            _place(Path(folder, name), destination / relative / name)


def _place(source: Path, target: Path) -> None:
    """Link or copy `source` to a temporary name beside `target`, then rename it over: a reader
    sees the old file or the new one, never half of one."""
    if target.exists() and not source.is_symlink() and source.samefile(target):
        return  # already this very file (rename would silently keep both names)
    import tempfile  # here, not at the top: only runs with -o deliver

    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    staged = Path(temporary)
    staged.unlink()
    try:
        if source.is_symlink():
            staged.symlink_to(source.readlink())
        else:
            try:
                os.link(source, staged)
            except OSError:  # another file system, or links not allowed
                shutil.copy2(source, staged)
        staged.replace(target)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
