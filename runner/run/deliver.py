"""Handing outputs to the places chosen with `-o`, after the run produced them in its folder.

A module always writes into fresh, empty output locations inside its run folder (as AzureML
gives it), so that what it produced, and nothing that happened to lie at the chosen place
before, is what gets cached. On success each output is then delivered: each file is a reflink
(a new inode sharing the blocks copy-on-write) or else a copy, replacing a same-named one;
nothing else at the destination is touched. Never a hard link: the run folder's files may be
the cache store's objects, and a user who edits a delivered output must not edit the cache.
Delivered files are ordinary writable files (0644, 0755 when executable), whatever the mode
of the read-only object they came from.
"""

from __future__ import annotations

import os
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
            _clone(source, staged)
        staged.replace(target)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise


def _clone(source: Path, staged: Path) -> None:
    """A new inode at `staged` with `source`'s content and mtime, owner-writable."""
    from runner.cache.objects import Placer

    st = source.stat()
    mode = 0o755 if st.st_mode & 0o111 else 0o644
    Placer(("reflink", "copy")).place(
        str(source), st, str(staged), mode, staged.parent.stat().st_dev, link=False
    )
