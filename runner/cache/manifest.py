"""A cache entry as data, and its manifest file, which is read back without trusting it.

The file is one JSON object, `{"digest":"<hex>","body":<body>}`, where `<body>` is the canonical
JSON of the entry (sorted keys, no spaces, ASCII only) and the digest is that of its exact bytes.
The digest is checked on the raw bytes before parsing, so no re-serialisation is involved, and a
truncated or edited manifest is told apart from a sound one. The body is then validated field by
field: nothing in it may name a path outside the destination or an object outside the store.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from typing import Any, Literal

from runner.cache.digest import EXECUTABLE, REGULAR, FileDigest
from runner.files import PRIVATE, Modes
from runner.hashing import hash_bytes
from runner.struct import Struct, field

FORMAT = "runner-cache-entry/1"
# An entry meta key: `"keep": true` and gc never drops the entry for its age or the store's
# size (the module registry's snapshots).
KEEP = "keep"
OutputKind = Literal["file", "dir"]

EXECUTABLE_SUFFIX = ".x"
_DIGEST = re.compile(r"[0-9a-f]{16,128}")
_OBJECT_NAME = re.compile(r"[0-9a-f]{16,128}(?:\.x)?")
_KINDS: frozenset[str] = frozenset(("file", "dir", "link"))
# An empty, "." or ".." component, an absolute path or a NUL: could land outside the destination.
_UNSAFE = re.compile(r"(?:^|/)\.{0,2}(?:/|$)|\x00")

_HEAD = b'{"digest":"'
_SEPARATOR = b'","body":'
_TAIL = b"}\n"


class OutputRecord(Struct):
    """One declared output of a module.

    `files`: for a "file" output its single entry (relpath ""); for a "dir" output every entry
    below it (files, dirs, links). `links`: relpath -> the target to recreate, for each link.
    """

    kind: OutputKind
    files: tuple[FileDigest, ...]
    digest: str
    links: Mapping[str, str] = field(default_factory=dict)


class Entry(Struct):
    """One committed cache entry. `size` counts each of its objects once; `last_used` is when it
    was last published or served (not part of equality: it moves on every hit)."""

    key: str
    outputs: Mapping[str, OutputRecord]  # output ORIGINAL name -> record
    parts: Mapping[str, object]  # the key's parts, for `explain`; opaque here
    meta: Mapping[str, object]  # module identity, duration, ...; opaque here
    created_at: float
    size: int
    last_used: float = field(default=0.0, compare=False)


class Stamp(Struct):
    """An object's size and mtime when the entry was published. A write through any hardlink to
    the object moves its mtime, so a mismatch means it was modified in place."""

    size: int
    mtime_ns: int


class Manifest(Struct):
    entry: Entry
    objects: Mapping[str, Stamp]  # object name -> stamp


class ManifestError(Exception):
    """A manifest that cannot be trusted; the message says why, for the user."""


def object_name(file: FileDigest) -> str:
    """Objects are named by content and executable bit: the bit lives in the (shared) inode."""
    return file.digest + (EXECUTABLE_SUFFIX if file.mode == EXECUTABLE else "")


def is_object_name(name: str) -> bool:
    return _OBJECT_NAME.fullmatch(name) is not None


def object_mode(name: str, modes: Modes = PRIVATE) -> int:
    """Objects are read-only for whoever may read the store's files (0400 in a private store,
    0440 in one shared with a group); executables keep x bits so that a hardlink to one runs."""
    return modes.readable(executable=name.endswith(EXECUTABLE_SUFFIX))


def content_digest(name: str) -> str:
    return name.removesuffix(EXECUTABLE_SUFFIX)


def canonical(value: object) -> bytes:
    """Raises TypeError/ValueError for anything JSON cannot hold exactly (NaN included)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return text.encode("ascii")


def encode(manifest: Manifest) -> bytes:
    body = canonical(_body(manifest))
    return _HEAD + hash_bytes(body).encode("ascii") + _SEPARATOR + body + _TAIL


def _body(manifest: Manifest) -> dict[str, object]:
    entry = manifest.entry
    return {
        "format": FORMAT,
        "key": entry.key,
        "created_at": entry.created_at,
        "objects": {name: [s.size, s.mtime_ns] for name, s in manifest.objects.items()},
        "outputs": {name: _output_body(record) for name, record in entry.outputs.items()},
        "parts": entry.parts,
        "meta": entry.meta,
    }


