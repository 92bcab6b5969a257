"""The code snapshot: the folder a module runs in, planned (with a content digest) then written.

What goes in (spec section 4, and the choices it leaves open):

- Base: `CodeSpec.base`. A folder puts its content at the snapshot root; a single file puts just
  that file there, under its basename. The folder holding a single file is not part of the
  snapshot, so its ignore file applies to nothing (included folders still honour their own).
- Additional includes go to the snapshot root under the basename of the path as written
  (`../src/lib1` -> `lib1`, `../assets/LICENSE` -> `LICENSE`); a path ending in `..` or `.` takes
  the resolved folder's name (`../../../`). An include that is itself a symlink is resolved (the
  user named it) but keeps the name written.
- `.zip` rule: `x/lib2.zip` copies that file when it exists, else zips the folder `x/lib2` into
  `lib2.zip` with the top folder `lib2/` inside, else is an error.
- Errors: absolute path, missing path, filesystem root, and a destination that already exists in
  the base folder or that two includes share. A base-folder symlink that resolves to the very
  path an include names is the local stand-in for that include, so the include replaces it.
- Ignore files: see `runner.snapshot.ignore`. An include that the base folder's ignore file
  excludes by its name is left out (as AzureML does), with a warning because the user named it.
- Symlinks: one whose final target is kept in the snapshot and lies in the same source tree
  (the base folder, or one included folder) stays a symlink, rewritten relative so the
  snapshot can move. Any other one (pointing outside, dangling, or at an ignored path or an
  empty folder) is skipped with a warning: content is never pulled in from outside the tree.
  Inside a zipped folder, a symlink to a kept file is stored as a copy of that file (zip
  archives carry no portable symlinks); symlinked folders are skipped with a warning.
- Empty folders are not part of a snapshot (as in git).

The digest depends only on what the module sees: relative paths, kind, normalised mode, link
targets and file bytes; never mtimes, owners or absolute paths. It is xxh3-128 over a header
then one record per entry in path order; a record is four fields (kind, path, octal mode,
payload), each prefixed by its length as 8 big-endian bytes, so no two different entry lists
frame to the same bytes. The payload is the file's content digest, the link target, or, for a
zip built here, the digest of its members framed the same way: the digest covers the archive's
content, not its compressed bytes (which depend on the zlib version).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from runner.errors import SnapshotError
from runner.files import is_runner_folder
from runner.hashing import hash_file, new_hasher
from runner.snapshot.ignore import IGNORE_FILE_NAMES, IgnoreRules, always_skipped
from runner.snapshot.includes import Source, check_destinations, resolve_include
from runner.snapshot.model import (
    EXEC_MODE,
    FILE_MODE,
    SnapshotEntry,
    SnapshotPlan,
    ancestors,
    parent_of,
    readlink,
    reason,
)
from runner.spec.model import CodeSpec
from runner.struct import Struct

FileDigest = Callable[[Path], str]

_DIGEST_HEADER = b"runner-snapshot/1"
_ZIP_DIGEST_HEADER = b"runner-snapshot-zip/1"


# ---- planning -----------------------------------------------------------------------------


class _Tree(Struct):
    """A source folder placed in the snapshot (or in an archive) under `prefix`."""

    root: Path  # real path: every walked path below it is real too
    prefix: str  # '' for the base folder, 'lib1/' for an include, 'lib2/' inside lib2.zip
    owner: str  # who put it there, to start messages with


class _Found(Struct):
    relpath: str
    path: Path
    mode: int


class _Placed(Struct):
    """An entry and the bytes its content contributes to the digest."""

    entry: SnapshotEntry
    payload: bytes


def plan_snapshot(code: CodeSpec, *, file_digest: FileDigest = hash_file) -> SnapshotPlan:
    """Everything the snapshot of `code` holds, and its digest. Reads every file once.

    `file_digest` lets a caller with a digest memo (keyed on stat) skip re-reading files.
    """
    warnings: list[str] = []
    sources = [resolve_include(code, include, warnings) for include in code.includes]
    replaced = check_destinations(code, sources)
    placed, rules = _plan_base(code, replaced, warnings, file_digest)
    for source in sources:
        placed += _plan_include(source, rules, warnings, file_digest)
    placed.sort(key=lambda item: item.entry.relpath)
    return SnapshotPlan(
        entries=tuple(item.entry for item in placed),
        digest=_digest(_DIGEST_HEADER, placed),
        warnings=tuple(warnings),
    )


def _plan_base(
    code: CodeSpec, replaced: frozenset[str], warnings: list[str], file_digest: FileDigest
) -> tuple[list[_Placed], IgnoreRules]:
    """The base's entries, and the ignore rules its root sets for everything else."""
    real = _real_base(code)
    if code.is_single_file:
        owner = f"code file {code.base}"
        found = _Found(code.base.name, real, _mode(_stat(real, owner).st_mode))
        return [_place_file(found, owner, file_digest)], IgnoreRules()
    rules = IgnoreRules().entering(real, "", IGNORE_FILE_NAMES)
    tree = _Tree(real, "", f"code folder {real}")
    return _plan_tree(tree, IgnoreRules(), warnings, file_digest, skip=replaced), rules


