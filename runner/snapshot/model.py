"""The snapshot's data (`SnapshotEntry`, `SnapshotPlan`, modes) and its shared path helpers."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from runner.struct import Struct

Kind = Literal["file", "symlink", "zip"]

FILE_MODE = 0o644
EXEC_MODE = 0o755


class SnapshotEntry(Struct):
    relpath: str  # posix path inside the snapshot (inside the archive, for a zip member)
    source: Path | None  # file to copy; None for generated content (a zip built from a folder)
    mode: int  # normalised: 0o755 if any executable bit, else 0o644 (symlinks, zips: 0o644)
    kind: Kind  # zip: a folder zipped by the .zip rule
    link_target: str | None = None  # for symlinks kept inside the snapshot
    zip_source: Path | None = None  # for kind="zip": the folder zipped
    # For kind="zip": the files to archive, as planned (ignore rules already applied), so that
    # materialize writes exactly what the digest covers.
    members: tuple[SnapshotEntry, ...] = ()
    # What the entry contributes to the digest, as text: the file's content digest, the link
    # target, or the zip members' digest. Lets `explain` name the files that changed.
    content: str = ""


class SnapshotPlan(Struct):
    entries: tuple[SnapshotEntry, ...]  # sorted by relpath
    digest: str  # content digest
    warnings: tuple[str, ...]


def parent_of(relpath: str) -> str:
    return relpath.rpartition("/")[0]


def ancestors(relpaths: Iterable[str]) -> set[str]:
    """Every folder holding one of `relpaths` ('' for the root)."""
    folders = {""}
    for relpath in relpaths:
        parent = parent_of(relpath)
        while parent not in folders:
            folders.add(parent)
            parent = parent_of(parent)
    return folders


def readlink(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:
        return "?"


def reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
