"""What consecutive runs in one process share, so that each costs only its own work: one open
cache store per cache folder (one SQLite connection, its folders made once), and each next
command's process started ahead of time (`runner.process.contain`). A pipeline run opens one
for all its steps and closes it at the end; a single run needs none."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from runner.cache.store import CacheStore


class Session:
    """Thread-safe: the steps of a pipeline run in worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stores: dict[Path, CacheStore] = {}
        self._ahead: contextlib.ExitStack | None = None

    def store(self, root: Path, *, read_only: bool = False) -> CacheStore:
        """A view of the store at `root` for one run (its own `problems`), opened once."""
        with self._lock:
            store = self._stores.get(root)
            if store is None:
                store = self._stores[root] = CacheStore(root, read_only=read_only)
            return store.view()

    def executing(self) -> None:
        """A step is about to execute: from now on, start each next command ahead (the process
        machinery is imported only here: a fully cached pipeline never needs it)."""
        with self._lock:
            if self._ahead is None:
                from runner.process.contain import CONTAINMENT

                self._ahead = contextlib.ExitStack()
                self._ahead.enter_context(CONTAINMENT.keep_ready())

    def close(self) -> None:
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()
            if self._ahead is not None:
                self._ahead.close()
                self._ahead = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
