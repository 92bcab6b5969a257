"""gc (age, size, orphans, stale tmp, busy keys, busy store) and verify (re-hashing)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from cache_helpers import settle, write
from test_store_support import KEY, key, objects_in, publish_tree, store

from runner.cache import gc as gc_module
from runner.cache.gc import collect, verify
from runner.cache.locks import sweep_shared
from runner.cache.store import CacheStore

__all__ = ["store"]

HOUR = 3600.0


def publish_blob(store: CacheStore, tmp_path: Path, entry_key: str, size: int) -> None:
    """An entry with one shared small file and one file of its own of `size` bytes."""
    folder = tmp_path / entry_key
    write(folder / "shared.txt", "in every entry\n")
    write(folder / "own.bin", entry_key.encode() * (size // len(entry_key)))
    settle(folder)
    store.publish(entry_key, {"out": (folder, "dir")}, {}, {})


def age(store: CacheStore, entry_key: str, seconds_ago: float) -> None:
    then = time.time() - seconds_ago
    os.utime(store.layout.entry_dir(entry_key), (then, then))


def test_gc_by_age_keeps_shared_objects(store: CacheStore, tmp_path: Path) -> None:
    publish_blob(store, tmp_path, key(1), 1024)
    publish_blob(store, tmp_path, key(2), 1024)
    age(store, key(1), 2 * HOUR)
    report = collect(store, older_than=HOUR)
    assert report.removed == (key(1),)
    assert report.objects_removed == 1
    assert report.bytes_freed == 1024
    assert report.swept
    assert store.lookup(key(1)) is None
    entry = store.lookup(key(2))
    assert entry is not None
    store.materialize(entry, {"out": tmp_path / "served"})
    assert (tmp_path / "served" / "shared.txt").read_text() == "in every entry\n"
    assert store.problems == []


def test_a_hit_counts_as_use(store: CacheStore, tmp_path: Path) -> None:
    publish_blob(store, tmp_path, key(1), 64)
    age(store, key(1), 2 * HOUR)
    assert store.lookup(key(1)) is not None
    assert collect(store, older_than=HOUR).removed == ()


def test_gc_by_size_drops_least_recently_used(store: CacheStore, tmp_path: Path) -> None:
    for number in (1, 2, 3):
        publish_blob(store, tmp_path, key(number), 4096)
    age(store, key(1), 30)
    age(store, key(2), 300)  # least recently used
    age(store, key(3), 10)
    shared = len("in every entry\n")
    report = collect(store, max_size=2 * 4096 + shared)
    assert report.removed == (key(2),)
    assert report.size == 2 * 4096 + shared
    assert collect(store, max_size=2 * 4096 + shared).removed == ()
    assert collect(store, max_size=0).removed == (key(1), key(3))
    assert objects_in(store) == []


def test_gc_removes_orphans_and_stale_tmp_only(store: CacheStore, tmp_path: Path) -> None:
    publish_blob(store, tmp_path, key(1), 100)
    publish_blob(store, tmp_path, key(2), 100)
    assert store.remove(key(1))
    stale = store.layout.tmp / "publish-1-dead"
    write(stale / "object-0", "left by a crash")
    os.utime(stale, (time.time() - 2 * HOUR,) * 2)
    fresh = store.layout.tmp / "publish-2-live"
    write(fresh / "object-0", "maybe a live publisher")
    report = collect(store)
    assert report.removed == ()
    assert report.objects_removed == 1  # key(1)'s own file; the shared one is still used
    assert report.tmp_removed == 1
    assert not stale.exists()
    assert fresh.exists()
    assert store.lookup(key(2)) is not None


def test_gc_skips_an_entry_whose_key_is_held(tmp_path: Path) -> None:
    with CacheStore(tmp_path / "cache") as store, CacheStore(tmp_path / "cache") as other:
        publish_blob(store, tmp_path, key(1), 100)
        age(store, key(1), 2 * HOUR)
        with other.lock(key(1)):
            report = collect(store, older_than=HOUR)
        assert report.removed == ()
        assert report.kept == (key(1),)
        assert store.lookup(key(1)) is not None


def test_gc_leaves_objects_alone_while_publishers_hold_the_store(
    store: CacheStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gc_module, "SWEEP_WAIT_S", 0.1)
    publish_blob(store, tmp_path, key(1), 100)
    store.remove(key(1))
    before = objects_in(store)
    with sweep_shared(store.layout.sweep_lock):
        report = collect(store)
    assert not report.swept
    assert objects_in(store) == before
    assert collect(store).objects_removed == 2


def test_gc_removes_damaged_entries(store: CacheStore, tmp_path: Path) -> None:
    publish_blob(store, tmp_path, key(1), 100)
    store.layout.manifest(key(1)).write_bytes(b"{}")
    report = collect(store)
    assert not store.layout.entry_dir(key(1)).exists()
    assert report.objects_removed == 2
    assert len(store.problems) == 1


def test_verify_finds_bytes_changed_behind_the_stamps(store: CacheStore, tmp_path: Path) -> None:
    publish_tree(store, tmp_path / "produced")
    victim = next(p for p in objects_in(store) if p.stat().st_size > 100)
    before = victim.stat()
    data = bytearray(victim.read_bytes())
    data[10] ^= 0xFF
    victim.chmod(0o644)
    victim.write_bytes(bytes(data))
    victim.chmod(0o444)
    os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns))  # size and mtime as stored
    report = verify(store)
    assert not report.ok
    assert report.damaged == (
        f"{KEY}: object {victim.name} is corrupt (its bytes do not match its digest)",
    )
    assert report.removed == (KEY,)
    assert report.corrupt == (victim.name,)
    assert not victim.exists()
    assert report.orphans == 3  # the entry's other objects, for gc
    assert store.lookup(KEY) is None


def test_verify_a_sound_store(store: CacheStore, tmp_path: Path) -> None:
    publish_tree(store, tmp_path / "one", key(1))
    publish_tree(store, tmp_path / "two", key(2))
    write(store.layout.objects / "ff" / ("f" * 32), "orphan")
    report = verify(store)
    assert report.ok
    assert report.entries == 2
    assert report.objects == 4
    assert report.bytes_read == sum(p.stat().st_size for p in objects_in(store)) - len("orphan")
    assert (report.orphans, report.orphan_bytes) == (1, len("orphan"))


def test_verify_reports_missing_objects_and_bad_manifests(
    store: CacheStore, tmp_path: Path
) -> None:
    publish_tree(store, tmp_path / "one", key(1))
    publish_tree(store, tmp_path / "two", key(2), salt="2")
    reading = store.read(key(1))
    assert reading is not None
    assert reading.manifest is not None
    store.layout.object_path(min(reading.manifest.objects)).unlink()
    store.layout.manifest(key(2)).write_bytes(b"")
    report = verify(store)
    assert set(report.removed) == {key(1), key(2)}
    assert any("missing" in line for line in report.damaged)
    assert any("empty" in line for line in report.damaged)
