"""Files runner writes for itself: atomic replacement, and the marker of runner's own folders."""

from __future__ import annotations

import json
import os
from pathlib import Path

# Marks a folder holding run folders, so a code snapshot never takes it in (a runs folder
# inside a module's own folder would otherwise change its snapshot on every run).
RUNS_MARKER = ".runner-runs"


def is_runner_folder(path: Path) -> bool:
    """A folder runner made for its own use: a runs folder, a run folder, or a cache."""
    return (
        (path / RUNS_MARKER).exists()
        or (path / "CACHEDIR.TAG").is_file()
        or ((path / ".runner").is_dir() and (path / "run.json").is_file())
    )


def write_json_atomic(path: Path, data: object) -> None:
    """Readers see the old file or the new one, never a half-written one."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never a half-written one."""
    # Not tempfile.mkstemp: importing tempfile (and random with it) costs every run ~1.5 ms.
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        # A file runner writes is as readable as any the user makes, whatever the umask.
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
