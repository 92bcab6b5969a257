"""The stat memo: `(device, inode, size, mtime_ns, ctime_ns) -> digest`, so an unchanged file is
never read twice; and the same for whole trees: the digest of every stat of a tree's files,
`signature -> the tree's digest and file list`, so an unchanged folder is re-checked from its
stats alone (`runner.cache.trees`).

Correctness rests on two rules (the "racy git" problem):

- ctime is stored and compared as well as mtime. Nobody can set ctime by hand: any write, chmod,
  or `os.utime` that puts an old mtime back moves ctime to now, so such an edit is still seen.
- An entry is only memoised when the file's timestamps are safely older than the moment its stat
  was taken (`observed_ns`). A timestamp only has the file system's granularity (a kernel clock
  tick on ext4/xfs/tmpfs, one or two seconds on FAT, HFS+, ext3 and some network shares): a file
  rewritten within the same tick right after it was hashed would keep the very same stat, and a
  memo of it would be stale forever. Skipping such "racy" entries costs one more read later.

The database is only a cache: any trouble with it (garbage bytes, a malformed image, a locked or
unwritable file) is logged and either repaired by recreating the file or survived by running
without a memo. It never fails a run.

Read-only (a cache on a read-only mount, or used so on purpose): the memo is consulted and never
written. Its rows still vouch for what they say (a row holds a digest for one exact stat, ctime
included), so a read-only cache serves hits without re-reading objects the memo knows.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

from runner.cache.locks import FileMutex
from runner.cache.state_schema import (
    FORMAT_ID,
    ensure_schema,
    healthy,
    initialised,
    is_corruption,
    transaction,
)
from runner.log import logger
from runner.struct import Struct

NS = 1_000_000_000
# Covers a kernel clock tick (<= 10 ms) with room for scheduling and small clock skews.
FINE_MARGIN_NS = 100_000_000
# Whole-second timestamps: FAT keeps 2 s (and Windows rounds up), ext3/HFS+/SMB keep 1 s.
COARSE_MARGIN_NS = 3 * NS
# A hit only rewrites its row's `seen` when it is older than this: warm checks stay read-only.
TOUCH_AFTER_S = 3600
# A long-lived process writes its pending `seen` updates once this many have piled up.
_TOUCH_BATCH = 10_000
DEFAULT_TIMEOUT_S = 30.0

_LOOKUP = (
    "SELECT ino, size, mtime_ns, ctime_ns, digest, seen FROM files"
    " WHERE dev = ? AND ino IN ({marks})"
)
# Inodes per lookup query: well under the oldest SQLite's limit of 999 parameters.
_BATCH = 500
# size, mtime_ns, ctime_ns, digest, seen
_Memo = tuple[int, int, int, str, int]
_UPSERT = "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)"
# dev, ino, size, mtime_ns, ctime_ns, digest, seen
_Row = tuple[int, int, int, int, int, str, int]
_TOUCH = "UPDATE files SET seen = ? WHERE dev = ? AND ino = ?"


class StateStats(Struct):
    """What the memo did, for tests and `explain`."""

    hits: int = 0
    misses: int = 0
    recorded: int = 0
    racy: int = 0
    bytes_read: int = 0


def racy_margin_ns(st: os.stat_result) -> int:
    """How much older than the observation a file's timestamps must be to be memoised."""
    # Whole-second timestamps give away a coarse file system (odds of a false alarm: 1e-9).
    if st.st_mtime_ns % NS == 0 or st.st_ctime_ns % NS == 0:
        return COARSE_MARGIN_NS
    return FINE_MARGIN_NS


def is_racy(st: os.stat_result, observed_ns: int) -> bool:
    """True when a change right after `observed_ns` could leave this very stat unchanged."""
    newest = max(st.st_mtime_ns, st.st_ctime_ns)
    return newest >= observed_ns - racy_margin_ns(st)


def _signed(value: int) -> int:
    # SQLite integers are signed 64-bit; st_ino and st_dev can use the full unsigned range.
    return value - (1 << 64) if value >= (1 << 63) else value


def _key(st: os.stat_result) -> tuple[int, int]:
    return _signed(st.st_dev), _signed(st.st_ino)


