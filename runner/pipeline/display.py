"""Showing a pipeline run: a live table on a terminal, one line per event elsewhere, a summary
that says how to re-run from a failed step. The CLI and the Python DSL show the same."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from runner.pipeline.rerun import Rerun
from runner.pipeline.state import PipelineResult, StepResult, StepState
from runner.run.sourcemap import mapped_log_tail

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
# A step still running this long after it started gets a "running" line (stamped when it is
# printed, so that the lines of a log stay in time order); one served from the cache (or as
# quick) gets a single line, its outcome.
START_DELAY = 0.5


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


def make_display(stream: TextIO) -> LiveDisplay | LineDisplay:
    """A live table on a terminal, lines elsewhere (pipes, CI logs, TERM=dumb)."""
    live = stream.isatty() and os.environ.get("TERM") != "dumb"
    return LiveDisplay(stream) if live else LineDisplay(stream)


class LineDisplay:
    """One line per state change, for logs, CI and pipes; a step's start only if it is still
    running START_DELAY later (a thread prints it then, as "running")."""

    def __init__(self, stream: TextIO, start_delay: float = START_DELAY) -> None:
        self._stream = stream
        self._delay = start_delay
        self._changed = threading.Condition()
        self._pending: dict[str, float] = {}  # running steps not announced yet -> start time
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self, steps: Mapping[str, StepResult]) -> None:
        pass

    def update(self, step: StepResult) -> None:
        with self._changed:
            if step.state is StepState.RUNNING:
                self._pending[step.name] = step.started_at or time.time()
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._announce, name="runner-display", daemon=True
                    )
                    self._thread.start()
                self._changed.notify()
                return
            self._pending.pop(step.name, None)
            self._line(step.name, _describe(step, time.time()))

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()
        if self._thread is not None:
            self._thread.join()

    def _announce(self) -> None:
        with self._changed:
            while not self._closed:
                now = time.time()
                for name, started in sorted(self._pending.items(), key=lambda item: item[1]):
                    if now - started >= self._delay:
                        del self._pending[name]
                        self._line(name, "running")
                due = min(self._pending.values(), default=None)
                self._changed.wait(None if due is None else max(due + self._delay - now, 0.01))

    def _line(self, name: str, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"[{stamp}] {name}: {text}", file=self._stream)
        self._stream.flush()


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


def summary(
    result: PipelineResult,
    advice: Mapping[str, Rerun],
    command: Callable[[Rerun], str],
) -> str:
    """The closing table and, for each failure, the end of its log and how to re-run from it:
    `advice` (see `runner.pipeline.rerun`) by failed step, `command` spells a re-run."""
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
        if step.error_at:
            lines.append(f"  error at: {step.error_at}")
        if step.log:
            lines += [f"  | {line}" for line in mapped_log_tail(Path(step.log), LOG_TAIL_LINES)]
            lines.append(f"  log:     {step.log}")
        if step.workdir:
            lines.append(f"  workdir: {step.workdir}")
        if name in advice:
            lines += _rerun_lines(name, advice[name], command)
    return "\n".join(lines)


def _rerun_lines(name: str, rerun: Rerun, command: Callable[[Rerun], str]) -> list[str]:
    lines = [f"  re-run from this step: {command(rerun)}"]
    if rerun.cached:
        lines.append(f"    (upstream steps come from the cache: {', '.join(rerun.cached)})")
    if rerun.widened and not rerun.from_steps:
        lines.append(f"    (nothing upstream of '{name}' is cached: the whole pipeline runs)")
    elif rerun.widened:
        starts = " and ".join(rerun.from_steps)
        lines.append(
            f"    (not every step upstream of '{name}' is cached: the re-run starts at {starts})"
        )
    return lines
