"""Placing an entry's outputs where a run wants them, undoing a partial placement on failure.

Plain str paths and os calls on purpose (hence the PTH exemptions): this runs once per file of
an output, thousands of times, and a pathlib object per call costs as much as the syscall.
"""

# ruff: noqa: PTH102, PTH106, PTH108, PTH112, PTH114, PTH116, PTH118, PTH211

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Mapping
from pathlib import Path

from runner.cache.digest import FileDigest
from runner.cache.location import Layout
from runner.cache.manifest import Entry, OutputRecord, object_name
from runner.cache.objects import Placer


class ObjectGone(Exception):
    """An object the entry needs is not in the store (the message is its name)."""


class Placement:
    """Places one entry's outputs; remembers what it made, to undo it or to memoise it."""

    def __init__(self, layout: Layout, placer: Placer) -> None:
        self.layout = layout
        self.placer = placer
        self.paths: list[str] = []  # everything created, in order
        self.files: list[tuple[str, str]] = []  # (path, content digest) of each placed file

    def place(self, entry: Entry, destinations: Mapping[str, Path]) -> None:
        """Raises ObjectGone, or OSError for trouble at the destination; undoes itself first."""
        try:
            for name, destination in destinations.items():
                record = entry.outputs[name]
                if record.kind == "file":
                    self._file(record.files[0], Path(destination))
                else:
                    self._tree(record, Path(destination))
        except BaseException:
            self.undo()
            raise

    def _file(self, file: FileDigest, destination: Path) -> None:
        destination.parent.mkdir(parents=True, exist_ok=True)
        if destination.is_dir() and not destination.is_symlink():
            raise IsADirectoryError(errno.EISDIR, "a file output's path is a folder", destination)
        destination.unlink(missing_ok=True)
        self._one(file, str(destination), destination.parent.stat().st_dev)

    def _tree(self, record: OutputRecord, destination: Path) -> None:
        if destination.exists():
            if any(destination.iterdir()):
                raise FileExistsError(errno.EEXIST, "output folder is not empty", destination)
        else:
            destination.mkdir(parents=True)
            self.paths.append(str(destination))
        root, device = str(destination), destination.stat().st_dev
        for file in record.files:  # sorted: a folder comes before what it holds
            path = os.path.join(root, file.relpath)
            if file.kind == "file":
                self._one(file, path, device)
                continue
            if file.kind == "dir":
                os.mkdir(path)
            else:
                os.symlink(record.links[file.relpath], path)
            self.paths.append(path)

    def _one(self, file: FileDigest, path: str, device: int) -> None:
        name = object_name(file)
        source = self.layout.object_file(name)
        try:
            source_st = os.stat(source)
        except FileNotFoundError:
            raise ObjectGone(name) from None
        # A hardlink shares the object's read-only mode; a reflink or copy gets the file's own.
        self.placer.place(source, source_st, path, file.mode, device, link=True)
        self.paths.append(path)
        self.files.append((path, file.digest))

    def undo(self) -> None:
        for path in reversed(self.paths):
            with contextlib.suppress(OSError):
                if os.path.isdir(path) and not os.path.islink(path):
                    os.rmdir(path)
                else:
                    os.unlink(path)
        self.paths.clear()
        self.files.clear()
