"""Helpers for the cache tests: real files, and a way to let them age past the racy window."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

from runner.cache.state import is_racy


def settle(*paths: Path) -> None:
    """Sleep until every file under `paths` is old enough to be memoised (see state.is_racy)."""
    stats = [st for root in paths for path in _walk(root) for st in _stats(path)]
    while any(is_racy(st, time.time_ns()) for st in stats):
        time.sleep(0.02)


def _walk(root: Path) -> Iterator[Path]:
    yield root
    for parent, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            yield Path(parent, name)


def _stats(path: Path) -> list[os.stat_result]:
    # Both the entry and, through a link, what it leads to: digest_path memoises the latter.
    try:
        return [path.lstat(), path.stat()]
    except OSError:
        return [path.lstat()]


def write(path: Path, data: bytes | str = b"", *, executable: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    if executable:
        path.chmod(0o755)
    return path


OLD_NS = 1_600_000_000_123_456_789


def fake_stat(
    ino: int, *, size: int = 10, mtime_ns: int = OLD_NS, ctime_ns: int = OLD_NS, dev: int = 7
) -> os.stat_result:
    """A stat of a regular file that was last changed long ago (so never racy)."""
    fields = (0o100644, ino, dev, 1, 0, 0, size, 0, mtime_ns // 10**9, ctime_ns // 10**9)
    return os.stat_result(
        fields, {"st_mtime_ns": mtime_ns, "st_ctime_ns": ctime_ns, "st_atime_ns": 0}
    )


def hammer(db_path: str, worker: int, count: int) -> int:
    """One process of the concurrency test: write its own rows, read everybody's; returns hits."""
    from runner.cache.state import StateDB

    hits = 0
    with StateDB(Path(db_path)) as db:
        for start in range(0, count, 50):
            db.record_many(
                [
                    (fake_stat(worker * count + i), f"w{worker}-{i}")
                    for i in range(start, start + 50)
                ]
            )
            for i in range(start, start + 50):
                hits += db.lookup(fake_stat(worker * count + i)) == f"w{worker}-{i}"
                db.lookup(fake_stat(((worker + 1) % 4) * count + i))
        assert db.usable
    return hits
