"""Content digests of input and output paths (a file or a whole directory tree), read once.

What a digest covers, and what it deliberately does not:

- A single file: its bytes and its executable bit. Not its name nor where it lives, so the same
  content under another name hits the same cache entry; a key that depends on the name (a
  script that dispatches on the extension) adds the basename itself.
- A directory: every entry below it, by posix path relative to the directory, sorted: files
  (bytes + executable bit), directories (so an empty directory counts) and symlinks. Not the
  directory's own name or location, so moving or copying the tree keeps its digest.
- Symlinks: one that resolves inside the tree is kept as a link, digested as the tree-relative
  path it resolves to (its target's content is digested as the target's own entry). One that
  leads outside the tree is followed, since the content is what the step will read; a followed
  directory that is already being walked (a cycle) is kept as a link. A dangling link outside
  the tree is digested as its raw target string. The root itself is always followed.
- FIFOs, sockets and devices: their name and kind only; they are never opened.
- Not timestamps, owners, or permission bits other than the owner's execute bit.

Entries are framed with explicit lengths, so no two different trees can produce the same byte
stream by shifting bytes between a name and a digest.
"""

from __future__ import annotations

import mmap
import os
import stat
import struct
import time
from operator import attrgetter
from pathlib import Path
from typing import Literal

from runner.cache.state import StateDB
from runner.hashing import CHUNK, hash_bytes, new_hasher
from runner.struct import Struct

Kind = Literal["file", "dir", "link", "special"]

TREE_FORMAT = b"runner-tree\x00v1\x00"
_KIND_TAG: dict[str, bytes] = {"file": b"f", "dir": b"d", "link": b"l", "special": b"s"}
# kind tag, name length | name | mode, size, digest length | digest
_HEAD = struct.Struct("<cQ")
_META = struct.Struct("<IQQ")

EXECUTABLE = 0o755
REGULAR = 0o644


class FileDigest(Struct):
    """One entry of a tree. `mode` is 0o755/0o644 for files and 0 for other kinds; `size` and
    `digest` are the content's for files, the link target's digest for links, 0 and "" else."""

    relpath: str
    size: int
    mode: int
    digest: str
    kind: Kind = "file"


class TreeDigest(Struct):
    """The digest of a path, its entries, and the bytes actually read to get it."""

    digest: str
    files: tuple[FileDigest, ...]
    bytes_read: int


# A regular file found by the walk whose content digest is still to be found:
# its relpath, its real path, its stat (plain tuples: there may be a great many).
Pending = tuple[str, str, os.stat_result]


def digest_path(path: Path, state: StateDB | None = None) -> TreeDigest:
    """Digest a file or a directory tree, reading only files the memo does not vouch for.

    Raises OSError when `path` or something below it cannot be listed or read. The tree is
    expected to hold still meanwhile: a file changed during the call may be digested either way,
    but is never memoised under a stat that does not match what was read.
    """
    # Taken before any stat: a write after this instant is sure to change what we memoise.
    observed_ns = time.time_ns()
    return finish(walk(path), state, observed_ns)


def walk(path: Path) -> Walk:
    """List a file or a tree without reading any file (see the module docstring)."""
    root = os.path.realpath(path)
    root_st = Path(root).stat()
    found = Walk(root)
    if stat.S_ISDIR(root_st.st_mode):
        found.directory(root, "", {(root_st.st_dev, root_st.st_ino): ""})
    elif stat.S_ISREG(root_st.st_mode):
        found.pending.append(("", root, root_st))
    else:
        found.entries.append(FileDigest("", 0, 0, "", "special"))
    return found


def finish(found: Walk, state: StateDB | None, observed_ns: int) -> TreeDigest:
    """The digest of a walked tree: its files' contents from the memo, or read."""
    files, bytes_read = _digest_contents(found.pending, state, observed_ns)
    entries = tuple(sorted([*found.entries, *files], key=attrgetter("relpath")))
    return TreeDigest(tree_digest(entries), entries, bytes_read)


def record_produced(path: Path, state: StateDB) -> TreeDigest:
    """Digest an output a step just produced and memoise it, so downstream steps read nothing.

    Files written in the last moments (see `runner.cache.state.is_racy`) cannot be memoised
    safely yet; they are read again once by the next check.
    """
    return digest_path(path, state)


