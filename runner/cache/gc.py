"""Keeping the store small and sound: `gc` (age, size, orphans, stale tmp) and `verify`.

Both are safe while other processes use the store:

- An entry is removed only under its key lock, taken without waiting: a key that is busy is
  being run or served and is skipped (reported as kept).
- Unreferenced objects are deleted under the exclusive sweep lock, which every publisher holds
  shared from its first object to its commit. So the set of referenced objects, read under
  that lock, includes every entry that could be about to reference an object.
- A tmp folder is deleted only when it has not changed for an hour (STALE_TMP_S).

Sizes are those of the objects (each counted once however many entries share it). An object
hardlinked into a run's outputs keeps its blocks until those outputs are deleted too.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from runner.cache.locks import sweep_exclusive
from runner.cache.manifest import KEEP, Stamp, content_digest, is_object_name
from runner.hashing import hash_file
from runner.struct import Struct

if TYPE_CHECKING:
    from runner.cache.store import CacheStore, Reading

STALE_TMP_S = 3600.0
SWEEP_WAIT_S = 60.0


class GcReport(Struct):
    removed: tuple[str, ...]  # keys of the entries removed
    kept: tuple[str, ...]  # due for removal but in use (their key was held) or replaced
    objects_removed: int
    bytes_freed: int
    tmp_removed: int
    size: int  # bytes of the objects the remaining entries use
    swept: bool  # False: publishers kept the store busy, objects and tmp were left alone


class VerifyReport(Struct):
    entries: int
    objects: int  # distinct objects re-hashed
    bytes_read: int
    damaged: tuple[str, ...]  # "<key>: <why>", one per damaged entry
    removed: tuple[str, ...]  # keys of damaged entries removed (a busy one is left)
    corrupt: tuple[str, ...]  # objects whose bytes do not match their name (deleted)
    orphans: int  # objects no sound entry references: gc deletes them
    orphan_bytes: int

    @property
    def ok(self) -> bool:
        return not self.damaged


def collect(
    store: CacheStore, *, max_size: int | None = None, older_than: float | None = None
) -> GcReport:
    """Drop entries unused for `older_than` seconds, then least recently used ones until the
    store holds at most `max_size` bytes; then unreferenced objects and stale tmp folders."""
    store.require_writable("collect garbage")
    live = _sound_entries(store)
    due = _due(live, time.time(), max_size, older_than)
    removed = [reading.key for reading in due if store.discard(reading)]
    kept = [reading.key for reading in due if reading.key not in removed]
    for key in removed:
        del live[key]
    swept = _sweep(store, live)
    return GcReport(
        removed=tuple(removed),
        kept=tuple(kept),
        objects_removed=swept[0] if swept else 0,
        bytes_freed=swept[1] if swept else 0,
        tmp_removed=swept[2] if swept else 0,
        size=_size(live.values()),
        swept=swept is not None,
    )


def _sound_entries(store: CacheStore) -> dict[str, Reading]:
    live: dict[str, Reading] = {}
    for reading in store.readings():
        if reading.manifest is not None and reading.problem is None:
            live[reading.key] = reading
        else:
            store.report(reading, repair=True)
    return live


def _stamps(reading: Reading) -> Mapping[str, Stamp]:
    return reading.manifest.objects if reading.manifest else {}


def _last_used(reading: Reading) -> float:
    return reading.manifest.entry.last_used if reading.manifest else 0.0


def _kept(reading: Reading) -> bool:
    return bool(reading.manifest and reading.manifest.entry.meta.get(KEEP) is True)


def _due(
    live: Mapping[str, Reading], now: float, max_size: int | None, older_than: float | None
) -> list[Reading]:
    """Entries unused for too long, then the least recently used until the rest fit. Kept
    entries (registered snapshots) are never due; their size still counts."""
    order = sorted((r for r in live.values() if not _kept(r)), key=_last_used)
    due = [r for r in order if older_than is not None and _last_used(r) < now - older_than]
    if max_size is None:
        return due
    doomed = {r.key for r in due}
    rest = [r for r in order if r.key not in doomed]
    kept = [r for r in live.values() if _kept(r)]
    users = Counter(name for r in [*rest, *kept] for name in _stamps(r))
    total = _size([*rest, *kept])
    for reading in rest:
        if total <= max_size:
            break
        due.append(reading)
        for name, stamp in _stamps(reading).items():
            users[name] -= 1
            if users[name] == 0:
                total -= stamp.size
    return due


def _size(readings: Iterable[Reading]) -> int:
    sizes = {name: stamp.size for reading in readings for name, stamp in _stamps(reading).items()}
    return sum(sizes.values())


def _sweep(store: CacheStore, live: Mapping[str, Reading]) -> tuple[int, int, int] | None:
    with sweep_exclusive(store.layout.sweep_lock, SWEEP_WAIT_S) as held:
        if not held:
            return None
        referenced = _referenced(store, live)
        objects, freed = _remove_orphans(store.layout.objects, referenced)
        return objects, freed, remove_stale_tmp(store.layout.tmp, time.time())


def _referenced(store: CacheStore, known: Mapping[str, Reading]) -> set[str]:
    """Objects of every entry on disk now. Entries committed since `known` was read are read
    again; a damaged one keeps its objects (someone may be about to repair it)."""
    names: set[str] = set()
    for reading in store.readings():
        seen = known.get(reading.key)
        if seen is not None and os.path.samestat(seen.folder, reading.folder):
            reading = seen
        names.update(_stamps(reading))
    return names


def _remove_orphans(objects: Path, referenced: set[str]) -> tuple[int, int]:
    count = freed = 0
    for shard in _listing(objects):
        for name in _listing(shard):
            if name.name in referenced:
                continue
            try:
                size = name.lstat().st_size
                name.unlink()
            except OSError:
                continue
            count, freed = count + 1, freed + size
    return count, freed


def remove_stale_tmp(tmp: Path, now: float) -> int:
    """Delete what lies in `tmp` unchanged for STALE_TMP_S (left by crashed processes)."""
    count = 0
    for item in _listing(tmp):
        try:
            if now - item.lstat().st_mtime < STALE_TMP_S:
                continue
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item)
            else:
                item.unlink()
        except OSError:
            continue
        count += 1
    return count


def _listing(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def verify(store: CacheStore) -> VerifyReport:
    """Re-hash every object of every entry; remove entries with missing or corrupt objects
    (a read-only store is only checked)."""
    checker = _ObjectChecker(store.layout.objects)
    damaged: list[tuple[Reading, str]] = []
    referenced: set[str] = set()
    readings = list(store.readings())
    for reading in readings:
        problem = reading.problem or _entry_problem(reading, checker)
        if problem is not None:
            damaged.append((reading, problem))
        else:
            referenced.update(_stamps(reading))
    removed = [reading.key for reading, _ in damaged if store.discard(reading)]
    corrupt = checker.delete_corrupt(really=store.read_only is None)
    orphans = [
        name
        for shard in _listing(store.layout.objects)
        for name in _listing(shard)
        if name.name not in referenced
    ]
    return VerifyReport(
        entries=len(readings),
        objects=len(checker.results),
        bytes_read=checker.bytes_read,
        damaged=tuple(f"{reading.key}: {problem}" for reading, problem in damaged),
        removed=tuple(removed),
        corrupt=tuple(corrupt),
        orphans=len(orphans),
        orphan_bytes=sum(_size_of(path) for path in orphans),
    )


def _entry_problem(reading: Reading, checker: _ObjectChecker) -> str | None:
    for name, stamp in _stamps(reading).items():
        problem = checker.check(name, stamp)
        if problem is not None:
            return problem
    return None


class _ObjectChecker:
    """Re-hashes each object once, however many entries share it."""

    def __init__(self, objects: Path) -> None:
        self.objects = objects
        self.results: dict[str, str | None] = {}
        self.bytes_read = 0
        self._hashed: dict[str, os.stat_result] = {}

    def path(self, name: str) -> Path:
        return self.objects / name[:2] / name

    def check(self, name: str, stamp: Stamp) -> str | None:
        if name not in self.results:
            self.results[name] = self._hash(name)
        problem = self.results[name]
        if problem is None and self._hashed[name].st_mtime_ns != stamp.mtime_ns:
            return f"object {name} was modified after it was stored"
        return problem

    def _hash(self, name: str) -> str | None:
        path = self.path(name)
        try:
            st = path.stat()
            digest = hash_file(path) if is_object_name(name) else ""
        except OSError:
            return f"object {name} is missing"
        self._hashed[name] = st
        self.bytes_read += st.st_size
        if digest != content_digest(name):
            return f"object {name} is corrupt (its bytes do not match its digest)"
        return None

    def delete_corrupt(self, *, really: bool) -> list[str]:
        corrupt = [n for n, p in self.results.items() if p is not None and n in self._hashed]
        for name in corrupt if really else ():
            path = self.path(name)
            try:
                # Not if a publisher has meanwhile replaced it with a sound copy.
                if os.path.samestat(path.stat(), self._hashed[name]):
                    path.unlink()
            except OSError:
                continue
        return corrupt


def _size_of(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0
