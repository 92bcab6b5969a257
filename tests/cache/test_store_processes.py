"""Real processes: SIGKILL at every step of a publication, single flight, independent keys,
and gc racing publishers."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from cache_helpers import settle
from test_store_support import (
    BUSY_COLLECTOR,
    BUSY_PUBLISHER,
    CRASHING_PUBLISHER,
    KEY,
    LOCK_HOLDER,
    SINGLE_FLIGHT_RUN,
    key,
    make_tree,
    run_child,
    snapshot,
    wait_for,
)

from runner.cache.gc import collect, verify
from runner.cache.store import CacheStore

POINTS = ["object-stored", "after-objects", "manifest-half", "after-manifest", "after-rename"]


@pytest.mark.parametrize("point", POINTS)
def test_sigkill_at_any_point_leaves_a_usable_store(tmp_path: Path, point: str) -> None:
    root, produced = tmp_path / "cache", make_tree(tmp_path / "produced")
    settle(produced)
    expected = snapshot(produced)
    marker = tmp_path / "reached"
    child = run_child(CRASHING_PUBLISHER, str(root), KEY, str(produced), point, str(marker))
    wait_for(marker, child)
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL

    with CacheStore(root) as store:
        entry = store.lookup(KEY)
        assert store.problems == []  # a half publication is absent, never damaged
        if point == "after-rename":
            assert entry is not None
            store.materialize(entry, {"out": tmp_path / "served"})
            assert snapshot(tmp_path / "served") == expected
            return
        assert entry is None
        # The next run completes, from the same (now partly hardlinked) output and a fresh one.
        store.publish(KEY, {"out": (produced, "dir")}, {}, {})
        entry = store.lookup(KEY)
        assert entry is not None
        store.materialize(entry, {"out": tmp_path / "served"})
        assert snapshot(tmp_path / "served") == expected
        assert verify(store).ok
        # What the crash left in tmp is garbage once stale.
        leftovers = list(store.layout.tmp.iterdir())
        assert leftovers
        for item in leftovers:
            os.utime(item, (time.time() - 7200,) * 2)
        assert collect(store).tmp_removed == len(leftovers)


def test_sigkill_while_publishing_over_a_damaged_entry(tmp_path: Path) -> None:
    root, produced = tmp_path / "cache", make_tree(tmp_path / "produced")
    with CacheStore(root) as store:
        store.publish(KEY, {"out": (produced, "dir")}, {}, {})
        store.layout.manifest(KEY).write_bytes(b"junk")
    fresh = make_tree(tmp_path / "fresh", salt="new")
    marker = tmp_path / "reached"
    child = run_child(CRASHING_PUBLISHER, str(root), KEY, str(fresh), "after-manifest", str(marker))
    wait_for(marker, child)
    child.kill()
    child.wait()
    with CacheStore(root) as store:
        assert store.lookup(KEY) is None
        store.publish(KEY, {"out": (fresh, "dir")}, {}, {})
        entry = store.lookup(KEY)
        assert entry is not None
        store.materialize(entry, {"out": tmp_path / "served"})
        assert snapshot(tmp_path / "served") == snapshot(fresh)


def test_identical_runs_execute_once(tmp_path: Path) -> None:
    root, counter, go = tmp_path / "cache", tmp_path / "counter.txt", tmp_path / "go"
    CacheStore(root).close()
    works = [tmp_path / f"run{n}" for n in range(8)]
    children = [
        run_child(SINGLE_FLIGHT_RUN, str(root), KEY, str(work), str(counter), str(go))
        for work in works
    ]
    go.touch()
    assert [child.wait(timeout=120) for child in children] == [0] * 8
    assert len(counter.read_text().splitlines()) == 1
    assert [(work / "result.txt").read_text() for work in works] == ["the answer\n"] * 8


def test_different_keys_never_wait_for_each_other(tmp_path: Path) -> None:
    root, marker = tmp_path / "cache", tmp_path / "held"
    CacheStore(root).close()
    child = run_child(LOCK_HOLDER, str(root), key(1), str(marker))
    try:
        wait_for(marker, child)
        with CacheStore(root) as store:
            started = time.monotonic()
            with store.lock(key(2)):
                assert time.monotonic() - started < 0.5
            with store.key_locks.attempt(key(1)) as held:
                assert not held
    finally:
        child.kill()
        child.wait()
    with CacheStore(root) as store, store.key_locks.attempt(key(1)) as held:
        assert held  # the kernel let go when the holder died


@pytest.mark.slow
def test_gc_racing_publishers_never_breaks_an_entry(tmp_path: Path) -> None:
    root, stop = tmp_path / "cache", tmp_path / "stop"
    CacheStore(root).close()
    collector = run_child(BUSY_COLLECTOR, str(root), str(stop))
    publishers = [
        run_child(BUSY_PUBLISHER, str(root), str(tmp_path / "work"), str(n), "40") for n in range(3)
    ]
    try:
        assert [p.wait(timeout=300) for p in publishers] == [0, 0, 0]
    finally:
        stop.touch()
        assert collector.wait(timeout=60) == 0
    shutil.rmtree(tmp_path / "work")
    with CacheStore(root) as store:
        collect(store)
        assert [p for p in store.layout.objects.rglob("*") if p.is_file()] == []
        assert store.entries() == []


def test_threads_of_one_process_take_turns_on_a_key(tmp_path: Path) -> None:
    import threading

    inside: list[int] = []
    overlaps: list[int] = []

    def run(store: CacheStore) -> None:
        with store.lock(KEY):
            inside.append(1)
            overlaps.append(len(inside))
            time.sleep(0.05)
            inside.pop()

    with CacheStore(tmp_path / "cache") as store:
        threads = [threading.Thread(target=run, args=(store,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert overlaps == [1, 1, 1, 1]