def normalise_mode(st_mode: int) -> int:
    """Only the owner's execute bit matters (as in git): umask differences are not changes."""
    return EXECUTABLE if st_mode & stat.S_IXUSR else REGULAR


# (st_dev, st_ino) of each directory on the way down -> its relpath: how cycles are caught.
_Ancestors = dict[tuple[int, int], str]
# A directory still to be listed: its real path, its relpath, its ancestors.
_Listing = tuple[str, str, _Ancestors]


class Walk:
    """Lists a tree without reading any file: directories and links become entries at once,
    regular files are left pending for the memo."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.root_prefix = root.rstrip(os.sep) + os.sep
        self.entries: list[FileDigest] = []
        self.pending: list[Pending] = []

    def directory(self, path: str, relpath: str, ancestors: _Ancestors) -> None:
        # Iterative on purpose: deep trees must not hit the recursion limit.
        stack = [(path, relpath, ancestors)]
        pending = self.pending
        while stack:
            path, relpath, ancestors = stack.pop()
            prefix = f"{relpath}/" if relpath else ""
            with os.scandir(path) as listing:
                for entry in listing:
                    # Regular files first and inline: they are nearly all of a big tree.
                    if entry.is_file(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                        pending.append((prefix + entry.name, entry.path, st))
                        continue
                    child = self._entry(entry, prefix + entry.name, ancestors)
                    if child is not None:
                        stack.append(child)

    def _entry(self, entry: os.DirEntry[str], rel: str, ancestors: _Ancestors) -> _Listing | None:
        """Classify one entry; returns a directory still to be listed, if it is one."""
        if entry.is_symlink():
            return self._link(entry.path, rel, ancestors)
        if entry.is_file(follow_symlinks=False):
            self.pending.append((rel, entry.path, entry.stat(follow_symlinks=False)))
            return None
        if entry.is_dir(follow_symlinks=False):
            return self._dir(entry.path, rel, entry.stat(follow_symlinks=False), ancestors)
        self.entries.append(FileDigest(rel, 0, 0, "", "special"))
        return None

    def _dir(
        self, path: str, rel: str, st: os.stat_result, ancestors: _Ancestors
    ) -> _Listing | None:
        identity = (st.st_dev, st.st_ino)
        if identity in ancestors:
            # Named by the ancestor it loops back to, which does not depend on where the tree is.
            self.entries.append(_link_entry(rel, "cycle:" + ancestors[identity]))
            return None
        self.entries.append(FileDigest(rel, 0, 0, "", "dir"))
        return path, rel, {**ancestors, identity: rel}

    def _link(self, path: str, rel: str, ancestors: _Ancestors) -> _Listing | None:
        target = os.path.realpath(path)
        if target == self.root or target.startswith(self.root_prefix):
            inside = os.path.relpath(target, self.root).replace(os.sep, "/")
            self.entries.append(_link_entry(rel, "tree:" + inside))
            return None
        try:
            st = os.stat(target)  # noqa: PTH116 -- plain str paths in the walk: no pathlib cost
        except OSError:
            self.entries.append(_link_entry(rel, "dangling:" + os.readlink(path)))  # noqa: PTH115
            return None
        if stat.S_ISREG(st.st_mode):
            self.pending.append((rel, target, st))
            return None
        if stat.S_ISDIR(st.st_mode):
            return self._dir(target, rel, st, ancestors)
        self.entries.append(FileDigest(rel, 0, 0, "", "special"))
        return None


def _link_entry(relpath: str, target: str) -> FileDigest:
    # fsencode: a link target, like a name, may be bytes that are not UTF-8.
    return FileDigest(relpath, 0, 0, hash_bytes(os.fsencode(target)), "link")


def _digest_contents(
    pending: list[Pending], state: StateDB | None, observed_ns: int
) -> tuple[list[FileDigest], int]:
    """Content digests of regular files: from the memo where it vouches, else read (and then
    memoised in one batch)."""
    files: list[FileDigest] = []
    fresh: list[tuple[os.stat_result, str]] = []
    buffer: memoryview | None = None
    bytes_read = 0
    memos = (
        state.lookup_many([st for _, _, st in pending])
        if state is not None
        else [None] * len(pending)
    )
    for (relpath, path, st), memo in zip(pending, memos, strict=True):
        digest = memo
        if digest is None:
            buffer = read_buffer() if buffer is None else buffer
            digest, count = _hash_file(path, buffer)
            bytes_read += count
            fresh.append((st, digest))
        files.append(FileDigest(relpath, st.st_size, normalise_mode(st.st_mode), digest))
    if state is not None:
        state.add_bytes_read(bytes_read)
        if fresh:
            state.record_many(fresh, observed_ns=observed_ns)
    return files, bytes_read


def confirm_contents(
    items: list[tuple[str, os.stat_result, str]], state: StateDB, observed_ns: int
) -> list[str]:
    """The paths among `(path, stat, expected digest)` whose content is not the expected one.

    The memo vouches for a file only for exactly the stat it recorded (inode, size, mtime and
    ctime, which no one can set back by hand): any other stat means the file is read and
    digested again before anyone relies on it. What checks out is memoised, so the next check
    reads nothing. `observed_ns` is the time taken before the stats (see `StateDB.record_many`).
    """
    memos = state.lookup_many([st for _, st, _ in items])
    wrong: list[str] = []
    confirmed: list[tuple[os.stat_result, str]] = []
    buffer: memoryview | None = None
    for (path, st, expected), memo in zip(items, memos, strict=True):
        if memo == expected:
            continue
        buffer = read_buffer() if buffer is None else buffer
        try:
            digest, count = _hash_file(path, buffer)
        except OSError:
            wrong.append(path)
            continue
        state.add_bytes_read(count)
        if digest == expected:
            confirmed.append((st, digest))
        else:
            wrong.append(path)
    if confirmed:
        state.record_many(confirmed, observed_ns=observed_ns)
    return wrong


def read_buffer(size: int = CHUNK) -> memoryview:
    """A page-aligned buffer to read into. The kernel copies into a malloc'ed (16-byte aligned)
    buffer at about half the speed here (see bench/README.md), and a fresh `bytes` per chunk
    costs an allocation each time."""
    return memoryview(mmap.mmap(-1, size))


def _hash_file(path: str, buffer: memoryview) -> tuple[str, int]:
    """Digest of a file's bytes and how many were read, through one reused buffer."""
    hasher = new_hasher()
    total = 0
    with open(path, "rb", buffering=0) as stream:
        while count := stream.readinto(buffer):
            hasher.update(buffer[:count])
            total += count
    return hasher.hexdigest(), total


