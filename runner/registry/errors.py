"""Registry failures and their exit codes: 2 for what the user can fix by asking differently
(unknown names, conflicts, bad sources, a registry folder that is not writable), 1 for a full
disk. Storage errors are mapped here, in one place."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from runner.errors import EXIT_MODULE_FAILED, RunnerError

_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
_READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
_HINT_WRITABLE = "give a writable folder with --registry DIR or RUNNER_REGISTRY"
_HINT_FULL = "free some space (or give another folder with --registry DIR) and try again"


class RegistryError(RunnerError):
    """A registry operation refused; nothing in the catalogue was changed."""


class RegistryDiskFull(RegistryError):
    """The disk holding the registry is full; nothing in the catalogue was changed."""

    exit_code = EXIT_MODULE_FAILED


def storage_error(exc: OSError | sqlite3.Error, root: Path, doing: str) -> RegistryError:
    """The user's words for a failure writing the registry at `root` while `doing` something."""
    if isinstance(exc, OSError):
        if exc.errno in _FULL:
            return RegistryDiskFull(f"{doing}: the disk holding {root} is full", _HINT_FULL)
        if exc.errno in _READ_ONLY:
            reason = exc.strerror or str(exc)
            return RegistryError(
                f"{doing}: the registry folder {root} is not writable ({reason})", _HINT_WRITABLE
            )
        where = f" ({exc.filename})" if exc.filename else ""
        return RegistryError(f"{doing}: {exc.strerror or exc}{where}")
    text = str(exc)
    lowered = text.lower()
    if "disk is full" in lowered:
        return RegistryDiskFull(f"{doing}: the disk holding {root} is full", _HINT_FULL)
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        return RegistryError(
            f"{doing}: the registry catalogue in {root} is not writable ({text})", _HINT_WRITABLE
        )
    return RegistryError(f"{doing}: the registry catalogue in {root} failed: {text}")
