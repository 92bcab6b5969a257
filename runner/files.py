"""Files runner writes for itself: who may read them, atomic replacement, storage failures in
words, and the marker of runner's own folders.

Who may read: runner's folders (run folders, the cache, the registry) are private to the user
(folders 0700, files 0600) whatever the umask, because their records hold values a spec may
keep secret (`environment_variables`). A folder with the setgid bit is shared on purpose: what
runner makes in it gets that folder's own permissions (a cache made `chmod 2770` gives its
group folders 2770 and files 0660). See `Modes`.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

from runner.struct import Struct

# Marks a folder holding run folders, so a code snapshot never takes it in (a runs folder
# inside a module's own folder would otherwise change its snapshot on every run).
RUNS_MARKER = ".runner-runs"


class Modes(Struct):
    """The permissions of what runner makes inside one of its folders."""

    folder: int
    file: int

    @property
    def shared(self) -> bool:
        return bool(self.folder & 0o077)

    def readable(self, executable: bool) -> int:
        """A read-only file for whoever may read files here (the cache's objects)."""
        read = self.file & 0o444
        return read | (read >> 2) if executable else read


PRIVATE = Modes(0o700, 0o600)


def modes_for(st_mode: int) -> Modes:
    """Private unless the folder is setgid: then its group's and others' permissions pass on."""
    if not st_mode & stat.S_ISGID:
        return PRIVATE
    given = stat.S_IMODE(st_mode) & 0o077
    return Modes(stat.S_ISGID | 0o700 | given, 0o600 | (given & 0o066))


def modes_of(folder: Path) -> Modes:
    try:
        return modes_for(folder.stat().st_mode)
    except OSError:
        return PRIVATE


def make_folder(path: Path, modes: Modes | None = None, *, parents: bool = False) -> bool:
    """Create `path` (with `parents`, its missing parents too); False if it was there already.
    `modes` None: as its parent says (private, or shared alike when the parent is shared). A
    shared mode is set again after mkdir: the umask may have cut it."""
    if parents and not path.parent.is_dir():
        make_folder(path.parent, modes, parents=True)
    chosen = modes or modes_of(path.parent)
    try:
        path.mkdir(chosen.folder)
    except FileExistsError:
        if not path.is_dir():
            raise
        return False
    if chosen.shared:
        path.chmod(chosen.folder)
    return True


def is_runner_folder(path: Path) -> bool:
    """A folder runner made for its own use: a runs folder, a run folder, or a cache."""
    return (
        (path / RUNS_MARKER).exists()
        or (path / "CACHEDIR.TAG").is_file()
        or ((path / ".runner").is_dir() and (path / "run.json").is_file())
    )


def write_json_atomic(path: Path, data: object) -> None:
    """A record of runner's: as private as its folder (`Modes`); readers see the old file or the
    new one, never a half-written one."""
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    write_text_atomic(path, text, modes_of(path.parent).file)


def write_text_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Readers see the old file or the new one, never a half-written one. The default `mode`
    is for files made for the user (an exported or edited pipeline): as readable as any the
    user makes, whatever the umask."""
    # Not tempfile.mkstemp: importing tempfile (and random with it) costs every run ~1.5 ms.
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# errnos that say the storage refused a write, not that runner has a bug.
FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def storage_problem(exc: OSError, folder: Path, name: str = "") -> str | None:
    """What stopped a write under `folder` (called `name`, e.g. "the cache folder /x"), in the
    user's words ("the disk holding /x is full (12.0 KiB free)"); None when `exc` is no storage
    condition."""
    name = name or str(folder)
    if exc.errno in FULL:
        return f"the disk holding {name} is full ({size_text(free_space(folder))} free)"
    if exc.errno in READ_ONLY:
        reason = "a read-only file system" if exc.errno == errno.EROFS else "permission denied"
        return f"{name} is not writable ({reason})"
    return None


def refused_folder(exc: OSError, default: Path) -> Path:
    """The folder a failed write was for: the destination of a link or rename (`filename2`),
    else the file's own folder, else `default`."""
    target = exc.filename2 or exc.filename
    return Path(os.fsdecode(target)).parent if target else default


def free_space(folder: Path) -> int:
    """Bytes an unprivileged user may still write on the file system holding `folder`."""
    for place in (folder, *folder.parents):
        try:
            found = os.statvfs(place)
        except OSError:
            continue
        return found.f_bavail * found.f_frsize
    return 0


def size_text(count: int) -> str:
    """`1.5 MiB`: a size for people (messages and `runner cache ls`)."""
    size = float(count)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
