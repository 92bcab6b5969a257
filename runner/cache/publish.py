"""The first half of publishing: digest what a step produced and move its contents into objects/.

Nothing here makes an entry visible; `runner.cache.store` does that last, by one rename.
Every object lands in objects/ complete (staged in the publisher's tmp folder first, then
linked in), so a crash at any moment leaves at worst objects that no entry references yet.

Plain str paths and os calls on purpose (hence the PTH exemptions): this runs once per file,
thousands of times per output, and a pathlib object per call costs as much as the syscall.
"""

# ruff: noqa: PTH101, PTH105, PTH112, PTH114, PTH115, PTH116, PTH118, PTH120

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Mapping
from pathlib import Path

from runner.cache.digest import FileDigest, digest_path, normalise_mode, record_produced
from runner.cache.location import Layout
from runner.cache.manifest import (
    OutputKind,
    OutputRecord,
    Stamp,
    content_digest,
    object_mode,
    object_name,
)
from runner.cache.objects import Placer
from runner.cache.state import StateDB
from runner.files import make_folder
from runner.hashing import hash_bytes
from runner.struct import Struct


class UnpublishableOutput(ValueError):
    """An output that cannot be cached: missing, of the wrong kind, holding a FIFO or device,
    or changed while it was being stored. The run itself is fine; it is just not cached."""


def reached(point: str) -> None:
    """A seam for the crash tests, which replace it to stop a publisher at a named point."""


class Source(Struct):
    """A file holding an object's content, and whether it may become the object by hardlink."""

    path: str
    st: os.stat_result
    linkable: bool


class Produced(Struct):
    record: OutputRecord
    sources: Mapping[str, Source]  # object name -> one file with that content


def survey(name: str, path: Path, kind: OutputKind, state: StateDB) -> Produced:
    """Digest one produced output (memoising it) and find where each of its objects comes from."""
    _check_kind(name, path, kind)
    tree = record_produced(path, state)
    odd = next((f.relpath for f in tree.files if f.kind == "special"), None)
    if odd is not None:
        where = path / odd if odd else path
        raise UnpublishableOutput(
            f"output {name!r} holds {where}, a FIFO, socket or device, which cannot be cached"
        )
    root = os.path.realpath(path)
    # A root that is itself a link leads somewhere we did not produce: never chmod it.
    outside = os.path.islink(path)
    if kind == "file":
        return Produced(
            OutputRecord(kind, tree.files, tree.digest),
            {object_name(tree.files[0]): _source(name, root, tree.files[0], outside=outside)},
        )
    sources, links = _walk_sources(name, root, tree.files, outside)
    return Produced(OutputRecord(kind, tree.files, tree.digest, links), sources)


def _check_kind(name: str, path: Path, kind: OutputKind) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise UnpublishableOutput(f"output {name!r} was not produced: {path} is missing") from None
    wanted = stat.S_ISREG if kind == "file" else stat.S_ISDIR
    if not wanted(st.st_mode):
        noun = "a file" if kind == "file" else "a folder"
        raise UnpublishableOutput(f"output {name!r} should be {noun}, and {path} is not")


def _walk_sources(
    name: str, root: str, files: tuple[FileDigest, ...], outside: bool
) -> tuple[dict[str, Source], dict[str, str]]:
    sources: dict[str, Source] = {}
    links: dict[str, str] = {}
    # Folders reached through a link (digest_path follows links leading out of the tree):
    # what lies below them belongs to somebody else and is never hardlinked.
    followed: set[str] = set()
    for entry in files:  # sorted, so a folder comes before what it holds
        full = os.path.join(root, entry.relpath)
        beyond = outside or posixpath.dirname(entry.relpath) in followed
        if entry.kind == "dir" and (beyond or os.path.islink(full)):
            followed.add(entry.relpath)
        elif entry.kind == "link":
            links[entry.relpath] = link_target(name, root, entry)
        elif entry.kind == "file" and object_name(entry) not in sources:
            sources[object_name(entry)] = _source(name, full, entry, outside=beyond)
    return sources, links


def _source(name: str, path: str, entry: FileDigest, *, outside: bool) -> Source:
    lst = os.lstat(path)
    st = os.stat(path) if stat.S_ISLNK(lst.st_mode) else lst
    if st.st_size != entry.size:
        raise _changed(name, path)
    # Hardlinking makes the file read-only (it becomes the object): only for files the step
    # made itself, that no other name shares, and that we may chmod.
    linkable = (
        not outside
        and not stat.S_ISLNK(lst.st_mode)
        and st.st_nlink == 1
        and os.geteuid() in (0, st.st_uid)
    )
    return Source(path, st, linkable)


def _changed(name: str, path: str) -> UnpublishableOutput:
    return UnpublishableOutput(f"output {name!r} changed while it was being cached ({path})")


