"""What happened to each step of a pipeline run, and its record (`pipeline.json`)."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from pathlib import Path

from runner.clock import iso, parse_iso
from runner.errors import RunnerError
from runner.files import write_json_atomic
from runner.struct import Struct, field


class StepState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    CACHED = "cached"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABORTED = "aborted"  # an upstream step failed
    SKIPPED = "skipped"  # not selected (--until), or not started after a failure
    INTERRUPTED = "interrupted"

    @property
    def done(self) -> bool:
        return self not in (StepState.QUEUED, StepState.RUNNING)

    @property
    def ok(self) -> bool:
        return self in (StepState.CACHED, StepState.SUCCEEDED)


class StepResult(Struct):
    name: str
    state: StepState
    cached: bool = False
    outputs: Mapping[str, str] = field(default_factory=dict)  # python name -> path
    workdir: str | None = None
    log: str | None = None
    duration: float = 0.0
    message: str = ""
    cache_key: str | None = None
    started_at: float | None = None  # time.time(), for the live display and overlap checks
    ended_at: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "status": self.state.value,
            "cached": self.cached,
            "outputs": dict(self.outputs),
            "workdir": self.workdir,
            "log": self.log,
            "duration": round(self.duration, 3),
            "message": self.message,
            "cache_key": self.cache_key,
            "started_at": None if self.started_at is None else iso(self.started_at),
            "ended_at": None if self.ended_at is None else iso(self.ended_at),
        }

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, object]) -> StepResult:
        outputs = data.get("outputs") or {}
        assert isinstance(outputs, dict)
        return cls(
            name=name,
            state=StepState(str(data["status"])),
            cached=bool(data.get("cached")),
            outputs={str(k): str(v) for k, v in outputs.items()},
            workdir=_opt_str(data.get("workdir")),
            log=_opt_str(data.get("log")),
            duration=float(str(data.get("duration") or 0)),
            message=str(data.get("message") or ""),
            cache_key=_opt_str(data.get("cache_key")),
            started_at=_opt_moment(data.get("started_at")),
            ended_at=_opt_moment(data.get("ended_at")),
        )


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_moment(value: object) -> float | None:
    """A timestamp in the one format (records before it held seconds since the epoch)."""
    if value is None:
        return None
    return parse_iso(value) if isinstance(value, str) else float(str(value))


class PipelineResult(Struct):
    status: str  # succeeded | failed | interrupted
    steps: Mapping[str, StepResult]
    run_dir: Path
    outputs: Mapping[str, str] = field(default_factory=dict)  # pipeline output -> path
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def to_json(self) -> dict[str, object]:
        return {
            "status": self.status,
            "run_dir": str(self.run_dir),
            "duration": round(self.duration, 3),
            "outputs": dict(self.outputs),
            "steps": {name: step.to_json() for name, step in self.steps.items()},
        }


def write_record(path: Path, header: Mapping[str, object], result: PipelineResult) -> None:
    write_json_atomic(path, {**header, **result.to_json()})


def read_record(path: Path) -> tuple[dict[str, object], PipelineResult]:
    """A past run's record; a missing or unreadable one is a RunnerError naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        steps = {name: StepResult.from_json(name, step) for name, step in data["steps"].items()}
        result = PipelineResult(
            status=str(data["status"]),
            steps=steps,
            run_dir=Path(str(data["run_dir"])),
            outputs={str(k): str(v) for k, v in (data.get("outputs") or {}).items()},
            duration=float(data.get("duration") or 0),
        )
    except FileNotFoundError:
        raise RunnerError(
            f"{path}: no pipeline record here", "name a pipeline run folder"
        ) from None
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
        raise RunnerError(f"{path}: unreadable pipeline record ({exc})") from None
    return data, result
