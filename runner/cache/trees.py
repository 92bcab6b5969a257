"""Re-checking an input that did not change, from its stats alone.

Re-checking a folder of 10,000 files file by file through the stat memo costs about as much as
hashing them again from the page cache (a lookup, an entry and framing per file). But if every
stat the walk finds (path, device, inode, size, mtime, ctime, executable bit, and the links,
folders and special files as the walk records them) is what it was when the tree was last
digested, so is every file's content: the memo vouches for each of those stats already. So the
walk's stats are digested together into a signature, and the tree memo maps a signature to the
tree's digest and file list. Only then is anything looked up: one query for the whole tree.

A tree with a file changed in the last moments (see `runner.cache.state.is_racy`) is never
memoised: it is re-checked file by file until it has settled, as files are.
"""

from __future__ import annotations

import marshal
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from runner.cache.digest import FileDigest, Walk, finish, walk
from runner.cache.state import StateDB, is_racy
from runner.hashing import new_hasher
from runner.struct import Struct

_FORMAT = b"runner-tree-signature/1"


class InputDigest(Struct):
    """A path's content digest and its files (relpath -> content digest, "" for a single
    file), with what had to be read to know them."""

    digest: str
    single_file: bool
    files: Mapping[str, str]
    bytes_read: int


def check_input(path: Path, state: StateDB | None) -> InputDigest:
    """The digest of a file or folder, from the tree memo when not one stat changed, else file
    by file through the stat memo (reading what it cannot vouch for). Raises OSError."""
    observed_ns = time.time_ns()
    found = walk(path)
    single = _single(found)
    signature = _signature(found) if state is not None and state.usable else None
    if state is not None and signature is not None:
        memo = state.lookup_tree(signature)
        if memo is not None:
            return InputDigest(memo[0], single, _Files(memo[1]), 0)
    tree = finish(found, state, observed_ns)
    files = {entry.relpath: entry.digest for entry in tree.files}
    if state is not None and signature is not None and _settled(found, observed_ns):
        state.record_tree(signature, tree.digest, marshal.dumps(files))
    return InputDigest(tree.digest, single, files, tree.bytes_read)


def _signature(found: Walk) -> str:
    """What the tree's digest depends on, short of reading: every stat as the walk saw it (the
    mode whole: a chmod is only a miss of this memo, never a wrong answer)."""
    items: list[tuple[object, ...]] = [
        (relpath, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode)
        for relpath, _, st in found.pending
    ]
    items += [_other(entry) for entry in found.entries]
    hasher = new_hasher()
    hasher.update(_FORMAT)
    # Version 2: no back-references, twice as fast as the default here, and a fixed format.
    hasher.update(marshal.dumps(items, 2))
    return str(hasher.hexdigest())


def _single(found: Walk) -> bool:
    """The path is one file (or one special file), not a folder."""
    if len(found.pending) + len(found.entries) != 1:
        return False
    relpath = found.pending[0][0] if found.pending else found.entries[0].relpath
    return relpath == ""


def _other(entry: FileDigest) -> tuple[object, ...]:
    return (entry.relpath, entry.kind, entry.digest)


def _settled(found: Walk, observed_ns: int) -> bool:
    return not any(is_racy(st, observed_ns) for _, _, st in found.pending)


class _Files(Mapping[str, str]):
    """A memoised file list, decoded only if someone asks (a hit needs only the digest)."""

    def __init__(self, blob: bytes) -> None:
        self._blob = blob
        self._files: dict[str, str] | None = None

    def _loaded(self) -> dict[str, str]:
        if self._files is None:
            try:
                loaded = marshal.loads(self._blob)
            except (ValueError, EOFError, TypeError):
                loaded = None
            # Only the file names are lost with a damaged list: `explain` names no files.
            self._files = loaded if isinstance(loaded, dict) else {}
        return self._files

    def __getitem__(self, relpath: str) -> str:
        return self._loaded()[relpath]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())
