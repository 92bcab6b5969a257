"""StateDB: exact-stat lookups, racy entries, concurrency, damage and pruning."""

from __future__ import annotations

import logging
import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest
from cache_helpers import OLD_NS, fake_stat, hammer, settle, write

from runner.cache import state as state_module
from runner.cache.state import StateDB, StateStats, is_racy, racy_margin_ns


def test_record_then_lookup(state: StateDB) -> None:
    assert state.lookup(fake_stat(1)) is None
    state.record(fake_stat(1), "d1")
    assert state.lookup(fake_stat(1)) == "d1"
    assert state.stats == StateStats(hits=1, misses=1, recorded=1)
    assert len(state) == 1


@pytest.mark.parametrize(
    "changed",
    [
        fake_stat(1, size=11),
        fake_stat(1, mtime_ns=OLD_NS + 1),
        fake_stat(1, ctime_ns=OLD_NS + 1),
        fake_stat(2),
        fake_stat(1, dev=8),
    ],
    ids=["size", "mtime", "ctime", "inode", "device"],
)
def test_any_stat_difference_is_a_miss(state: StateDB, changed: object) -> None:
    state.record(fake_stat(1), "d1")
    assert state.lookup(changed) is None  # type: ignore[arg-type]


def test_full_64_bit_inode_and_device_numbers(state: StateDB) -> None:
    big = fake_stat(2**64 - 1, dev=2**63 + 5)
    state.record(big, "big")
    assert state.lookup(big) == "big"
    assert state.lookup(fake_stat(2**64 - 1, dev=5)) is None


def test_record_replaces_the_previous_digest(state: StateDB) -> None:
    state.record(fake_stat(1), "old")
    state.record(fake_stat(1, size=3), "new")
    assert state.lookup(fake_stat(1)) is None
    assert state.lookup(fake_stat(1, size=3)) == "new"


def test_racy_entries_are_not_memoised(tmp_path: Path, state: StateDB) -> None:
    fresh = write(tmp_path / "fresh", "x").stat()
    state.record(fresh, "d")
    assert (state.stats.racy, state.stats.recorded, state.lookup(fresh)) == (1, 0, None)
    settle(tmp_path / "fresh")
    state.record(fresh, "d")
    assert state.lookup(fresh) == "d"


def test_racy_is_judged_against_the_observation_time() -> None:
    st = fake_stat(1)
    assert not is_racy(st, OLD_NS + racy_margin_ns(st) + 1)
    assert is_racy(st, OLD_NS + racy_margin_ns(st))
    # A back-dated mtime does not hide a recent ctime.
    assert is_racy(fake_stat(1, ctime_ns=OLD_NS + 10**10), OLD_NS + 10**10)


def test_whole_second_timestamps_get_a_wider_margin() -> None:
    assert racy_margin_ns(fake_stat(1, mtime_ns=10**18)) > racy_margin_ns(fake_stat(1))
    assert racy_margin_ns(fake_stat(1, mtime_ns=10**18)) >= 2 * 10**9


def test_memo_persists_across_instances(tmp_path: Path) -> None:
    with StateDB(tmp_path / "s.db") as first:
        first.record_many([(fake_stat(i), f"d{i}") for i in range(100)])
    with StateDB(tmp_path / "s.db") as second:
        assert [second.lookup(fake_stat(i)) for i in (0, 99)] == ["d0", "d99"]


def test_concurrent_processes_share_one_database(tmp_path: Path) -> None:
    db = str(tmp_path / "shared" / "state.db")
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        hits = pool.starmap(hammer, [(db, worker, 500) for worker in range(4)])
    assert hits == [500] * 4
    with StateDB(Path(db)) as check:
        assert len(check) == 2000


def test_threads_can_share_one_instance(state: StateDB) -> None:
    errors: list[BaseException] = []

    def work(base: int) -> None:
        try:
            for i in range(200):
                state.record(fake_stat(base + i), "d")
                assert state.lookup(fake_stat(base + i)) == "d"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n * 1000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(state) == 800


def test_garbage_file_is_recreated(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database, just garbage bytes" * 200)
    with caplog.at_level(logging.WARNING), StateDB(path) as db:
        assert db.usable
        assert db.lookup(fake_stat(1)) is None
        db.record(fake_stat(1), "d")
        assert db.lookup(fake_stat(1)) == "d"
    assert "damaged" in caplog.text


def test_damaged_pages_found_later_are_repaired(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.db"
    with StateDB(path) as db:
        db.record_many([(fake_stat(i), "d" * 32) for i in range(5000)])
    data = bytearray(path.read_bytes())
    page = 4096
    data[2 * page :] = b"\xa5" * (len(data) - 2 * page)  # keep the header page intact
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING), StateDB(path) as db:
        for i in range(0, 5000, 97):
            db.lookup(fake_stat(i))
        db.record(fake_stat(1), "fresh")
        assert db.lookup(fake_stat(1)) == "fresh"
    assert "damaged" in caplog.text


def test_unopenable_path_means_no_memo_not_a_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "is-a-directory"
    path.mkdir()
    with caplog.at_level(logging.WARNING), StateDB(path) as db:
        assert not db.usable
        db.record(fake_stat(1), "d")
        assert db.lookup(fake_stat(1)) is None
        assert db.prune(0) == 0
    assert "without a memo" in caplog.text


def test_format_change_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with StateDB(path) as db:
        db.record(fake_stat(1), "d")
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 12345")
    raw.close()
    with StateDB(path) as db:
        assert len(db) == 0
        assert db.lookup(fake_stat(1)) is None


def _set_seen(path: Path, ino: int, seen: int) -> None:
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("UPDATE files SET seen = ? WHERE ino = ?", (seen, ino))
    raw.close()


def _seen(path: Path, ino: int) -> int:
    raw = sqlite3.connect(path)
    (seen,) = raw.execute("SELECT seen FROM files WHERE ino = ?", (ino,)).fetchone()
    raw.close()
    return int(seen)


def test_prune_forgets_rows_not_seen_lately(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with StateDB(path) as db:
        db.record_many([(fake_stat(1), "keep"), (fake_stat(2), "old")])
    _set_seen(path, 2, 1_000)
    with StateDB(path) as db:
        assert db.prune(older_than_s=30 * 86400) == 1
        assert db.lookup(fake_stat(1)) == "keep"
        assert db.lookup(fake_stat(2)) is None


def test_hits_refresh_stale_seen_times_on_close(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with StateDB(path) as db:
        db.record(fake_stat(1), "d")
    _set_seen(path, 1, 1_000)
    with StateDB(path) as db:
        assert db.lookup(fake_stat(1)) == "d"
    assert _seen(path, 1) > 1_000 + state_module.TOUCH_AFTER_S


def test_bytes_read_are_accounted(state: StateDB) -> None:
    state.add_bytes_read(10)
    state.add_bytes_read(5)
    assert state.stats.bytes_read == 15
