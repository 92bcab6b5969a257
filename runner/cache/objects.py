"""Putting file contents in place without copying bytes: a reflink, else a hardlink, else a copy.

Used both ways: a produced output file becomes an object of the store, and an object becomes a
file of a run's outputs.

- A reflink (FICLONE) makes a new inode sharing the blocks copy-on-write (btrfs, XFS, bcachefs):
  no bytes copied, and the two files are independent.
- A hardlink is the same inode under a second name. Objects are mode 0444 (0555 for
  executables), so a hardlinked file is read-only for ordinary users: that is the protection.
  Root (and anyone who chmods the file) can still write through it, and the write lands in the
  object. So the store records each object's size and mtime at publication, `lookup` compares
  them (a write moves mtime) and reads the object again whenever the stat memo cannot vouch for
  its exact stat (an mtime restored by hand still moved ctime), and `verify` re-hashes all.
- A copy is the last resort (another file system, too many links, a file we do not own).

The first method that fails for a whole device pair (no reflink support, EXDEV) is not tried
again for that pair by the same placer.

Plain str paths and os calls on purpose (hence the PTH exemptions): this runs once per file,
thousands of times per output, and a pathlib object per call costs as much as the syscall.
"""

# ruff: noqa: PTH101, PTH108

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import stat
import time
from collections.abc import Iterable
from typing import Literal

from runner.cache.state import StateDB, racy_margin_ns

Method = Literal["reflink", "hardlink", "copy"]
METHODS: tuple[Method, ...] = ("reflink", "hardlink", "copy")

FICLONE = 0x40049409  # _IOW(0x94, 9, int) from linux/fs.h

# errnos that mean "this method cannot do it here": fall back to the next one. Anything else
# (ENOSPC, EACCES on the destination, EIO) is a real failure and is raised.
_FALLBACK: dict[Method, frozenset[int]] = {
    "reflink": frozenset(
        {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EPERM}
    ),
    "hardlink": frozenset({errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP}),
    "copy": frozenset(),
}
# Of those, the ones that will fail the same way for every file between the two devices.
_DEVICE_WIDE = frozenset({errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.ENOSYS})


class Placer:
    """Places files by the first method that works; remembers methods a device pair lacks."""

    def __init__(self, methods: tuple[Method, ...] = METHODS) -> None:
        if not methods:
            raise ValueError("at least one placement method is needed")
        self.methods = methods
        self._unsupported: set[tuple[Method, int, int]] = set()

    def place(
        self, src: str, src_st: os.stat_result, dst: str, mode: int, dst_dev: int, *, link: bool
    ) -> Method:
        """Make `dst` (which must not exist) hold `src`'s content; returns the method used.

        A new inode (reflink, copy) gets `mode` and `src`'s mtime, so it looks like its source;
        a hardlink is `src` itself (`link=False` forbids one). Raises the last OSError when no
        allowed method works.
        """
        failure: OSError | None = None
        for method in self.methods:
            if (method == "hardlink" and not link) or (
                (method, src_st.st_dev, dst_dev) in self._unsupported
            ):
                continue
            try:
                _PLACE[method](src, dst)
            except OSError as exc:
                if exc.errno not in _FALLBACK[method]:
                    raise
                if exc.errno in _DEVICE_WIDE:
                    self._unsupported.add((method, src_st.st_dev, dst_dev))
                failure = exc
                continue
            if method != "hardlink":
                os.chmod(dst, mode)
                os.utime(dst, ns=(src_st.st_atime_ns, src_st.st_mtime_ns))
            return method
        raise failure or OSError(errno.EPERM, f"no allowed way to place {dst}", dst)


def reflink(src: str, dst: str) -> None:
    """Clone `src` into a new file `dst`; on failure `dst` is not left behind."""
    with open(src, "rb") as source:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.ioctl(fd, FICLONE, source.fileno())
        except BaseException:
            os.close(fd)
            os.unlink(dst)
            raise
        os.close(fd)


def _hardlink(src: str, dst: str) -> None:
    os.link(src, dst)


def _copy(src: str, dst: str) -> None:
    # copyfile uses sendfile / copy_file_range: the bytes never pass through Python.
    shutil.copyfile(src, dst)


_PLACE = {"reflink": reflink, "hardlink": _hardlink, "copy": _copy}


def remember_known(state: StateDB, items: Iterable[tuple[str, str]]) -> int:
    """Memoise files whose content we know without reading them (just placed from an object,
    or just turned into one); returns how many were memoised.

    Placing a file changes its ctime (a link, a chmod, a utime), so the memo's racy rule would
    refuse every such file until it has aged. That rule guards a read racing a write; here
    nothing was read, and the content is the object's. What still matters is that any later
    write is seen: files whose mtime is safely old qualify, since a write moves mtime to now.
    Files with a recent mtime are left for the next check to read once. (A write that also
    restores the old mtime by hand within the same clock tick as our placement would go
    unseen; `verify` exists for that kind of tampering.)
    """
    now = time.time_ns()
    rows: dict[tuple[int, int], tuple[os.stat_result, str]] = {}
    for path, digest in items:
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mtime_ns < now - racy_margin_ns(st):
            rows[st.st_dev, st.st_ino] = (st, digest)
    if not rows:
        return 0
    observed = max(st.st_ctime_ns + racy_margin_ns(st) for st, _ in rows.values()) + 1
    state.record_many(rows.values(), observed_ns=max(observed, now))
    return len(rows)
