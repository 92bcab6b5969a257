"""The stat memo's SQLite plumbing: its schema (and the format id that starts it afresh when the
schema or the digest algorithm changes), transactions, and telling a damaged file from a busy
one (`runner.cache.state` is the memo itself)."""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runner.hashing import ALGORITHM

SCHEMA_VERSION = 2
# Stored as PRAGMA user_version: a new schema or a new digest algorithm silently starts afresh.
FORMAT_ID = zlib.crc32(f"runner-state:{SCHEMA_VERSION}:{ALGORITHM}".encode()) & 0x7FFFFFFF

_SCHEMA = """
CREATE TABLE files (
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    digest TEXT NOT NULL,
    seen INTEGER NOT NULL,
    PRIMARY KEY (dev, ino)
) WITHOUT ROWID;
CREATE TABLE trees (
    signature TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    files BLOB NOT NULL,
    seen INTEGER NOT NULL
)
"""


def is_corruption(exc: sqlite3.Error) -> bool:
    # OperationalError means locked/busy/io/permissions; bare DatabaseError means a bad image
    # ("file is not a database", "database disk image is malformed").
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE takes the write lock up front, so writers queue on the busy timeout."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _user_version(conn: sqlite3.Connection) -> int:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    return int(version)


def initialised(conn: sqlite3.Connection) -> bool:
    (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    return bool(mode == "wal" and _user_version(conn) == FORMAT_ID)


def ensure_schema(conn: sqlite3.Connection) -> None:
    if _user_version(conn) == FORMAT_ID:
        return
    with transaction(conn):
        # Another process may have created it while we waited for the write lock.
        if _user_version(conn) != FORMAT_ID:
            conn.execute("DROP TABLE IF EXISTS files")
            conn.execute("DROP TABLE IF EXISTS trees")
            for statement in _SCHEMA.split(";"):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {FORMAT_ID}")


def healthy(path: Path, timeout_s: float) -> bool:
    """Whether the file at `path` is (now) a sound database: maybe another process fixed it."""
    if not path.exists():
        return True
    try:
        conn = sqlite3.connect(path, timeout=timeout_s)
        try:
            (verdict,) = conn.execute("PRAGMA quick_check").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return bool(verdict == "ok")
