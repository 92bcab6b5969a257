"""Notes of a run on stderr: each once, and a note about the spec itself once per spec.

A `SpecNote` says the same on every run of a spec (an image a host run does not use): it is
shown the first time, then remembered by a marker file in the cache folder, so that a user who
runs the module a hundred times reads it once. `--json` results keep every note.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from runner.env.choose import SpecNote
from runner.files import make_folder, modes_of
from runner.hashing import hash_text

SHOWN = "notes-shown"


def print_notes(notes: Iterable[str], stderr: TextIO, cache_root: Path | None) -> None:
    """`cache_root` None: a cache used read-only, where nothing is remembered (every note is
    shown)."""
    for note in dict.fromkeys(notes):
        if isinstance(note, SpecNote) and cache_root is not None and _seen(cache_root, note):
            continue
        print(f"note: {note}", file=stderr)


def notes_cache(args: object) -> Path | None:
    """Where a command remembers the notes it showed: its cache folder, unless that is used
    read-only (`--cache-read-only`, RUNNER_CACHE_READ_ONLY)."""
    from runner.cache.location import default_cache_root, read_only_requested

    if getattr(args, "cache_read_only", False) or read_only_requested(os.environ):
        return None
    root: Path | None = getattr(args, "cache_dir", None)
    return root or default_cache_root(os.environ)


def _seen(cache_root: Path, note: SpecNote) -> bool:
    """Whether this note of this spec was shown before; marks it shown if not."""
    marker = cache_root / SHOWN / hash_text(f"{note.spec}\0{note}")
    try:
        make_folder(marker.parent, parents=True)
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, modes_of(marker.parent).file)
    except FileExistsError:
        return True
    except OSError:
        return False  # a read-only cache folder: better said twice than never
    os.close(fd)
    return False
