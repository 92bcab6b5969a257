"""What a module run returns: its status and result."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from pathlib import Path

from runner.struct import Struct, field


class Status(str, enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CACHED = "cached"

    def __str__(self) -> str:
        return str(self.value)


class RunResult(Struct):
    status: Status
    exit_code: int | None
    outputs: Mapping[str, Path]  # python name -> absolute path
    workdir: Path
    log: Path
    message: str = ""  # why it failed, in one line
    duration: float = 0.0
    cached: bool = False
    cache_key: str | None = None
    argv: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = ()  # things the user should know, e.g. a damaged cache entry ignored
    error_at: str | None = None  # a failure's traceback: FILE:LINE in the user's sources
    missing_outputs: tuple[str, ...] = ()  # python names of outputs the module did not write

    @property
    def ok(self) -> bool:
        return self.status in (Status.SUCCEEDED, Status.CACHED)

    def to_json(self) -> dict[str, object]:
        return {
            "status": self.status.value,
            "exit_code": self.exit_code,
            "cached": self.cached,
            "cache_key": self.cache_key,
            "outputs": {name: str(path) for name, path in self.outputs.items()},
            "workdir": str(self.workdir),
            "log": str(self.log),
            "message": self.message,
            "duration": round(self.duration, 3),
            "notes": list(self.notes),
            "error_at": self.error_at,
            "missing_outputs": list(self.missing_outputs),
        }