def _output_body(record: OutputRecord) -> dict[str, object]:
    files: list[dict[str, object]] = []
    for f in record.files:
        item: dict[str, object] = {"path": f.relpath, "kind": f.kind}
        if f.kind == "file":
            item |= {"size": f.size, "mode": f.mode, "digest": f.digest}
        elif f.kind == "link":
            item |= {"digest": f.digest, "target": record.links[f.relpath]}
        files.append(item)
    return {"kind": record.kind, "digest": record.digest, "files": files}


def decode(data: bytes, key: str, last_used: float = 0.0) -> Manifest:
    """Parse and validate a manifest read from disk; raises ManifestError."""
    if not data:
        raise ManifestError("manifest is empty")
    if not data.startswith(_HEAD) or not data.endswith(_TAIL):
        raise ManifestError("manifest is truncated")
    separator = data.find(_SEPARATOR, len(_HEAD))
    body = data[separator + len(_SEPARATOR) : -len(_TAIL)]
    if separator < 0 or data[len(_HEAD) : separator] != hash_bytes(body).encode("ascii"):
        raise ManifestError("manifest does not match its own digest (truncated or edited)")
    try:
        return _parse(json.loads(body), key, last_used)
    except ManifestError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ManifestError(f"manifest is malformed ({type(exc).__name__}: {exc})") from None


def _parse(raw: Any, key: str, last_used: float) -> Manifest:
    if raw["format"] != FORMAT:
        raise ManifestError(f"manifest format {raw['format']!r} is not {FORMAT!r}")
    if raw["key"] != key:
        raise ManifestError(f"manifest is for key {raw['key']!r}")
    objects = {_object(name): Stamp(_int(s[0]), _int(s[1])) for name, s in raw["objects"].items()}
    outputs = {_str(name): _output(body) for name, body in raw["outputs"].items()}
    used = {object_name(f) for r in outputs.values() for f in r.files if f.kind == "file"}
    if used != set(objects):
        raise ManifestError("manifest's object list does not match its files")
    created_at = float(raw["created_at"])
    entry = Entry(
        key=key,
        outputs=outputs,
        parts=_mapping(raw["parts"]),
        meta=_mapping(raw["meta"]),
        created_at=created_at,
        size=sum(stamp.size for stamp in objects.values()),
        last_used=last_used or created_at,
    )
    return Manifest(entry, objects)


def _output(body: Any) -> OutputRecord:
    kind = body["kind"]
    if kind not in ("file", "dir"):
        raise ValueError(f"unknown output kind {kind!r}")
    files: list[FileDigest] = []
    links: dict[str, str] = {}
    for item in body["files"]:
        entry = _file(item)
        if entry.kind == "link":
            links[entry.relpath] = _str(item["target"])
        files.append(entry)
    _check_paths(kind, files, links)
    return OutputRecord(kind, tuple(files), _str(body["digest"]), links)


def _file(item: Any) -> FileDigest:
    relpath, kind = _str(item["path"]), _str(item["kind"])
    if kind not in _KINDS:
        raise ValueError(f"unknown entry kind {kind!r}")
    if kind == "dir":
        return FileDigest(relpath, 0, 0, "", "dir")
    digest = _str(item["digest"])
    if _DIGEST.fullmatch(digest) is None:
        raise ValueError(f"bad digest {digest!r}")
    if kind == "link":
        return FileDigest(relpath, 0, 0, digest, "link")
    mode = _int(item["mode"])
    if mode not in (EXECUTABLE, REGULAR):
        raise ValueError(f"bad mode {mode:o}")
    return FileDigest(relpath, _int(item["size"]), mode, digest)


def _check_paths(kind: str, files: list[FileDigest], links: Mapping[str, str]) -> None:
    """Materialising must stay inside its destination: no absolute or `..` paths, nothing below
    a link, and a file output is exactly one file."""
    if kind == "file":
        if len(files) != 1 or files[0].relpath != "" or files[0].kind != "file":
            raise ValueError("a file output must hold exactly one file")
        return
    for f in files:
        if _UNSAFE.search(f.relpath):
            raise ValueError(f"unsafe path {f.relpath!r}")
    for f in files if links else ():
        parent = posixpath.dirname(f.relpath)
        while parent:
            if parent in links:
                raise ValueError(f"path {f.relpath!r} lies below a link")
            parent = posixpath.dirname(parent)


def _object(name: Any) -> str:
    if not isinstance(name, str) or not is_object_name(name):
        raise ValueError(f"bad object name {name!r}")
    return name


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"expected a count, got {value!r}")
    return value


def _mapping(value: Any) -> dict[str, object]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {value!r}")
    return value
