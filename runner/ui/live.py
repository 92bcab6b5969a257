"""The live state of one pipeline run folder, read as the run folder contract says.

The state = the steps of `pipeline.json`, updated by the lines of `events.jsonl` in order (see
docs/design.md). `events.jsonl` is read incrementally from the last offset; a line without
its newline is left until the rest arrives. A run folder with no `events.jsonl` (pipeline.json
rewritten on every step change, as older runners do) is read from `pipeline.json` alone.
`pipeline.json` is re-read only when its stat changes, so polling a quiet run costs two stats.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from runner.clock import parse_iso

RECORD = "pipeline.json"
EVENTS = "events.jsonl"

# The page's six statuses (its contract) for the scheduler's step states.
PAGE_STATUS = {
    "queued": "pending",
    "running": "running",
    "succeeded": "succeeded",
    "cached": "cached",
    "failed": "failed",
    "aborted": "skipped",  # an upstream step failed
    "skipped": "skipped",
    "interrupted": "failed",  # stopped before it ended: it did not produce its outputs
}


def seconds(value: object) -> float | None:
    """A time as seconds since the epoch: records hold floats, or ISO 8601 text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return parse_iso(value)
        except ValueError:
            return None
    return None


class RunReader:
    """Follows one run folder; `poll()` says whether the state changed since the last call."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.header: dict[str, object] = {}
        self._record_steps: dict[str, dict[str, object]] = {}
        self._record_status = "running"
        self._record_stat: tuple[int, int, int] | None = None
        self._offset = 0
        self._partial = b""
        self._events: list[dict[str, object]] = []
        self._pipeline_status: str | None = None

    def poll(self) -> bool:
        changed = self._read_record()
        return self._read_events() or changed

    def _read_record(self) -> bool:
        path = self.run_dir / RECORD
        try:
            info = path.stat()
        except OSError:
            return False
        stat = (info.st_ino, info.st_size, info.st_mtime_ns)
        if stat == self._record_stat:
            return False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False  # written atomically: unreadable means gone or foreign; try again
        if not isinstance(data, dict) or not isinstance(data.get("steps"), dict):
            return False
        self._record_stat = stat
        self.header = {k: v for k, v in data.items() if k != "steps"}
        self._record_steps = {
            str(name): dict(step) for name, step in data["steps"].items() if isinstance(step, dict)
        }
        self._record_status = str(data.get("status") or "running")
        return True

    def _read_events(self) -> bool:
        try:
            with open(self.run_dir / EVENTS, "rb") as stream:
                stream.seek(self._offset)
                chunk = stream.read()
        except OSError:
            return False
        if not chunk:
            return False
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()  # b"" after a complete last line
        changed = False
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a damaged line is skipped, never fatal
            if isinstance(event, dict):
                changed = True
                if "pipeline" in event:
                    self._pipeline_status = str(event["pipeline"])
                elif "step" in event:
                    self._events.append(event)
        return changed

    def state(self) -> dict[str, object]:
        """The run as the page shows it: pipeline status and every step's fields."""
        steps = {name: dict(step) for name, step in self._record_steps.items()}
        for event in self._events:
            name = str(event["step"])
            fields = {k: v for k, v in event.items() if k not in ("step", "at")}
            if "status" not in fields:
                continue
            steps[name] = {**steps.get(name, {}), **fields}
            if fields["status"] == "running" and "started_at" not in fields:
                steps[name]["started_at"] = event.get("at")
        status = self._pipeline_status or self._record_status
        return {
            "run": self.run_dir.name,
            "status": status,
            "source": self.header.get("source"),
            "started_at": seconds(self.header.get("started_at")),
            "steps": {name: _page_step(step) for name, step in steps.items()},
        }


def _page_step(step: dict[str, object]) -> dict[str, object]:
    state = str(step.get("status") or "queued")
    return {
        "status": PAGE_STATUS.get(state, "pending"),
        "state": state,
        "message": step.get("message") or "",
        "cached": bool(step.get("cached")),
        "cache_key": step.get("cache_key"),
        "outputs": step.get("outputs") or {},
        "started_at": seconds(step.get("started_at")),
        "ended_at": seconds(step.get("ended_at")),
        "duration": step.get("duration"),
    }


def record_origin(run_dir: Path) -> tuple[str, float] | None:
    """The pipeline file a run folder ran (its record's `source`) and when it started; None
    when the folder holds no readable pipeline record (yet)."""
    try:
        with open(run_dir / RECORD, encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, ValueError):
        return None
    source = data.get("source") if isinstance(data, dict) else None
    if not isinstance(source, str):
        return None
    return os.path.normpath(source), seconds(data.get("started_at")) or 0.0
