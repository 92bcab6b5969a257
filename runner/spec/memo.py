"""A memo of parsed YAML documents, by content, so that a command does not import and run a
YAML parser for a spec it has read before (importing PyYAML alone is 8-20 ms of a cache hit).

A parsed document (plain values and the position of every path) is kept as JSON under
`<cache>/parsed/`, named by a digest of the file's bytes and of the parser's own code: the same
bytes anywhere give the same document, any other bytes another name, so an entry is never
stale and is never checked against the file's stat. Only what JSON gives back exactly is kept
(string keys; strings, numbers, booleans, null, lists, mappings); errors are never kept, so a
document that fails to parse is judged afresh each time. The memo is best effort: an entry
that cannot be read or written, or is not what this code wrote, is simply parsed again.

Off until a command names its folder (`use`); `runner cache gc` empties it (`clear`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path

from runner.files import make_folder, modes_of, write_text_atomic

PathKey = tuple[str | int, ...]
Positions = dict[PathKey, tuple[int, int]]

FOLDER_NAME = "parsed"
FORMAT = 1
_LARGEST = 1 << 20  # larger documents are rare, and their JSON would be larger still

_folder: Path | None = None
_keeping = True
_parser_digest: str | None = None


def use(cache_root: Path | None, *, read_only: bool = False) -> None:
    """Keep and find parsed documents under `cache_root` from now on (None: not at all;
    `read_only`: find them only, for a cache used read-only)."""
    global _folder, _keeping
    _folder = None if cache_root is None else cache_root / FOLDER_NAME
    _keeping = not read_only


def recall(raw: bytes) -> tuple[object, Positions] | None:
    """The values and positions `raw` parsed to before; None when not kept."""
    entry = _entry(raw)
    if entry is None:
        return None
    try:
        kept = json.loads(entry.read_bytes())
        version, data, positions = kept
        if version != FORMAT:
            return None
        located = {tuple(key): (line, column) for key, line, column in positions}
    except (OSError, ValueError, TypeError):
        return None
    return data, located


def remember(raw: bytes, data: object, positions: Positions) -> None:
    """Keep what `raw` parsed to, when JSON gives it back exactly."""
    entry = _entry(raw) if _keeping else None
    if entry is None or not _exact(data) or not _exact_keys(positions):
        return
    listed = [[list(key), line, column] for key, (line, column) in positions.items()]
    text = json.dumps([FORMAT, data, listed], separators=(",", ":"))
    # No fsync (write_text_atomic makes none): a torn entry reads as invalid JSON, and is
    # parsed again.
    with contextlib.suppress(OSError):
        make_folder(entry.parent, parents=True)  # private, or shared as a shared cache is
        write_text_atomic(entry, text, modes_of(entry.parent).file)


def clear(cache_root: Path) -> int:
    """Remove every kept document under `cache_root` (each is parsed again once when next
    read); returns how many bytes that freed."""
    freed = 0
    with contextlib.suppress(OSError), os.scandir(cache_root / FOLDER_NAME) as found:
        for entry in found:
            with contextlib.suppress(OSError):
                size = entry.stat().st_size
                Path(entry.path).unlink()
                freed += size
    return freed


def _entry(raw: bytes) -> Path | None:
    if _folder is None or len(raw) > _LARGEST:
        return None
    from runner.hashing import hash_bytes

    return _folder / f"{hash_bytes(raw + _parser())}.json"


def _parser() -> bytes:
    """What the parsed form depends on besides the bytes: this package's parsing code (its
    files' sizes and times, so that an edited checkout never reads an older parser's entry)."""
    global _parser_digest
    if _parser_digest is None:
        here = Path(__file__).parent
        stats = []
        for entry in os.scandir(here):
            if entry.name.endswith(".py"):
                st = entry.stat()
                stats.append((entry.name, st.st_size, st.st_mtime_ns))
        _parser_digest = repr((FORMAT, sorted(stats)))
    return b"\0" + _parser_digest.encode()


def _exact(value: object) -> bool:
    """Whether JSON gives `value` back equal and of the same types."""
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_exact(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _exact(item) for key, item in value.items())
    return False


def _exact_keys(positions: Positions) -> bool:
    return all(
        isinstance(part, (str, int)) and not isinstance(part, bool)
        for key in positions
        for part in key
    )
