"""What happened to each step of a pipeline run, and its live run folder: `pipeline.json`
(written when the run starts and when it ends) and `events.jsonl` (one line per step state
change), read back together by `read_record` (the contract is in docs/design.md)."""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from runner.clock import iso, now_iso, parse_iso
from runner.errors import RunnerError
from runner.files import modes_of, size_text, storage_problem, write_json_atomic
from runner.struct import Struct, field, replace

RECORD = "pipeline.json"
EVENTS = "events.jsonl"


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
    started_at: float | None = None  # time.time() (ISO 8601 in JSON), for the live display
    ended_at: float | None = None
    error_at: str | None = None  # a failure's traceback: FILE:LINE in the user's sources
    notes: tuple[str, ...] = ()  # the step's run's notes (e.g. its result was not stored)

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
            "error_at": self.error_at,
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, object]) -> StepResult:
        outputs = data.get("outputs") or {}
        assert isinstance(outputs, dict)
        notes = data.get("notes") or []
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
            error_at=_opt_str(data.get("error_at")),
            notes=tuple(str(note) for note in notes) if isinstance(notes, list) else (),
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
    notes: tuple[str, ...] = ()  # records of the run that the storage refused (a full disk)

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
            "notes": list(self.notes),
        }


def write_record(path: Path, header: Mapping[str, object], result: PipelineResult) -> None:
    write_json_atomic(path, {**header, **result.to_json()})


def final_record(
    path: Path, header: Mapping[str, object], result: PipelineResult, events: EventLog
) -> PipelineResult:
    """The run's last record written; when the storage refused it (or events before it), the
    result still stands, with notes saying what was not written."""
    notes = [events.lost] if events.lost else []
    record = {**header, **result.to_json()}
    try:
        write_json_atomic(path, record)
    except OSError as exc:
        problem = storage_problem(exc, path.parent)
        if problem is None:
            raise
        size = size_text(len(json.dumps(record, indent=2)))
        notes.append(f"{path} was not updated with the result ({size} needed): {problem}")
    return replace(result, notes=(*result.notes, *notes)) if notes else result


class EventLog:
    """`events.jsonl` of a run folder: one line per state change, each written with a single
    `write` on a file opened with O_APPEND, so a reader sees whole lines or a partial last one."""

    def __init__(self, path: Path) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        self.path = path
        self._fd = os.open(path, flags, modes_of(path.parent).file)
        self.lost: str | None = None  # why events stopped being written (a full disk)

    def step(self, result: StepResult) -> None:
        self._append({"step": result.name, "at": now_iso(), **result.to_json()})

    def end(self, status: str) -> None:
        self._append({"pipeline": status, "at": now_iso()})

    def _append(self, event: Mapping[str, object]) -> None:
        if self.lost is not None:
            return
        try:
            os.write(self._fd, (json.dumps(event, separators=(",", ":")) + "\n").encode("utf-8"))
        except OSError as exc:
            problem = storage_problem(exc, self.path.parent)
            if problem is None:
                raise
            self.lost = f"{self.path} is incomplete: {problem}"

    def close(self) -> None:
        os.close(self._fd)


def read_events(path: Path, offset: int = 0) -> tuple[list[dict[str, object]], int]:
    """The whole lines of `path` from byte `offset` on, parsed, and the offset after the last
    whole line: call again with it to get only what was appended since. A missing file has
    no events; a line that is not a JSON object is skipped."""
    try:
        with open(path, "rb") as stream:
            stream.seek(offset)
            data = stream.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1  # a last line without its newline is still being written
    events: list[dict[str, object]] = []
    for line in data[:end].splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events, offset + end


def apply_events(result: PipelineResult, events: Iterable[Mapping[str, object]]) -> PipelineResult:
    """The live state: the steps of `pipeline.json` updated by the events, in order."""
    steps = dict(result.steps)
    status = result.status
    for event in events:
        name = event.get("step")
        if isinstance(name, str) and name in steps:
            steps[name] = StepResult.from_json(name, event)
        elif isinstance(event.get("pipeline"), str):
            status = str(event["pipeline"])
    return replace(result, status=status, steps=steps)


def read_record(path: Path) -> tuple[dict[str, object], PipelineResult]:
    """A run's record at `path` (its `pipeline.json`) with the events beside it applied: the
    live state while the run goes on, the final one after. A missing or unreadable record is a
    RunnerError naming the file."""
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
        events, _ = read_events(path.parent / EVENTS)
        result = apply_events(result, events)
    except FileNotFoundError:
        raise RunnerError(
            f"{path}: no pipeline record here", "name a pipeline run folder"
        ) from None
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
        raise RunnerError(f"{path}: unreadable pipeline record ({exc})") from None
    return data, result