def _real_base(code: CodeSpec) -> Path:
    real = code.base.resolve()
    wanted = "file" if code.is_single_file else "folder"
    if real.is_file() if code.is_single_file else real.is_dir():
        return real
    raise SnapshotError(
        f"code {wanted} {code.base} does not exist",
        hint=f"the spec's code path is relative to the spec's folder {code.spec_dir}",
    )


def _plan_include(
    source: Source, rules: IgnoreRules, warnings: list[str], file_digest: FileDigest
) -> list[_Placed]:
    excluded_by = rules.ignored_by(source.name, is_dir=source.how == "folder")
    if excluded_by is not None:
        warnings.append(f"{source.owner} is left out of the snapshot: {excluded_by} ignores it")
        return []
    if source.how == "file":
        found = _Found(source.name, source.path, _mode(_stat(source.path, source.owner).st_mode))
        return [_place_file(found, source.owner, file_digest)]
    if source.how == "folder":
        tree = _Tree(source.path, source.name + "/", source.owner)
        return _plan_tree(tree, rules, warnings, file_digest)
    return [_plan_zip(source, rules, warnings, file_digest)]


def _plan_tree(
    tree: _Tree,
    rules: IgnoreRules,
    warnings: list[str],
    file_digest: FileDigest,
    skip: frozenset[str] = frozenset(),
) -> list[_Placed]:
    files, links = _walk(tree, rules, warnings, skip)
    placed = [_place_file(found, tree.owner, file_digest) for found in files]
    kept_files = {found.relpath for found in files}
    kept_dirs = ancestors(kept_files)
    for link in links:
        target = _link_destination(tree, link, kept_files | kept_dirs, warnings)
        if target is not None:
            text = _relative(target, parent_of(link.relpath))
            entry = SnapshotEntry(
                link.relpath, None, FILE_MODE, "symlink", link_target=text, content=text
            )
            placed.append(_Placed(entry, os.fsencode(text)))
    return placed


def _plan_zip(
    source: Source, rules: IgnoreRules, warnings: list[str], file_digest: FileDigest
) -> _Placed:
    top = source.name.removesuffix(".zip")
    tree = _Tree(source.path, top + "/", f"{source.owner} (zipped from {source.path})")
    files, links = _walk(tree, rules, warnings, frozenset())
    kept_files = {found.relpath: found for found in files}
    for link in links:
        if Path(os.path.realpath(link.path)).is_dir():
            _warn_link(tree, link, "symlinked folders are not followed into a zip", warnings)
            continue
        target = _link_destination(tree, link, set(kept_files), warnings)
        if target is not None:
            # Archives carry no portable symlinks: store the (inside) target's bytes instead.
            kept = kept_files[target]
            files.append(_Found(link.relpath, kept.path, kept.mode))
    members = sorted(
        (_place_file(found, tree.owner, file_digest) for found in files),
        key=lambda item: item.entry.relpath,
    )
    members_digest = _digest(_ZIP_DIGEST_HEADER, members)
    entry = SnapshotEntry(
        source.name,
        None,
        FILE_MODE,
        "zip",
        zip_source=source.path,
        members=tuple(item.entry for item in members),
        content=members_digest,
    )
    return _Placed(entry, members_digest.encode("ascii"))


