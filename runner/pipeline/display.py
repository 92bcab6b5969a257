"""Showing a pipeline run: a live table on a terminal, one line per event elsewhere, a summary."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import TextIO

from runner.pipeline.state import PipelineResult, StepResult, StepState

_SYMBOL = {
    StepState.QUEUED: "·",
    StepState.RUNNING: "▶",
    StepState.CACHED: "=",
    StepState.SUCCEEDED: "✓",
    StepState.FAILED: "✗",
    StepState.ABORTED: "-",
    StepState.SKIPPED: " ",
    StepState.INTERRUPTED: "!",
}
LOG_TAIL_LINES = 15


def _describe(step: StepResult, now: float) -> str:
    if step.state is StepState.RUNNING and step.started_at is not None:
        return f"running {now - step.started_at:6.1f} s"
    if step.state in (StepState.SUCCEEDED, StepState.FAILED, StepState.INTERRUPTED):
        return f"{step.state.value} in {step.duration:.2f} s"
    if step.state is StepState.CACHED:
        return "cached"
    if step.state in (StepState.ABORTED, StepState.SKIPPED) and step.message:
        return f"{step.state.value}: {step.message}"
    return str(step.state.value)


class LineDisplay:
    """One line per state change: for logs, CI and pipes."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def start(self, steps: Mapping[str, StepResult]) -> None:
        pass

    def update(self, step: StepResult) -> None:
        stamp = time.strftime("%H:%M:%S")
        text = "started" if step.state is StepState.RUNNING else _describe(step, time.time())
        with self._lock:
            print(f"[{stamp}] {step.name}: {text}", file=self._stream)
            self._stream.flush()

    def close(self) -> None:
        pass


class LiveDisplay:
    """A table of every step redrawn in place, with running steps' elapsed time ticking."""

    def __init__(self, stream: TextIO, refresh: float = 0.2) -> None:
        self._stream = stream
        self._refresh = refresh
        self._steps: dict[str, StepResult] = {}
        self._lock = threading.Lock()
        self._drawn = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="runner-display", daemon=True)

    def start(self, steps: Mapping[str, StepResult]) -> None:
        self._steps = dict(steps)
        self._draw()
        self._thread.start()

    def update(self, step: StepResult) -> None:
        with self._lock:
            self._steps[step.name] = step
        self._draw()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._draw()

    def _loop(self) -> None:
        while not self._stop.wait(self._refresh):
            self._draw()

    def _draw(self) -> None:
        with self._lock:
            now = time.time()
            width = max((len(name) for name in self._steps), default=4)
            lines = [
                f" {_SYMBOL[s.state]} {name:<{width}}  {_describe(s, now)}"
                for name, s in self._steps.items()
            ]
            # Up to the table's first line, then rewrite each line (clearing its rest).
            moves = f"\x1b[{self._drawn}F" if self._drawn else ""
            self._stream.write(moves + "".join(f"\x1b[2K{line}\n" for line in lines))
            self._stream.flush()
            self._drawn = len(lines)


def summary(result: PipelineResult, rerun_hint: Sequence[str]) -> str:
    """The closing table and, for each failure, the end of its log and how to re-run it."""
    width = max((len(name) for name in result.steps), default=4)
    lines = [f"pipeline {result.status} in {result.duration:.2f} s  ({result.run_dir})"]
    for name, step in result.steps.items():
        lines.append(f"  {name:<{width}}  {_describe(step, time.time())}")
    if result.outputs:
        lines.append("outputs:")
        lines += [f"  {name}: {path}" for name, path in result.outputs.items()]
    for name, step in result.steps.items():
        if step.state is not StepState.FAILED:
            continue
        lines.append("")
        lines.append(f"step '{name}' failed: {step.message}")
        if step.log:
            lines += [f"  | {line}" for line in _tail(step.log)]
            lines.append(f"  log:     {step.log}")
        if step.workdir:
            lines.append(f"  workdir: {step.workdir}")
        lines.append(f"  re-run just this step: {' '.join([*rerun_hint, '--only', name])}")
    return "\n".join(lines)


def _tail(log: str) -> list[str]:
    try:
        with open(log, encoding="utf-8", errors="replace") as stream:
            return stream.read().splitlines()[-LOG_TAIL_LINES:]
    except OSError:
        return []
