"""Where the result cache lives, and the names of the paths inside it.

`runner.cache.store` documents what each path is for; this module only knows where it is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from runner.files import PRIVATE, Modes, make_folder, modes_of
from runner.struct import Struct

CACHE_DIR_VARIABLE = "RUNNER_CACHE_DIR"
# Set (to anything but "" or "0") to use the cache read-only, as --cache-read-only does.
READ_ONLY_VARIABLE = "RUNNER_CACHE_READ_ONLY"

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


def read_only_requested(environ: Mapping[str, str]) -> bool:
    return environ.get(READ_ONLY_VARIABLE, "") not in ("", "0")


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
    """The paths of a store rooted at `root`, and the permissions of what is made in it
    (`runner.files.Modes`: private unless the root is a shared, setgid folder)."""

    root: Path
    modes: Modes = PRIVATE

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

    def create(self, *, tagged: bool = True) -> Layout:
        """Make the store's folders; returns this layout with the root's modes. The root is
        made private unless its parent is shared (setgid): then it is shared alike."""
        make_folder(self.root, parents=True)
        layout = Layout(self.root, modes_of(self.root))
        for folder in (self.objects, self.entries, self.locks, self.tmp):
            make_folder(folder, layout.modes)
        if tagged and not self.tag.exists():
            _write_once(self.tag, TAG_TEXT, layout.modes.file)
        return layout

    def unwritable(self, name: str) -> str | None:
        """Why this store (called `name`) cannot be written (a read-only mount, folders of
        another user), or None when it can: checked when opening, before anything runs."""
        for folder in (self.root, self.objects, self.entries, self.locks, self.tmp):
            if not os.access(folder, os.W_OK):
                where = name if folder == self.root else f"{folder} in {name}"
                return f"{where} is not writable ({_why_not(folder)})"
        return None


def _why_not(folder: Path) -> str:
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "a read-only file system"
    except OSError:
        return "it cannot be reached"
    return "permission denied"


def _write_once(path: Path, text: str, mode: int) -> None:
    """Atomic, so a reader never sees half a tag; losing a race to another writer is fine."""
    partial = path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    with os.fdopen(fd, "w", encoding="ascii") as stream:
        os.fchmod(stream.fileno(), mode)
        stream.write(text)
    partial.replace(path)