def link_target(name: str, root: str, entry: FileDigest) -> str:
    """What to recreate a link as: the digest says which of digest_path's three cases it was,
    and each is rebuilt so the materialised tree digests the same way where it can."""
    path = os.path.join(root, entry.relpath)
    here = posixpath.dirname(entry.relpath) or "."
    real = os.path.realpath(path)
    if real == root or real.startswith(root + os.sep):
        inside = os.path.relpath(real, root).replace(os.sep, "/")
        if _link_digest("tree:" + inside) == entry.digest:
            return posixpath.relpath(inside, here)
    if os.path.islink(path) and _link_digest("dangling:" + os.readlink(path)) == entry.digest:
        return os.readlink(path)
    # A loop back to a folder above, through links leading out and in again: a relative link
    # to that folder (which digests as a plain inside link once materialised).
    identity = os.stat(path)
    ancestor = posixpath.dirname(entry.relpath)
    while True:
        candidate = os.stat(os.path.join(root, ancestor))
        if os.path.samestat(candidate, identity) and (
            _link_digest("cycle:" + ancestor) == entry.digest
        ):
            return posixpath.relpath(ancestor or ".", here)
        if not ancestor:
            raise _changed(name, path)
        ancestor = posixpath.dirname(ancestor)


def _link_digest(target: str) -> str:
    return hash_bytes(os.fsencode(target))


def store_objects(
    layout: Layout, state: StateDB, placer: Placer, txn: Path, sources: Mapping[str, Source]
) -> dict[str, Stamp]:
    """Make sure objects/ holds every object, sound; returns each one's stamp."""
    present = _present(layout, sources)
    sound = _sound(layout, state, present, sources)
    device = txn.stat().st_dev
    stamps: dict[str, Stamp] = {}
    for number, (name, source) in enumerate(sources.items()):
        final = layout.object_file(name)
        if name not in sound:
            staged = str(txn / f"object-{number}")
            _stage(placer, source, staged, object_mode(name, layout.modes), device)
            _install(layout, state, name, staged, final, replace=name in present)
            reached("object-stored")
        st = os.stat(final)
        if st.st_size != source.st.st_size:
            raise UnpublishableOutput(f"{source.path} changed while it was being cached")
        stamps[name] = Stamp(st.st_size, st.st_mtime_ns)
    return stamps


def _present(layout: Layout, sources: Mapping[str, Source]) -> dict[str, os.stat_result]:
    present: dict[str, os.stat_result] = {}
    for name in sources:
        try:
            present[name] = os.stat(layout.object_file(name))
        except FileNotFoundError:
            continue
    return present


def _sound(
    layout: Layout,
    state: StateDB,
    present: Mapping[str, os.stat_result],
    sources: Mapping[str, Source],
) -> set[str]:
    """Existing objects that really hold their content. An object may have been written through
    a hardlink since it was stored; reusing it unchecked would publish a wrong entry whose
    stamps look fine. The memo vouches for most; the rest are read once."""
    sound: set[str] = set()
    unknown: dict[str, os.stat_result] = {}
    for name, st in present.items():
        if os.path.samestat(st, sources[name].st):
            sound.add(name)  # the very file we just digested
        elif st.st_size == sources[name].st.st_size and _mode_fits(name, st):
            unknown[name] = st
    memos = state.lookup_many(list(unknown.values()))
    for (name, _st), memo in zip(unknown.items(), memos, strict=True):
        if memo == content_digest(name) or _reads_as(layout, state, name):
            sound.add(name)
    return sound


def _mode_fits(name: str, st: os.stat_result) -> bool:
    return normalise_mode(st.st_mode) == normalise_mode(object_mode(name))


def _reads_as(layout: Layout, state: StateDB, name: str) -> bool:
    try:
        files = digest_path(layout.object_path(name), state).files
    except OSError:
        return False
    return len(files) == 1 and files[0].digest == content_digest(name)


def _stage(placer: Placer, source: Source, staged: str, mode: int, device: int) -> None:
    method = placer.place(source.path, source.st, staged, mode, device, link=source.linkable)
    if method == "hardlink":
        os.chmod(staged, mode)  # the produced file too: it IS the object from now on


def _install(
    layout: Layout, state: StateDB, name: str, staged: str, final: str, *, replace: bool
) -> None:
    folder = os.path.dirname(final)
    if not os.path.isdir(folder):
        make_folder(Path(folder), layout.modes)
    if replace:
        os.replace(staged, final)  # a damaged object: its entries are damaged already
        return
    try:
        os.link(staged, final)
    except FileExistsError:
        # Another publisher stored the same content meanwhile; keep theirs if it is sound
        # (replacing it would break the stamps their entry is recording).
        if not _reads_as(layout, state, name):
            os.replace(staged, final)
