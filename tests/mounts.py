"""Real mounts for tests of storage trouble: a read-only bind mount of a folder, and a small
tmpfs that fills up. Both need root (CI runs as root); elsewhere the tests that use them skip,
except in CI, where a missing mount is a failure."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *argv], capture_output=True, text=True, check=False)


def _unmount(point: Path) -> None:
    # Lazy: a test that failed may have left a process holding a file open under it.
    subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI must be able to mount: {reason}")
    pytest.skip(f"needs mounts (root): {reason}")


@contextlib.contextmanager
def read_only_view(folder: Path, view: Path) -> Iterator[Path]:
    """`folder` bind-mounted read-only at `view` (made here): writes through `view` fail with
    EROFS whoever makes them, root included."""
    if os.geteuid() != 0:
        _unavailable("not running as root")
    view.mkdir(parents=True, exist_ok=True)
    done = _mount("--bind", str(folder), str(view))
    if done.returncode != 0:
        _unavailable(done.stderr.strip())
    try:
        done = _mount("-o", "remount,bind,ro", str(view))
        if done.returncode != 0:
            _unavailable(done.stderr.strip())
        yield view
    finally:
        _unmount(view)


@contextlib.contextmanager
def small_disk(point: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (e.g. "1m") mounted at `point` (made here)."""
    if os.geteuid() != 0:
        _unavailable("not running as root")
    point.mkdir(parents=True, exist_ok=True)
    done = _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point))
    if done.returncode != 0:
        _unavailable(done.stderr.strip())
    try:
        yield point
    finally:
        _unmount(point)
