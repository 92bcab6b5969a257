"""Where the result cache lives, and the names of the paths inside it.

`runner.cache.store` documents what each path is for; this module only knows where it is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from runner.struct import Struct

CACHE_DIR_VARIABLE = "RUNNER_CACHE_DIR"

TAG_NAME = "CACHEDIR.TAG"
# https://bford.info/cachedir/: backup and sync tools skip a folder holding this exact first line.
TAG_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by runner (its result cache).\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)

# Keys are made elsewhere; to the store they are opaque, but they become file names, so only a
# plain lowercase hex string of a sane length is accepted.
_KEY = re.compile(r"[0-9a-f]{16,128}")


def default_cache_root(environ: Mapping[str, str]) -> Path:
    """$RUNNER_CACHE_DIR, else $XDG_CACHE_HOME/runner (when absolute, as the spec demands), else
    ~/.cache/runner."""
    configured = environ.get(CACHE_DIR_VARIABLE)
    if configured:
        return Path(_expand_home(configured, environ)).absolute()
    xdg = environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "runner"
    return _home(environ) / ".cache" / "runner"


def _home(environ: Mapping[str, str]) -> Path:
    home = environ.get("HOME")
    return Path(home) if home else Path.home()


def _expand_home(value: str, environ: Mapping[str, str]) -> str:
    # Path.expanduser would read os.environ, not the mapping we were given.
    if value == "~" or value.startswith("~/"):
        return str(_home(environ)) + value[1:]
    return value


def is_key(key: str) -> bool:
    return _KEY.fullmatch(key) is not None


def check_key(key: str) -> str:
    if not is_key(key):
        raise ValueError(f"invalid cache key {key!r}: expected 16 to 128 lowercase hex digits")
    return key


class Layout(Struct):
    """The paths of a store rooted at `root`; creating them is the store's job."""

    root: Path

    @property
    def tag(self) -> Path:
        return self.root / TAG_NAME

    @property
    def state_db(self) -> Path:
        return self.root / "state.db"

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def entries(self) -> Path:
        return self.root / "entries"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def sweep_lock(self) -> Path:
        """Shared by publishers while they add objects, exclusive for gc while it deletes them."""
        return self.locks / "sweep.lock"

    def object_path(self, name: str) -> Path:
        return self.objects / name[:2] / name

    def object_file(self, name: str) -> str:
        """`object_path` as a str, for loops over thousands of objects (no pathlib cost)."""
        sep = os.sep
        return f"{self.root}{sep}objects{sep}{name[:2]}{sep}{name}"

    def entry_dir(self, key: str) -> Path:
        return self.entries / key

    def manifest(self, key: str) -> Path:
        return self.entries / key / "manifest.json"

    def key_lock(self, key: str) -> Path:
        return self.locks / f"{key}.lock"

    def scratch(self, purpose: str) -> Path:
        """A fresh name under tmp/ (not created): unique across processes and hosts."""
        return self.tmp / f"{purpose}-{os.getpid()}-{os.urandom(8).hex()}"

    def create(self, *, tagged: bool = True) -> None:
        for folder in (self.objects, self.entries, self.locks, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        if tagged and not self.tag.exists():
            _write_once(self.tag, TAG_TEXT)


def _write_once(path: Path, text: str) -> None:
    """Atomic, so a reader never sees half a tag; losing a race to another writer is fine."""
    partial = path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}")
    partial.write_text(text, encoding="ascii")
    partial.replace(path)
