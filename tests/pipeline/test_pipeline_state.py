"""The live pipeline run folder (docs/design.md): `pipeline.json` written at the start and at
the end only, `events.jsonl` appended per step state change, and the reader that combines them
while the run goes on and after it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from test_pipeline_run import Diamond

from runner.cli.main import main
from runner.clock import parse_iso
from runner.pipeline.state import (
    EVENTS,
    RECORD,
    EventLog,
    StepResult,
    StepState,
    read_events,
    read_record,
)


@pytest.fixture
def diamond(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Diamond:
    return Diamond(tmp_path / "project", monkeypatch)


class Watcher:
    """A display that, at every state change, looks at the run folder as a reader would."""

    def __init__(self, runs: Path) -> None:
        self.runs = runs
        self.seen: list[tuple[str, str, str, str]] = []  # step, state, record status, live state
        self.record_writes: set[tuple[int, int]] = set()

    def start(self, steps: Mapping[str, StepResult]) -> None:
        pass

    def update(self, step: StepResult) -> None:
        (run_dir,) = self.runs.glob("diamond-*")
        record = run_dir / RECORD
        st = record.stat()
        self.record_writes.add((st.st_ino, st.st_mtime_ns))
        raw = json.loads(record.read_text())
        _, live = read_record(record)
        # The event of this very change is appended right after the display is told.
        self.seen.append((step.name, step.state.value, raw["status"], live.steps[step.name].state))

    def close(self) -> None:
        pass


def test_record_is_written_at_start_and_end_only_and_events_carry_the_rest(
    diamond: Diamond,
) -> None:
    watcher = Watcher(diamond.runs)
    result = diamond.run(display=watcher, jobs=1)
    assert result.ok
    # While the run went on, pipeline.json was the start record, never rewritten.
    assert len(watcher.record_writes) == 1
    assert {status for _, _, status, _ in watcher.seen} == {"running"}
    assert ("root", "running", "running", StepState.QUEUED) in watcher.seen

    lines = (result.run_dir / EVENTS).read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert events[-1]["pipeline"] == "succeeded"
    steps = events[:-1]
    assert len(steps) == 10  # five steps, each running then succeeded
    assert [(e["step"], e["status"]) for e in steps if e["step"] == "join"] == [
        ("join", "running"),
        ("join", "succeeded"),
    ]
    for event in events:
        assert parse_iso(event["at"]) > 0
    done = next(e for e in steps if e["step"] == "join" and e["status"] == "succeeded")
    assert set(done) >= {"step", "status", "at", "cached", "outputs", "workdir", "log"}
    assert parse_iso(done["started_at"]) <= parse_iso(done["ended_at"])

    header, final = read_record(result.run_dir / RECORD)
    assert header["status"] == "succeeded"
    assert {n: (s.state, s.outputs) for n, s in final.steps.items()} == {
        n: (s.state, s.outputs) for n, s in result.steps.items()
    }


def test_the_reader_replays_events_over_the_start_record(diamond: Diamond) -> None:
    result = diamond.run()
    record, events = result.run_dir / RECORD, result.run_dir / EVENTS
    full = events.read_bytes()
    # Rewind the folder to the middle of the run: the start record, half of the events, and
    # a last line still being written.
    start = json.loads(record.read_text())
    start["status"] = "running"
    for step in start["steps"].values():
        step.update(status="queued", cached=False, outputs={}, workdir=None, log=None)
    record.write_text(json.dumps(start))
    lines = full.splitlines(keepends=True)
    events.write_bytes(b"".join(lines[:4]) + lines[4][:20])
    _, live = read_record(record)
    assert live.status == "running"
    expected = {json.loads(line)["step"]: json.loads(line)["status"] for line in lines[:4]}
    assert {name: live.steps[name].state.value for name in expected} == expected
    untouched = set(live.steps) - set(expected)
    assert untouched and {live.steps[n].state for n in untouched} == {StepState.QUEUED}

    events.write_bytes(full)
    _, done = read_record(record)
    assert done.status == "succeeded"
    assert {step.state for step in done.steps.values()} == {StepState.SUCCEEDED}


def test_read_events_returns_whole_lines_and_where_to_go_on(tmp_path: Path) -> None:
    path = tmp_path / EVENTS
    assert read_events(path) == ([], 0)
    log = EventLog(path)
    log.step(StepResult("a", StepState.RUNNING, started_at=1.5))
    log.end("succeeded")
    log.close()
    with open(path, "ab") as stream:
        stream.write(b'not json\n{"step": "b", "sta')
    events, offset = read_events(path)
    assert [e.get("step") or e.get("pipeline") for e in events] == ["a", "succeeded"]
    assert events[0]["started_at"] == "1970-01-01T00:00:01.500+00:00"
    assert offset == path.read_bytes().rindex(b"\n") + 1
    with open(path, "ab") as stream:
        stream.write(b'tus": "queued"}\n')
    more, end = read_events(path, offset)
    assert more == [{"step": "b", "status": "queued"}]
    assert end == path.stat().st_size


def test_status_reads_the_live_state(diamond: Diamond, capsys: pytest.CaptureFixture[str]) -> None:
    result = diamond.run()
    capsys.readouterr()
    events = result.run_dir / EVENTS
    lines = events.read_bytes().splitlines(keepends=True)
    events.write_bytes(b"".join(lines[:-1]))  # the end line is not there yet
    record = json.loads((result.run_dir / RECORD).read_text())
    record["status"] = "running"
    (result.run_dir / RECORD).write_text(json.dumps(record))
    main(["pipeline", "status", str(result.run_dir), "--json"])
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "running"
    assert shown["steps"]["join"]["status"] == "succeeded"
