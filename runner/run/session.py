"""What consecutive runs in one process share, so that each costs only its own work: one open
cache store per cache folder (one SQLite connection, its folders made once). A pipeline run
opens one for all its steps and closes it at the end; a single run needs none."""

from __future__ import annotations

import threading
from pathlib import Path

from runner.cache.store import CacheStore


class Session:
    """Thread-safe: the steps of a pipeline run in worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stores: dict[Path, CacheStore] = {}

    def store(self, root: Path) -> CacheStore:
        """A view of the store at `root` for one run (its own `problems`), opened once."""
        with self._lock:
            store = self._stores.get(root)
            if store is None:
                store = self._stores[root] = CacheStore(root)
            return store.view()

    def close(self) -> None:
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
