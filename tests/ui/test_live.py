"""Reading a pipeline run folder live, as the run folder contract says (pipeline.json updated
by events.jsonl), and as runners without events.jsonl write it (pipeline.json alone)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from runner.ui.live import RunReader


def record(run: Path, status: str, steps: dict[str, dict[str, object]]) -> None:
    data = {"pipeline": "p", "source": "/x/p.yml", "status": status, "steps": steps}
    tmp = run / ".pipeline.json.tmp"
    tmp.write_text(json.dumps(data))
    tmp.replace(run / "pipeline.json")  # atomic, as the writer does


def append(run: Path, text: str) -> None:
    fd = os.open(run / "events.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def statuses(reader: RunReader) -> dict[str, str]:
    steps = reader.state()["steps"]
    assert isinstance(steps, dict)
    return {name: step["status"] for name, step in steps.items()}


def test_events_update_the_record_in_order(tmp_path: Path) -> None:
    record(tmp_path, "running", {"a": {"status": "queued"}, "b": {"status": "queued"}})
    reader = RunReader(tmp_path)
    assert reader.poll()
    assert statuses(reader) == {"a": "pending", "b": "pending"}
    assert not reader.poll()  # nothing changed: nothing re-read
    append(tmp_path, '{"step": "a", "status": "running", "at": "2026-01-01T00:00:01.000+00:00"}\n')
    assert reader.poll()
    state = reader.state()
    assert state["status"] == "running"
    assert state["steps"]["a"]["status"] == "running"  # type: ignore[index]
    assert state["steps"]["a"]["started_at"] == 1767225601.0  # type: ignore[index]
    # A line without its newline waits for the rest.
    append(tmp_path, '{"step": "a", "status": "succ')
    assert not reader.poll()
    assert statuses(reader)["a"] == "running"
    append(tmp_path, 'eeded", "at": "2026-01-01T00:00:02.000+00:00", "duration": 1.0}\n')
    append(tmp_path, '{"step": "b", "status": "aborted", "at": "2026-01-01T00:00:02.000+00:00"}\n')
    assert reader.poll()
    assert statuses(reader) == {"a": "succeeded", "b": "skipped"}
    append(tmp_path, '{"pipeline": "failed", "at": "2026-01-01T00:00:03.000+00:00"}\n')
    assert reader.poll()
    assert reader.state()["status"] == "failed"


def test_pipeline_json_alone(tmp_path: Path) -> None:
    """Without events.jsonl, each rewrite of pipeline.json is the new state."""
    record(tmp_path, "running", {"a": {"status": "running", "started_at": 1767225601.5}})
    reader = RunReader(tmp_path)
    assert reader.poll()
    assert reader.state()["steps"]["a"]["started_at"] == 1767225601.5  # type: ignore[index]
    record(tmp_path, "succeeded", {"a": {"status": "cached", "cached": True, "cache_key": "k"}})
    assert reader.poll()
    state = reader.state()
    assert state["status"] == "succeeded"
    assert state["steps"]["a"]["status"] == "cached"  # type: ignore[index]
    assert state["steps"]["a"]["cache_key"] == "k"  # type: ignore[index]


def test_interrupted_and_damaged_lines(tmp_path: Path) -> None:
    record(tmp_path, "running", {"a": {"status": "queued"}})
    append(tmp_path, "not json\n")
    append(tmp_path, '{"step": "a", "status": "interrupted", "at": "x"}\n')
    reader = RunReader(tmp_path)
    assert reader.poll()
    steps = reader.state()["steps"]
    assert steps == {
        "a": {
            "status": "failed",
            "state": "interrupted",
            "message": "",
            "cached": False,
            "cache_key": None,
            "outputs": {},
            "started_at": None,
            "ended_at": None,
            "duration": None,
        }
    }


def test_a_folder_without_a_record_is_empty(tmp_path: Path) -> None:
    reader = RunReader(tmp_path)
    assert not reader.poll()
    assert reader.state()["steps"] == {}
