"""The store's locks: one per key for single flight, and one shared/exclusive sweep lock.

- A key lock (filelock, i.e. flock on locks/<key>.lock) is held while a step of that key runs,
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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import filelock

_POLL_S = 0.05


class KeyLocks:
    """The per-key locks of one store."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._locks: dict[str, filelock.FileLock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: str) -> filelock.FileLock:
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                import filelock  # on a miss only: a cache hit takes no lock

                lock = self._locks[key] = filelock.FileLock(self.folder / f"{key}.lock")
            return lock

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Wait as long as it takes: the holder is running the same step."""
        with self._lock(key):
            yield

    @contextmanager
    def attempt(self, key: str) -> Iterator[bool]:
        """Take the lock only if it is free now (or already ours); yields whether we have it."""
        import filelock

        lock = self._lock(key)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            yield False
            return
        try:
            yield True
        finally:
            lock.release()


@contextmanager
def sweep_shared(path: Path) -> Iterator[None]:
    """Held by a publisher; waits only while a gc is deleting objects."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def sweep_exclusive(path: Path, wait_s: float) -> Iterator[bool]:
    """Held by gc; yields False when publishers kept it busy for `wait_s` seconds."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        yield _flock_within(fd, wait_s)
    finally:
        os.close(fd)


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
