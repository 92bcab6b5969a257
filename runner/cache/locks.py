"""The store's locks: one per key for single flight, and one shared/exclusive sweep lock.

- A key lock (flock on locks/<key>.lock) is held while a step of that key runs,
  so two identical runs execute once. Different keys never wait for each other, and nothing
  store-wide is held while a step runs. Locks are reentrant per thread within one store, so
  `lookup` can repair a damaged entry while its caller holds the key. Lock files are never
  deleted: unlinking a lock file someone waits on would let two holders in.
- The sweep lock: publishers hold it shared while they add objects and commit (a short time,
  no step runs), and gc holds it exclusive while it deletes unreferenced objects. So gc never
  deletes an object that an entry being committed is about to reference. flock is released by
  the kernel when a process dies, so a crash never leaves the store locked.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_POLL_S = 0.05


class LockTimeout(OSError):
    """A lock file stayed busy for longer than the caller was willing to wait."""


class KeyLocks:
    """The per-key locks of one store: flock on locks/<key>.lock, reentrant per thread.

    Each thread takes a key with its own open file description, so two threads of one process
    exclude each other exactly as two processes do; a thread that holds a key takes it again
    for free (lookup repairing an entry while its caller holds the key).
    """

    def __init__(self, folder: Path, mode: int = 0o600) -> None:
        self.folder = folder
        self.mode = mode
        self._mine = threading.local()

    def _held(self) -> dict[str, int]:
        """This thread's keys and how deep each is taken."""
        held: dict[str, int] | None = getattr(self._mine, "held", None)
        if held is None:
            held = self._mine.held = {}
        return held

    @contextmanager
    def _taken(self, key: str, blocking: bool) -> Iterator[bool]:
        held = self._held()
        if key in held:
            held[key] += 1
            try:
                yield True
            finally:
                held[key] -= 1
            return
        fd = _open(self.folder / f"{key}.lock", self.mode)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            held[key] = 1
            try:
                yield True
            finally:
                del held[key]
        finally:
            os.close(fd)  # releases the lock

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Wait as long as it takes: the holder is running the same step."""
        with self._taken(key, blocking=True):
            yield

    @contextmanager
    def attempt(self, key: str) -> Iterator[bool]:
        """Take the lock only if it is free now (or already ours); yields whether we have it."""
        with self._taken(key, blocking=False) as held:
            yield held


class FileMutex:
    """An exclusive flock on one file, waited for up to `timeout_s` (then LockTimeout), and
    reentrant within this object (any thread of it: callers serialise among themselves)."""

    def __init__(self, path: Path, timeout_s: float, mode: int = 0o600) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self.mode = mode
        self._guard = threading.RLock()
        self._fd: int | None = None
        self._depth = 0

    def __enter__(self) -> FileMutex:
        self._guard.acquire()
        try:
            if self._depth == 0:
                fd = _open(self.path, self.mode)
                if not _flock_within(fd, self.timeout_s):
                    os.close(fd)
                    raise LockTimeout(f"{self.path} stayed locked for {self.timeout_s:g} s")
                self._fd = fd
            self._depth += 1
        except BaseException:
            self._guard.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._guard.release()


@contextmanager
def sweep_shared(path: Path, mode: int = 0o600) -> Iterator[None]:
    """Held by a publisher; waits only while a gc is deleting objects."""
    fd = _open(path, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def sweep_exclusive(path: Path, wait_s: float, mode: int = 0o600) -> Iterator[bool]:
    """Held by gc; yields False when publishers kept it busy for `wait_s` seconds."""
    fd = _open(path, mode)
    try:
        yield _flock_within(fd, wait_s)
    finally:
        os.close(fd)


def _open(path: Path, mode: int) -> int:
    """A lock file, made with `mode` (a shared store's group must be able to open it too)."""
    flags = os.O_RDWR | os.O_CLOEXEC
    if not mode & 0o077:
        return os.open(path, flags | os.O_CREAT, mode)
    try:
        return os.open(path, flags)
    except FileNotFoundError:
        pass
    fd = os.open(path, flags | os.O_CREAT, mode)
    os.fchmod(fd, mode)  # the umask may have cut the group's bits
    return fd


def _flock_within(fd: int, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_S)
        else:
            return True
