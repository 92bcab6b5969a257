"""An open registry: its folder, its catalogue and (opened on first use) its store."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import TracebackType

from runner.cache.store import CacheStore
from runner.registry.catalogue import Catalogue
from runner.registry.errors import storage_error
from runner.registry.location import Layout, registry_root


class Registry:
    """The registry at `root`. `writable=False` never creates nor changes anything (a registry
    that does not exist yet reads as empty)."""

    def __init__(self, root: Path, *, writable: bool = False) -> None:
        self.root = root
        self.layout = Layout(root)
        self.writable = writable
        self.catalogue = Catalogue(self.layout.catalogue, writable=writable)
        self._store: CacheStore | None = None

    @classmethod
    def open(cls, given: Path | None = None, *, writable: bool = False) -> Registry:
        """The registry named by `given` (a --registry flag), $RUNNER_REGISTRY or the default."""
        return cls(registry_root(given, os.environ), writable=writable)

    @property
    def store(self) -> CacheStore:
        if self._store is None:
            try:
                self._store = CacheStore(self.layout.store, tagged=False)
            except (OSError, sqlite3.Error) as exc:
                raise storage_error(exc, self.root, "cannot open the registry's store") from None
        return self._store

    def close(self) -> None:
        self.catalogue.close()
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
