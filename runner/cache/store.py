"""The cache store: committed results of module runs by key, their file contents deduplicated
in a content-addressed object store. Keys are made elsewhere (runner.run.key); here a key is
an opaque lowercase hex string.

Layout under the root (names in runner.cache.location):

    CACHEDIR.TAG                  marks a cache folder, so backup and sync tools skip it
    state.db                      the stat memo (runner.cache.state), also `store.state`
    objects/<2 hex>/<digest>      file contents by xxh3-128 digest, mode 0444; executables are
                                  "<digest>.x", mode 0555. Never changed once in place
    entries/<key>/manifest.json   one committed entry (runner.cache.manifest); the folder's
                                  mtime is when the entry was last published or served
    locks/<key>.lock              single flight per key; locks/sweep.lock: publish vs gc
    tmp/                          work in progress: publish-* (a publication being built) and
                                  trash-* (an entry being deleted); older than an hour: garbage

Other folders under the root belong to other parts of runner and are left alone.

An entry whose meta holds `"keep": true` (manifest.KEEP) is never removed by gc for age or size: the
module registry keeps its registered snapshots so (runner.registry). Damage still removes it.

Crash safety: an entry is built completely in tmp/publish-*/ (objects first, the manifest
last) and appears by one rename of its folder, so it either fully exists or does not; a process
killed at any moment leaves at worst unreferenced objects and tmp folders, which are gc's
business, never a correctness problem. Power loss without fsync can leave a manifest or a
copied object short: the manifest's own digest and each object's recorded size catch that, and
the entry is a miss. A damaged entry is never served: `lookup` checks the manifest's digest and
every object's size, mtime and executable bit (one stat each), and has the stat memo confirm
each object's content for exactly its current stat (inode and ctime included), reading it
again when the memo cannot: any mismatch is a miss.

Read-only: a store that cannot be written (a read-only mount, a shared cache of another user)
or opened with `read_only=True` is used as it is: lookups serve sound entries, nothing is
written (no lock, no last-used time, no repair, no memo row), and `publish` raises NotStored.
A full disk while publishing also raises NotStored, after removing what it had staged.

Permissions: what the store makes gets `Layout.modes` (`runner.files.Modes`): private (0700
folders, 0600 files, 0400 objects) unless the root is a shared, setgid folder.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import os
import shutil
import stat
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType

from runner.cache import publish
from runner.cache.digest import confirm_contents
from runner.cache.location import Layout, check_key, is_key
from runner.cache.locks import KeyLocks, sweep_shared
from runner.cache.manifest import (
    EXECUTABLE_SUFFIX,
    Entry,
    Manifest,
    ManifestError,
    OutputKind,
    OutputRecord,
    canonical,
    content_digest,
    decode,
    encode,
)
from runner.cache.materialize import ObjectGone, Placement
from runner.cache.objects import METHODS, Method, Placer, remember_known
from runner.cache.publish import Produced, Source, UnpublishableOutput, store_objects, survey
from runner.cache.state import StateDB
from runner.errors import RunnerError
from runner.files import FULL, make_folder, modes_of, size_text, storage_problem
from runner.struct import Struct, replace

__all__ = [
    "CacheStore",
    "DamagedEntryError",
    "Entry",
    "NotStored",
    "OutputRecord",
    "UnpublishableOutput",
]

MANIFEST = "manifest.json"
# What os.rename says when the target folder exists: a racing publisher got there first.
_TAKEN = frozenset({errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR})


class DamagedEntryError(Exception):
    """`materialize` found an object gone: the entry was damaged or removed since `lookup`.
    What had been placed is undone and the problem noted; treat it as a miss and run."""


class NotStored(Exception):
    """The store could not take a result: it is read-only, or its disk is full (the message
    says which, and how much was needed; `error` is the refusal). Nothing of the result was
    left in the store; the run that produced it is fine, it is just not cached."""

    def __init__(self, message: str, error: OSError) -> None:
        super().__init__(message)
        self.error = error


class Reading(Struct):
    """An entry as found on disk: `problem` says why it cannot be used (None: it is sound)."""

    key: str
    folder: os.stat_result  # identifies this very publication of the key
    manifest: Manifest | None
    problem: str | None


class CacheStore:
    """One cache folder. Safe to share between threads and between processes; see the module
    docstring for the layout and runner.cache.locks for who waits for whom."""

    def __init__(
        self,
        root: Path,
        *,
        methods: tuple[Method, ...] = METHODS,
        tagged: bool = True,
        read_only: bool = False,
    ) -> None:
        """Open (creating if needed) the store at `root`. `methods`: how files are placed into
        and out of the store, in order of preference. `tagged=False` leaves out CACHEDIR.TAG,
        for a store of data that backups must keep (the module registry's). `read_only`: use
        it as it is, writing nothing (a store that cannot be written is used so anyway)."""
        self.root = Path(root)
        # How messages name it (a store that is not tagged holds data: the registry's).
        self.name = f"the {'cache folder' if tagged else 'store'} {self.root.absolute()}"
        # Why nothing can be stored here (None: it can); said by every run that misses.
        self.read_only: str | None = None
        if read_only:
            self.read_only = f"{self.name} is used read-only"
            self.layout = Layout(self.root, modes_of(self.root))
        else:
            self.layout, self.read_only = _create(self.root, tagged, self.name)
        modes = self.layout.modes
        self.state = StateDB(
            self.layout.state_db, read_only=self.read_only is not None, mode=modes.file
        )
        self.problems: list[str] = []
        self.key_locks = KeyLocks(self.layout.locks, modes.file)
        self._placer = Placer(methods)
        self._owner = True

    def view(self) -> CacheStore:
        """This store for one run of many (a pipeline's steps): the same connection, locks and
        placer, its own `problems`; closing the view leaves the store open."""
        view = copy.copy(self)
        view.problems = []
        view._owner = False
        return view

    def close(self) -> None:
        if self._owner:
            self.state.close()

    def __enter__(self) -> CacheStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def lock(self, key: str) -> contextlib.AbstractContextManager[None]:
        """Single flight: hold while looking up, running and publishing one key. A read-only
        store has no lock to take (and nothing to publish): identical misses each run."""
        if self.read_only:
            return contextlib.nullcontext()
        return self.key_locks.hold(check_key(key))

    def require_writable(self, doing: str) -> None:
        """Raise a RunnerError (exit 2) naming why `doing` cannot be done in a read-only store."""
        if self.read_only:
            raise RunnerError(
                f"cannot {doing}: {self.read_only}",
                "give a writable cache with --cache-dir DIR (or RUNNER_CACHE_DIR)",
            )

    # -- reading -------------------------------------------------------------------------------

    def lookup(self, key: str) -> Entry | None:
        """The entry for `key`, or None. A damaged entry is a miss: it is removed and the reason
        added to `problems`. Never raises for damage."""
        reading = self.read(check_key(key))
        if reading is None or reading.manifest is None or reading.problem is not None:
            if reading is not None:
                self.report(reading, repair=not self.read_only)
            return None
        now = time.time()
        if not self.read_only:
            with contextlib.suppress(OSError):
                os.utime(self.layout.entry_dir(key), (now, now))
        return replace(reading.manifest.entry, last_used=now)

    def read(self, key: str, *, check_objects: bool = True) -> Reading | None:
        """The entry as it is on disk (None when there is none), without acting on damage."""
        folder = self.layout.entry_dir(key)
        try:
            folder_st = folder.lstat()
        except FileNotFoundError:
            return None
        try:
            data = (folder / MANIFEST).read_bytes()
        except FileNotFoundError:
            # Absent, unless the folder is still the one we saw (it may have just been removed).
            if not self._unchanged(Reading(key, folder_st, None, None)):
                return None
            return Reading(key, folder_st, None, "its manifest is missing")
        except OSError as exc:
            return Reading(key, folder_st, None, f"its manifest is unreadable: {exc.strerror}")
        try:
            manifest = decode(data, key, folder_st.st_mtime)
        except ManifestError as exc:
            return Reading(key, folder_st, None, str(exc))
        problem = self._object_problem(manifest) if check_objects else None
        return Reading(key, folder_st, manifest, problem)

    def _object_problem(self, manifest: Manifest) -> str | None:
        """One stat per object (a thousand take a few ms): present, unchanged, right x bit,
        and its content confirmed by the stat memo, or else by reading it again. An object
        rewritten in place with its size and mtime put back still has a new ctime: it is
        never served unread."""
        observed_ns = time.time_ns()
        stats: list[tuple[str, os.stat_result, str]] = []
        for name, stamp in manifest.objects.items():
            path = self.layout.object_file(name)
            try:
                st = os.stat(path)  # noqa: PTH116 -- hot loop
            except OSError as exc:
                gone = "missing" if exc.errno == errno.ENOENT else "unreadable"
                return f"object {name} is {gone}"
            if st.st_mtime_ns != stamp.mtime_ns or st.st_size != stamp.size:
                return f"object {name} was modified after it was stored"
            if bool(st.st_mode & stat.S_IXUSR) != name.endswith(EXECUTABLE_SUFFIX):
                return f"object {name} lost or gained its executable bit"
            stats.append((path, st, content_digest(name)))
        wrong = confirm_contents(stats, self.state, observed_ns) if stats else []
        if wrong:
            return f"object {Path(wrong[0]).name} was modified after it was stored"
        return None

    def report(self, reading: Reading, *, repair: bool) -> None:
        """Note a damaged entry in `problems` and, with `repair`, remove it (unless its key is
        busy: whoever holds it will replace it). Silent if the entry changed meanwhile."""
        if not self._unchanged(reading):
            return
        self.problems.append(
            f"cache entry {reading.key} was damaged ({reading.problem}) and was ignored"
        )
        if repair:
            self.discard(reading)

    def _unchanged(self, reading: Reading) -> bool:
        try:
            now = self.layout.entry_dir(reading.key).lstat()
        except OSError:
            return False
        return os.path.samestat(now, reading.folder)

    def discard(self, reading: Reading) -> bool:
        """Remove this very publication of the key if nobody holds the key; True if removed."""
        if self.read_only:
            return False
        with self.key_locks.attempt(reading.key) as held:
            if not held or not self._unchanged(reading):
                return False
            self._trash(self.layout.entry_dir(reading.key))
            return True

    def _trash(self, path: Path) -> None:
        # One rename takes the entry away atomically; deleting the files can then take its time.
        trash = self.layout.scratch("trash")
        path.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)

    def entries(self) -> list[Entry]:
        """Every sound entry, oldest first; damaged ones are skipped and noted in `problems`."""
        found: list[Entry] = []
        for folder in self._entry_folders():
            reading = self.read(folder.name) if is_key(folder.name) else None
            if reading is not None and reading.manifest and not reading.problem:
                found.append(reading.manifest.entry)
            elif reading is not None:
                self.report(reading, repair=False)
        return sorted(found, key=lambda entry: entry.created_at)

    def remove(self, key: str) -> bool:
        """Remove an entry (its objects go at the next gc); False if there was none."""
        self.require_writable(f"remove cache entry {key}")
        with self.lock(key):
            folder = self.layout.entry_dir(key)
            if not os.path.lexists(folder):
                return False
            self._trash(folder)
            return True

    # -- materialising -------------------------------------------------------------------------

    def materialize(self, entry: Entry, destinations: Mapping[str, Path]) -> None:
        """Place outputs where a run wants them: output name -> a file path ("file") or a folder
        that is absent or empty ("dir"). Files are reflinked, else hardlinked (read-only, shared
        with the store), else copied. Raises DamagedEntryError if an object has gone."""
        unknown = set(destinations) - set(entry.outputs)
        if unknown:
            raise ValueError(f"entry {entry.key} has no output named {sorted(unknown)}")
        placement = Placement(self.layout, self._placer)
        try:
            placement.place(entry, destinations)
        except ObjectGone as gone:
            reading = self.read(entry.key)
            if reading is not None and reading.problem is not None:
                self.report(reading, repair=True)
            raise DamagedEntryError(f"cache entry {entry.key} lost object {gone}") from None
        # Downstream steps reading these files then need no hashing.
        remember_known(self.state, placement.files)

    # -- publishing ----------------------------------------------------------------------------

    def publish(
        self,
        key: str,
        outputs: Mapping[str, tuple[Path, OutputKind]],
        parts: Mapping[str, object],
        meta: Mapping[str, object],
    ) -> Entry:
        """Store a successful run's outputs under `key`. Produced files may be hardlinked into
        the store (and so become read-only). If a sound entry for `key` already exists, it is
        kept and returned. Raises UnpublishableOutput for an output that cannot be cached, and
        NotStored when the store cannot take it (read-only, its disk full)."""
        check_key(key)
        if self.read_only:
            raise NotStored(self.read_only, OSError(errno.EROFS, self.read_only, str(self.root)))
        parts, meta = _json_values(parts, "parts"), _json_values(meta, "meta")
        produced = {
            name: survey(name, Path(p), kind, self.state) for name, (p, kind) in outputs.items()
        }
        sources: dict[str, Source] = {}
        for item in produced.values():
            sources = {**item.sources, **sources}
        try:
            return self._publish(key, produced, sources, parts, meta)
        except OSError as exc:
            problem = storage_problem(exc, self.root, self.name)
            if problem is None:
                raise
            if exc.errno in FULL:
                needed = sum(source.st.st_size for source in sources.values())
                problem += f"; storing this result needs up to {size_text(needed)}"
            raise NotStored(problem, exc) from None

    def _publish(
        self,
        key: str,
        produced: Mapping[str, Produced],
        sources: Mapping[str, Source],
        parts: Mapping[str, object],
        meta: Mapping[str, object],
    ) -> Entry:
        modes = self.layout.modes
        with self.lock(key), sweep_shared(self.layout.sweep_lock, modes.file):
            txn = self.layout.scratch("publish")
            make_folder(txn, modes)
            try:
                stamps = store_objects(self.layout, self.state, self._placer, txn, sources)
                publish.reached("after-objects")
                records = {name: item.record for name, item in produced.items()}
                size = sum(stamp.size for stamp in stamps.values())
                now = time.time()
                entry = Entry(key, records, parts, meta, now, size, last_used=now)
                committed = self._commit(txn, Manifest(entry, stamps))
                publish.reached("after-rename")
            finally:
                shutil.rmtree(txn, ignore_errors=True)
        # After the tmp links are gone: every link and unlink moves the shared inode's ctime.
        remember_known(
            self.state, ((self.layout.object_file(n), content_digest(n)) for n in stamps)
        )
        return committed

    def _commit(self, txn: Path, manifest: Manifest) -> Entry:
        key = manifest.entry.key
        staged = txn / "entry"
        make_folder(staged, self.layout.modes)
        _write_manifest(staged / MANIFEST, encode(manifest), self.layout.modes.file)
        publish.reached("after-manifest")
        for _ in range(3):
            try:
                staged.rename(self.layout.entry_dir(key))
            except OSError as exc:
                if exc.errno not in _TAKEN:
                    raise
            else:
                return manifest.entry
            # Taken: a racing publisher's entry is as good as ours; a damaged one goes (we hold
            # the key, so nobody else is replacing it) and we try again.
            reading = self.read(key)
            if reading is not None and reading.manifest is not None and reading.problem is None:
                return reading.manifest.entry
            if reading is not None:
                self.report(reading, repair=True)
        raise OSError(
            errno.EEXIST, "cannot replace the damaged entry", str(self.layout.entry_dir(key))
        )

    # -- maintenance ---------------------------------------------------------------------------

    def readings(self) -> Iterator[Reading]:
        """Every entry folder as found (for gc and verify)."""
        for folder in self._entry_folders():
            key = folder.name
            reading = self.read(key, check_objects=False) if is_key(key) else None
            if reading is not None:
                yield reading

    def _entry_folders(self) -> list[Path]:
        try:
            return sorted(self.layout.entries.iterdir())
        except FileNotFoundError:  # a read-only store that was never made: empty
            return []


def _create(root: Path, tagged: bool, name: str) -> tuple[Layout, str | None]:
    """The store's layout with its folders made, and why it cannot be written (None: it can)."""
    try:
        layout = Layout(root).create(tagged=tagged)
    except OSError as exc:
        problem = storage_problem(exc, root, name)
        if problem is None:
            raise
        return Layout(root, modes_of(root)), problem
    return layout, layout.unwritable(name)


def _write_manifest(path: Path, data: bytes, mode: int) -> None:
    half = len(data) // 2
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    if mode & 0o077:
        os.fchmod(fd, mode)  # the umask may have cut the group's bits
    with open(fd, "wb") as stream:
        stream.write(data[:half])
        stream.flush()
        publish.reached("manifest-half")
        stream.write(data[half:])


def _json_values(values: Mapping[str, object], what: str) -> dict[str, object]:
    """What a lookup will read back: round-tripped now, so publish fails before storing."""
    try:
        loaded: dict[str, object] = json.loads(canonical(dict(values)))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cache entry {what} must be plain JSON values: {exc}") from None
    return loaded