def _walk(
    tree: _Tree, rules: IgnoreRules, warnings: list[str], skip: frozenset[str]
) -> tuple[list[_Found], list[_Found]]:
    """The regular files and the symlinks of a tree that no ignore rule excludes."""
    files: list[_Found] = []
    links: list[_Found] = []
    pending = [(tree.root, tree.prefix, rules)]
    while pending:
        folder, prefix, outer = pending.pop()
        children = _list(folder, tree.owner)
        inner = outer.entering(folder, prefix, [child.name for child in children])
        for child in children:
            if folder == tree.root and child.name in skip:
                continue
            is_dir = child.is_dir(follow_symlinks=False)
            relpath = prefix + child.name
            if always_skipped(child.name, is_dir=is_dir) or inner.ignored_by(
                relpath, is_dir=is_dir
            ):
                continue
            path = Path(child.path)
            if is_dir and is_runner_folder(path):
                continue  # runner's own runs or cache: never code, and changed by every run
            if is_dir:
                pending.append((path, relpath + "/", inner))
            elif child.is_symlink():
                links.append(_Found(relpath, path, FILE_MODE))
            elif child.is_file(follow_symlinks=False):
                mode = _mode(child.stat(follow_symlinks=False).st_mode)
                files.append(_Found(relpath, path, mode))
            else:
                warnings.append(f"{tree.owner}: skipped {path}: not a file, folder or symlink")
    return files, links


def _list(folder: Path, owner: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError as exc:
        raise SnapshotError(
            f"{owner}: cannot list folder {folder}: {reason(exc)}",
            hint="make it readable, or keep it out of the snapshot with an .amlignore pattern",
        ) from None


def _link_destination(tree: _Tree, link: _Found, kept: set[str], warnings: list[str]) -> str | None:
    """Where a symlink's final target sits in the snapshot, or None (warned) to skip it."""
    target = Path(os.path.realpath(link.path))
    if not target.exists():
        reason = "its target does not exist"
    elif target != tree.root and tree.root not in target.parents:
        reason = f"it points outside {tree.root}"
    else:
        inner = target.relative_to(tree.root).as_posix()
        destination = tree.prefix.rstrip("/") if inner == "." else tree.prefix + inner
        if destination in kept:
            return destination
        reason = "its target is not in the snapshot (ignored, or a folder with nothing kept)"
    _warn_link(tree, link, reason, warnings)
    return None


def _warn_link(tree: _Tree, link: _Found, reason: str, warnings: list[str]) -> None:
    shown = f"'{link.relpath}' (-> {readlink(link.path)})"
    warnings.append(f"{tree.owner}: skipped symlink {shown}: {reason}")


def _place_file(found: _Found, owner: str, file_digest: FileDigest) -> _Placed:
    try:
        digest = file_digest(found.path)
    except OSError as exc:
        raise SnapshotError(
            f"{owner}: cannot read {found.path}: {reason(exc)}",
            hint="make it readable, or keep it out of the snapshot with an .amlignore pattern",
        ) from None
    entry = SnapshotEntry(found.relpath, found.path, found.mode, "file", content=digest)
    return _Placed(entry, digest.encode("ascii"))


# ---- digest -------------------------------------------------------------------------------


def _frame(*fields: bytes) -> bytes:
    return b"".join(len(field).to_bytes(8, "big") + field for field in fields)


def _digest(header: bytes, placed: Iterable[_Placed]) -> str:
    hasher = new_hasher()
    hasher.update(_frame(header))
    for item in placed:
        entry = item.entry
        mode = b"%o" % entry.mode
        hasher.update(_frame(entry.kind.encode(), os.fsencode(entry.relpath), mode, item.payload))
    return hasher.hexdigest()


# ---- small helpers ------------------------------------------------------------------------


def _mode(st_mode: int) -> int:
    return EXEC_MODE if st_mode & 0o111 else FILE_MODE


def _stat(path: Path, owner: str) -> os.stat_result:
    try:
        return path.stat()
    except OSError as exc:
        raise SnapshotError(f"{owner}: cannot read {path}: {reason(exc)}", None) from None


def _relative(target: str, start: str) -> str:
    """`target` relative to folder `start`, both snapshot paths (no filesystem involved)."""
    target_parts = target.split("/") if target else []
    start_parts = start.split("/") if start else []
    common = 0
    for mine, theirs in zip(target_parts, start_parts, strict=False):
        if mine != theirs:
            break
        common += 1
    parts = [".."] * (len(start_parts) - common) + target_parts[common:]
    return "/".join(parts) or "."