class StateDB:
    """The stat memo, in one SQLite file shared by every process and thread of this user.

    Safe for concurrent use: WAL mode (readers never block), a busy timeout for writers, and
    short write transactions. One instance may be shared by threads (calls are serialised).
    """

    def __init__(
        self,
        path: Path,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        read_only: bool = False,
        mode: int = 0o600,
    ) -> None:
        """`mode`: the permissions of the database file (its -wal and -shm files follow it)."""
        self.path = Path(path)
        self.read_only = read_only
        self._mode = mode
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._pending_touch: set[tuple[int, int]] = set()
        self._hits = self._misses = self._recorded = self._racy = self._bytes_read = 0
        self._repaired = False
        # Guards first-time setup and repair across processes; a warm start never takes it.
        self._setup_lock = FileMutex(Path(f"{self.path}.lock"), timeout_s, mode)
        self._conn = self._open_read_only() if read_only else self._open()

    # -- lifecycle -----------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection | None:
        try:
            return self._connect()
        except sqlite3.Error as exc:
            if is_corruption(exc):
                return self._repair(exc)
            logger(__name__).warning(
                "state db %s unusable (%s): running without a memo", self.path, exc
            )
        except OSError as exc:  # LockTimeout included
            logger(__name__).warning(
                "state db %s unusable (%s): running without a memo", self.path, exc
            )
        return None

    def _open_read_only(self) -> sqlite3.Connection | None:
        """The memo as it is, or None (no memo: every object is read before it is served)."""
        # mode=ro still needs the -shm file of a WAL database, which a read-only folder may
        # lack; immutable=1 then reads the file alone (what a writer added since is not seen).
        for flags in ("mode=ro", "immutable=1"):
            try:
                conn = sqlite3.connect(
                    f"{self.path.absolute().as_uri()}?{flags}",
                    uri=True,
                    timeout=self._timeout_s,
                    isolation_level=None,
                    check_same_thread=False,
                )
                (version,) = conn.execute("PRAGMA user_version").fetchone()
            except sqlite3.Error:
                continue
            if version == FORMAT_ID:
                return conn
            conn.close()
            return None
        return None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            # Made here with its mode: SQLite would make it 0644 (and its -wal alike).
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, self._mode))
                self.path.chmod(self._mode)
        conn = sqlite3.connect(
            self.path, timeout=self._timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            if not initialised(conn):
                # Switching to WAL fails at once (no busy wait) when another process is doing
                # the same: first-time setup is serialised by a lock file instead.
                with self._setup_lock:
                    conn.execute("PRAGMA journal_mode=WAL").fetchone()
                    ensure_schema(conn)
            # A lost last transaction after a power cut only costs a re-hash.
            conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _repair(self, exc: sqlite3.Error) -> sqlite3.Connection | None:
        """Recreate a damaged file; the lock keeps two processes from deleting each other's."""
        self._repaired = True
        logger(__name__).warning("state db %s is damaged (%s): recreating it", self.path, exc)
        try:
            with self._setup_lock:
                if not healthy(self.path, self._timeout_s):
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                return self._connect()
        except (sqlite3.Error, OSError) as again:
            logger(__name__).warning(
                "state db %s unusable (%s): running without a memo", self.path, again
            )
            return None

    def _fail(self, exc: sqlite3.Error) -> None:
        """Called with the lock held after a failed statement: repair once, else go without."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        if is_corruption(exc) and not self._repaired and not self.read_only:
            self._conn = self._repair(exc)
        else:
            logger(__name__).warning(
                "state db %s failed (%s): running without a memo", self.path, exc
            )

    def close(self) -> None:
        with self._lock:
            if self._conn is None:
                return
            self._save_touches()
            self._conn.close()
            self._conn = None

    def _save_touches(self) -> None:
        """Best effort: a lost `seen` update only risks an early prune of a live row."""
        if self._conn is None or self.read_only:
            return
        try:
            self._flush_touches(self._conn)
        except sqlite3.Error as exc:
            logger(__name__).warning(
                "state db %s: could not save last-seen times (%s)", self.path, exc
            )

    def __enter__(self) -> StateDB:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the memo ------------------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        """False when the database could not be opened and every lookup is a miss."""
        return self._conn is not None

    @property
    def stats(self) -> StateStats:
        return StateStats(self._hits, self._misses, self._recorded, self._racy, self._bytes_read)

    def add_bytes_read(self, count: int) -> None:
        """Account for bytes a caller had to read after a miss."""
        with self._lock:
            self._bytes_read += count

    def lookup(self, st: os.stat_result) -> str | None:
        """The digest memoised for exactly this stat, or None."""
        return self.lookup_many([st])[0]

    def lookup_many(self, stats: Sequence[os.stat_result]) -> list[str | None]:
        """`lookup` for many files, in a few queries: one per file costs ~12 us, as much as
        hashing a small file from the page cache."""
        keys = [_key(st) for st in stats]
        with self._lock:
            memos = self._select(keys)
            now = time.time()
            found: list[str | None] = []
            for st, key in zip(stats, keys, strict=True):
                memo = memos.get(key)
                if memo is None or memo[:3] != (st.st_size, st.st_mtime_ns, st.st_ctime_ns):
                    found.append(None)
                    continue
                if now - memo[4] > TOUCH_AFTER_S and not self.read_only:
                    self._pending_touch.add(key)
                found.append(memo[3])
            hits = len(found) - found.count(None)
            self._hits += hits
            self._misses += len(found) - hits
            if len(self._pending_touch) >= _TOUCH_BATCH:
                self._save_touches()
            return found

    def _select(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], _Memo]:
        if self._conn is None:
            return {}
        by_device: dict[int, list[int]] = {}
        for dev, ino in keys:
            by_device.setdefault(dev, []).append(ino)
        memos: dict[tuple[int, int], _Memo] = {}
        try:
            for dev, inodes in by_device.items():
                for start in range(0, len(inodes), _BATCH):
                    chunk = inodes[start : start + _BATCH]
                    query = _LOOKUP.format(marks=",".join("?" * len(chunk)))
                    for ino, *memo in self._conn.execute(query, (dev, *chunk)):
                        memos[dev, ino] = tuple(memo)
        except sqlite3.Error as exc:
            self._fail(exc)
            return {}
        return memos

    def record(self, st: os.stat_result, digest: str, *, observed_ns: int | None = None) -> None:
        """Memoise one digest; see `record_many`."""
        self.record_many([(st, digest)], observed_ns=observed_ns)

    def record_many(
        self, items: Iterable[tuple[os.stat_result, str]], *, observed_ns: int | None = None
    ) -> None:
        """Memoise digests in one transaction, skipping racy entries.

        `observed_ns` is the wall-clock time (`time.time_ns()`) taken BEFORE the stats were: a
        write after that moment is then sure to move ctime away from the memoised value. Without
        it, "now" is used, which misses a write that landed between the stat and this call.
        """
        reference = time.time_ns() if observed_ns is None else observed_ns
        seen = int(time.time())
        rows: list[_Row] = []
        racy = 0
        for st, digest in items:
            if is_racy(st, reference):
                racy += 1
                continue
            dev, ino = _key(st)
            rows.append((dev, ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, digest, seen))
        with self._lock:
            self._racy += racy
            if self._conn is None or not rows or self.read_only:
                return
            try:
                self._write(self._conn, rows)
            except sqlite3.Error as exc:
                self._fail(exc)
                return
            self._recorded += len(rows)

    def _write(self, conn: sqlite3.Connection, rows: list[_Row]) -> None:
        with transaction(conn):
            conn.executemany(_UPSERT, rows)
            self._flush_touches(conn, in_transaction=True)

    def _flush_touches(self, conn: sqlite3.Connection, *, in_transaction: bool = False) -> None:
        if not self._pending_touch:
            return
        now = int(time.time())
        rows = [(now, dev, ino) for dev, ino in self._pending_touch]
        if in_transaction:
            conn.executemany(_TOUCH, rows)
        else:
            with transaction(conn):
                conn.executemany(_TOUCH, rows)
        self._pending_touch.clear()

    def lookup_tree(self, signature: str) -> tuple[str, bytes] | None:
        """The digest and file list memoised for a tree with exactly this signature."""
        with self._lock:
            if self._conn is None:
                return None
            try:
                row = self._conn.execute(
                    "SELECT digest, files, seen FROM trees WHERE signature = ?", (signature,)
                ).fetchone()
                if row is not None and time.time() - row[2] > TOUCH_AFTER_S and not self.read_only:
                    with transaction(self._conn):
                        self._conn.execute(
                            "UPDATE trees SET seen = ? WHERE signature = ?",
                            (int(time.time()), signature),
                        )
            except sqlite3.Error as exc:
                self._fail(exc)
                return None
            return None if row is None else (str(row[0]), bytes(row[1]))

    def record_tree(self, signature: str, digest: str, files: bytes) -> None:
        """Memoise a tree; the caller makes sure none of its files was racy (`is_racy`)."""
        with self._lock:
            if self._conn is None or self.read_only:
                return
            try:
                with transaction(self._conn):
                    self._conn.execute(
                        "INSERT OR REPLACE INTO trees VALUES (?, ?, ?, ?)",
                        (signature, digest, files, int(time.time())),
                    )
            except sqlite3.Error as exc:
                self._fail(exc)

    def prune(self, older_than_s: float) -> int:
        """Forget files not seen for `older_than_s` seconds; returns how many rows went.

        `seen` is refreshed at most hourly (TOUCH_AFTER_S), so use horizons of days.
        """
        cutoff = time.time() - older_than_s
        with self._lock:
            if self._conn is None or self.read_only:
                return 0
            try:
                self._flush_touches(self._conn)
                with transaction(self._conn):
                    cursor = self._conn.execute("DELETE FROM files WHERE seen < ?", (cutoff,))
                    self._conn.execute("DELETE FROM trees WHERE seen < ?", (cutoff,))
            except sqlite3.Error as exc:
                self._fail(exc)
                return 0
            return cursor.rowcount

    def __len__(self) -> int:
        with self._lock:
            if self._conn is None:
                return 0
            try:
                (count,) = self._conn.execute("SELECT count(*) FROM files").fetchone()
            except sqlite3.Error as exc:
                self._fail(exc)
                return 0
            return int(count)
