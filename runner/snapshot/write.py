"""Materialising a planned snapshot: copied files, symlinks, reproducible zip archives."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from runner.errors import SnapshotError
from runner.files import FULL
from runner.hashing import CHUNK
from runner.snapshot.model import EXEC_MODE, SnapshotEntry, SnapshotPlan, ancestors, reason

if TYPE_CHECKING:
    import zipfile

ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can store: no clock leaks in
_COPY_WORKERS = 8  # copies wait on I/O, not the GIL; more threads stop paying off soon
_UNIX = 3  # zip "made by" system; fixed so archives do not depend on the building OS


def materialize(plan: SnapshotPlan, dest: Path) -> None:
    """Write the snapshot into `dest` (absent or empty). Copies, never links, the user's files:
    the module may change its working folder and must not change the user's sources."""
    _prepare(dest)
    for folder in sorted(ancestors(entry.relpath for entry in plan.entries) - {""}):
        (dest / folder).mkdir(parents=True, exist_ok=True)
    files = [entry for entry in plan.entries if entry.kind == "file"]
    if len(files) <= _COPY_WORKERS:  # a pool would cost more than it saves
        for entry in files:
            _copy(dest, entry)
    else:
        # Imported here: with `logging` it costs about 8 ms, which a small snapshot never needs.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=_COPY_WORKERS) as pool:
            for _ in pool.map(partial(_copy, dest), files):
                pass
    for entry in plan.entries:
        if entry.kind == "zip":
            _write_zip(entry, dest / entry.relpath)
        elif entry.kind == "symlink":
            (dest / entry.relpath).symlink_to(entry.link_target or ".")


def _prepare(dest: Path) -> None:
    if dest.is_dir() and not dest.is_symlink():
        if next(dest.iterdir(), None) is None:
            return
    elif not os.path.lexists(dest):
        dest.mkdir(parents=True)
        return
    raise SnapshotError(
        f"cannot write the snapshot into {dest}: it exists and is not an empty folder",
        hint="a snapshot is always written into a fresh folder",
    )


def _copy(dest: Path, entry: SnapshotEntry) -> None:
    assert entry.source is not None  # planned files always have a source
    target = dest / entry.relpath
    try:
        shutil.copyfile(entry.source, target)
        target.chmod(entry.mode)
    except OSError as exc:
        raise _copy_error(entry.source, entry.relpath, exc) from None


def _write_zip(entry: SnapshotEntry, target: Path) -> None:
    """A byte-for-byte reproducible archive: sorted names, fixed times, modes and OS."""
    top = entry.relpath.removesuffix(".zip") + "/"
    names = {member.relpath: member for member in entry.members}
    folders = {top} | {folder + "/" for folder in ancestors(names) - {""}}
    import zipfile  # here, not at the top: few snapshots have a zip, and a cache hit writes none

    with zipfile.ZipFile(target, "w") as archive:
        for name in sorted(folders | set(names)):
            member = names.get(name)
            if member is None:
                archive.writestr(_zip_info(name, stat.S_IFDIR | EXEC_MODE), b"")
            else:
                _zip_file(archive, member, entry.relpath)


def _zip_file(archive: zipfile.ZipFile, member: SnapshotEntry, zip_name: str) -> None:
    import zipfile  # see _write_zip

    assert member.source is not None  # members are always files
    info = _zip_info(member.relpath, stat.S_IFREG | member.mode)
    info.compress_type = zipfile.ZIP_DEFLATED
    try:
        with open(member.source, "rb") as source:
            info.file_size = os.fstat(source.fileno()).st_size  # decides zip64 up front
            with archive.open(info, "w") as sink:
                shutil.copyfileobj(source, sink, CHUNK)
    except OSError as exc:
        raise _copy_error(member.source, f"{zip_name}:{member.relpath}", exc) from None


def _zip_info(name: str, st_mode: int) -> zipfile.ZipInfo:
    import zipfile  # see _write_zip

    info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
    info.create_system = _UNIX
    info.external_attr = st_mode << 16
    if stat.S_ISDIR(st_mode):
        info.external_attr |= 0x10  # the MS-DOS directory flag, for unzip tools that want it
    return info


def _copy_error(source: Path, relpath: str, exc: OSError) -> Exception:
    """The source's fault in words; a full disk or read-only folder on the writing side is the
    storage's, passed on for the caller to say so (`runner.files.storage_problem`)."""
    if exc.errno in FULL or exc.errno == errno.EROFS:
        return exc
    return SnapshotError(
        f"cannot copy {source} into the snapshot as {relpath}: {reason(exc)}",
        hint="the file changed or became unreadable after the snapshot was planned",
    )
