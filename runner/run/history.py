"""The key parts of each module's last run, so `explain` can say what changed since then."""

from __future__ import annotations

import json
import time
from pathlib import Path

from runner.files import write_json_atomic
from runner.hashing import hash_text
from runner.run.key import KeyParts
from runner.spec.model import ModuleSpec
from runner.struct import Struct


class LastRun(Struct):
    key: str
    parts: KeyParts
    status: str
    at: float


def _path(cache_root: Path, spec: ModuleSpec) -> Path:
    # One module = one spec file: the same file edited is the same module.
    return cache_root / "history" / f"{hash_text(str(spec.source))}.json"


def record_last_run(cache_root: Path, spec: ModuleSpec, parts: KeyParts, status: str) -> None:
    path = _path(cache_root, spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(
        path,
        {
            "spec": str(spec.source),
            "key": parts.key,
            "status": status,
            "at": time.time(),
            "parts": parts.to_json(),
        },
    )


def last_run(cache_root: Path, spec: ModuleSpec) -> LastRun | None:
    """The last recorded run, or None when there is none or it cannot be read."""
    try:
        data = json.loads(_path(cache_root, spec).read_text(encoding="utf-8"))
        return LastRun(
            key=str(data["key"]),
            parts=KeyParts.from_json(data["parts"]),
            status=str(data["status"]),
            at=float(data["at"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