def tree_digest(entries: tuple[FileDigest, ...]) -> str:
    """The digest of sorted entries, each length-prefixed so the byte stream parses one way only."""
    parts = [TREE_FORMAT]
    for entry in entries:
        name = os.fsencode(entry.relpath)  # the raw bytes on disk, whatever the locale
        digest = entry.digest.encode("ascii")
        head = _HEAD.pack(_KIND_TAG[entry.kind], len(name))
        meta = _META.pack(entry.mode, entry.size, len(digest))
        parts.append(b"".join((head, name, meta, digest)))
    hasher = new_hasher()
    hasher.update(b"".join(parts))
    return str(hasher.hexdigest())


class MemoFileDigest:
    """A per-file digest function backed by the stat memo, for callers that visit files one by
    one (the snapshot planner). New digests are memoised together by `flush()`."""

    def __init__(self, state: StateDB | None) -> None:
        self._state = state
        self._observed_ns = time.time_ns()
        self._fresh: list[tuple[os.stat_result, str]] = []
        self._buffer: memoryview | None = None

    def __call__(self, path: Path) -> str:
        st = path.stat()
        memo = self._state.lookup(st) if self._state is not None else None
        if memo is not None:
            return memo
        self._buffer = read_buffer() if self._buffer is None else self._buffer
        digest, count = _hash_file(str(path), self._buffer)
        if self._state is not None:
            self._state.add_bytes_read(count)
        self._fresh.append((st, digest))
        return digest

    def flush(self) -> None:
        if self._state is not None and self._fresh:
            self._state.record_many(self._fresh, observed_ns=self._observed_ns)
        self._fresh.clear()
