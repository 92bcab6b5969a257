"""Running a pipeline: steps in dependency order, independent ones in parallel, each through
the same engine (and cache) as a single module run. This module decides what runs and when;
an executor (runner.pipeline.executors: this process, or a Ray cluster) runs each step.

Selection (`only`, `from_steps`, `until`): steps outside the selection that a selected step
needs must come from the cache (nothing is re-run behind the user's back); the others are
skipped. On a failure, the failed step's dependents are ABORTED; steps already running finish;
steps not yet started are SKIPPED, unless `continue_on_failure`, which keeps running every
step that does not depend on the failure (as `make -k`).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from runner.clock import now_iso
from runner.errors import InterruptedRun, PipelineError, RunnerError, StorageError
from runner.files import make_folder, storage_problem
from runner.pipeline.executors.base import Executor, LocalExecutor, StepCall
from runner.pipeline.inputs import bind_inputs
from runner.pipeline.model import (
    Pipeline,
    Step,
    StepOutput,
    dependencies,
    downstream,
    step_values,
    topological_order,
    upstream,
)
from runner.pipeline.ready import Waiting
from runner.pipeline.state import (
    EVENTS,
    RECORD,
    EventLog,
    PipelineResult,
    StepResult,
    StepState,
    final_record,
    write_record,
)
from runner.pipeline.validate import validate
from runner.run.engine import RunOptions
from runner.run.session import Session
from runner.run.workdir import default_runs_root, mark_runs_root, new_run_name
from runner.struct import Struct, field, replace

if TYPE_CHECKING:
    from runner.run.debug import DebugRequest

__all__ = ["RECORD", "Display", "Selection", "run_pipeline", "select"]


class Display(Protocol):
    """What the scheduler tells whoever watches (see runner.pipeline.display)."""

    def start(self, steps: Mapping[str, StepResult]) -> None: ...
    def update(self, step: StepResult) -> None: ...
    def close(self) -> None: ...


class _Quiet:
    def start(self, steps: Mapping[str, StepResult]) -> None:
        pass

    def update(self, step: StepResult) -> None:
        pass

    def close(self) -> None:
        pass


class Selection(Struct):
    run: frozenset[str]  # steps that run (or hit the cache) as usual
    cached_only: frozenset[str]  # upstream of the selection: must come from the cache
    skipped: frozenset[str]


def select(
    pipeline: Pipeline,
    only: Sequence[str] = (),
    from_steps: Sequence[str] = (),
    until: Sequence[str] = (),
) -> Selection:
    for name in (*only, *from_steps, *until):
        pipeline.step(name)  # a PipelineError with a did-you-mean for an unknown step
    chosen = set(pipeline.step_names)
    if only:
        chosen = set(only)
    if from_steps:
        chosen &= downstream(pipeline, from_steps) | set(from_steps)
    if until:
        chosen &= upstream(pipeline, until) | set(until)
    needed = upstream(pipeline, chosen) - chosen
    skipped = set(pipeline.step_names) - chosen - needed
    return Selection(frozenset(chosen), frozenset(needed), frozenset(skipped))


class _Run(Struct, frozen=False):
    """The mutable state of one pipeline run, owned by the scheduling thread."""

    pipeline: Pipeline
    run_dir: Path
    selection: Selection
    options: RunOptions
    force: frozenset[str]
    display: Display
    debug: tuple[str, DebugRequest] | None  # --debug STEP: that step starts under debugpy
    header: dict[str, object]
    events: EventLog
    executor: Executor
    results: dict[str, StepResult] = field(default_factory=dict)
    # (step, ORIGINAL output name) -> where that output is, once the step has a result.
    produced: dict[tuple[str, str], Path] = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.time)

    def set(self, result: StepResult) -> None:
        """A step's new state: shown, and appended to the events (pipeline.json is written
        only at the start and at the end: O(steps) writes, not O(steps²))."""
        self.results[result.name] = result
        self.display.update(result)
        self.events.step(result)

    def snapshot(self, status: str) -> PipelineResult:
        outputs = {}
        for out in self.pipeline.outputs:
            if (out.step, out.output) in self.produced:
                outputs[out.name] = str(self.produced[(out.step, out.output)])
        return PipelineResult(
            status=status,
            steps=dict(self.results),
            run_dir=self.run_dir,
            outputs=outputs,
            duration=time.time() - self.started,
        )


def run_pipeline(
    pipeline: Pipeline,
    *,
    sets: Mapping[str, object] | None = None,
    jobs: int | None = None,
    only: Sequence[str] = (),
    from_steps: Sequence[str] = (),
    until: Sequence[str] = (),
    force: Sequence[str] = (),
    continue_on_failure: bool = False,
    options: RunOptions | None = None,
    runs_root: Path | None = None,
    display: Display | None = None,
    base_dir: Path | None = None,
    debug: tuple[str, DebugRequest] | None = None,
    executor: Executor | None = None,
) -> PipelineResult:
    """Run `pipeline` and return what happened to every step. A failed step is a result
    (status "failed"), not an exception; an invalid pipeline raises PipelineError first."""
    base_dir = base_dir or Path.cwd()
    pipeline = bind_inputs(pipeline, sets or {}, base_dir)
    validate(pipeline)
    selection = select(pipeline, only, from_steps, until)
    for name in [*force, *([debug[0]] if debug else [])]:
        pipeline.step(name)
    root = runs_root or default_runs_root(os.environ, base_dir)
    executor = executor or LocalExecutor()
    options = replace(options or RunOptions(), base_dir=base_dir)
    mark_runs_root(root)
    executor.begin(root, options, {n: pipeline.step(n).effective_module for n in selection.run})
    run_dir = root / new_run_name(pipeline.name, datetime.now(timezone.utc))
    make_folder(run_dir)  # private, as every run folder
    (run_dir / "steps").mkdir()
    with Session() as session:
        state = _Run(
            pipeline=pipeline,
            run_dir=run_dir,
            selection=selection,
            options=replace(options, session=session),
            force=frozenset(force),
            display=display or _Quiet(),
            debug=debug,
            header={
                "pipeline": pipeline.name,
                "source": str(pipeline.source) if pipeline.source else None,
                "sets": {k: str(v) for k, v in (sets or {}).items()},
                "started_at": now_iso(),
            },
            events=EventLog(run_dir / EVENTS),
            executor=executor,
        )
        return _run(state, jobs or executor.default_jobs(), continue_on_failure)


def _run(state: _Run, jobs: int, continue_on_failure: bool) -> PipelineResult:
    """The run itself: its record and events from the start, its steps, its end."""
    pipeline, selection, run_dir = state.pipeline, state.selection, state.run_dir
    for name in pipeline.step_names:
        initial = StepState.SKIPPED if name in selection.skipped else StepState.QUEUED
        message = "not selected" if initial is StepState.SKIPPED else ""
        state.results[name] = StepResult(name, initial, message=message)
    _first_record(state)
    state.display.start(state.results)
    try:
        try:
            status = _schedule(state, jobs, continue_on_failure)
        finally:
            state.display.close()
        result = final_record(run_dir / RECORD, state.header, state.snapshot(status), state.events)
        state.events.end(status)
    finally:
        state.events.close()
    if status == "interrupted":
        raise InterruptedRun(f"pipeline interrupted; what ran is recorded in {run_dir / RECORD}")
    return result


def _first_record(state: _Run) -> None:
    """The record of a run just begun. A disk that refuses it (full) ends the run before any
    step, in words, with its folder removed: nothing ran in it."""
    try:
        write_record(state.run_dir / RECORD, state.header, state.snapshot("running"))
    except OSError as exc:
        problem = storage_problem(exc, state.run_dir.parent)
        if problem is None:
            raise
        state.events.close()
        shutil.rmtree(state.run_dir, ignore_errors=True)
        raise StorageError(
            f"the pipeline run could not be made: {problem}",
            "free some space, or use another folder",
        ) from None


def _schedule(state: _Run, jobs: int, continue_on_failure: bool) -> str:
    pipeline = state.pipeline
    queued = [n for n in topological_order(pipeline) if state.results[n].state is StepState.QUEUED]
    waiting = Waiting(queued, {n: dependencies(pipeline.step(n)) for n in queued})
    running: dict[Future[StepResult], str] = {}
    stop_starting = False
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="runner-step") as pool:
        try:
            while waiting or running:
                if not stop_starting:
                    for name in waiting.take(jobs - len(running)):
                        running[pool.submit(_run_step, state, name)] = name
                        state.set(StepResult(name, StepState.RUNNING, started_at=time.time()))
                if not running:
                    break  # what is left waits on steps that will not finish
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    result = future.result()
                    del running[future]
                    state.set(result)
                    if result.state.ok:
                        waiting.succeeded(result.name)
                    else:
                        _abort_dependents(state, result.name, waiting)
                        stop_starting = stop_starting or not continue_on_failure
        except KeyboardInterrupt:
            state.cancel.set()
            for future in running:
                state.set(future.result())
            for name in waiting:
                state.set(StepResult(name, StepState.SKIPPED, message="interrupted"))
            return "interrupted"
    failures = [n for n, r in state.results.items() if r.state is StepState.FAILED]
    for name in waiting:
        reason = f"not started: step {failures[0]!r} failed" if failures else "not started"
        state.set(StepResult(name, StepState.SKIPPED, message=reason))
    states = {r.state for r in state.results.values()}
    if StepState.INTERRUPTED in states:
        return "interrupted"
    return "failed" if states & {StepState.FAILED, StepState.ABORTED} else "succeeded"


def _abort_dependents(state: _Run, failed: str, waiting: Waiting) -> None:
    affected = downstream(state.pipeline, [failed]) - {failed}
    for name in sorted(name for name in affected if name in waiting):
        waiting.remove(name)
        state.set(StepResult(name, StepState.ABORTED, message=f"upstream step {failed!r} failed"))


def _check_upstream_written(step: Step, produced: Mapping[tuple[str, str], Path]) -> None:
    """An upstream step may succeed without writing a file output (the service judges by exit
    code): a step bound to that output fails here, saying so, before anything runs."""
    for input_name, binding in step.bindings.items():
        if isinstance(binding, StepOutput):
            path = produced.get((binding.step, binding.output))
            if path is not None and not os.path.lexists(path):
                raise PipelineError(
                    f"input {input_name!r} is bound to output {binding.output!r} of step"
                    f" {binding.step!r}, which that step did not write (no file at {path})"
                )


def _run_step(state: _Run, name: str) -> StepResult:
    """One step, in a worker thread: never raises, every outcome is a StepResult."""
    step = state.pipeline.step(name)
    started = time.time()
    module = step.effective_module
    options = replace(
        state.options,
        workdir=state.run_dir / "steps" / name,
        echo=None,
        force=name in state.force,
        require_cached=name in state.selection.cached_only,
        cancel=state.cancel,
        debug=state.debug[1] if state.debug and state.debug[0] == name else None,
    )
    try:
        values, waiting = step_values(state.pipeline, step, state.produced)
        if waiting:  # the scheduler starts a step only after its upstream steps succeeded
            raise PipelineError(f"step {name!r}: no result yet from {', '.join(sorted(waiting))}")
        _check_upstream_written(step, state.produced)
        outputs = {key: path for key, path in step.outputs.items() if path}
        result = state.executor.run(StepCall(name, module, values, outputs, options))
    except InterruptedRun:
        return StepResult(name, StepState.INTERRUPTED, started_at=started, ended_at=time.time())
    except RunnerError as exc:
        message = exc.message
        if name in state.selection.cached_only:
            message += " (it is upstream of the selected steps: run it, or widen the selection)"
        return StepResult(
            name, StepState.FAILED, message=message, started_at=started, ended_at=time.time()
        )
    except Exception as exc:  # a bug in runner: this step fails, the others are still recorded
        trace = state.run_dir / "steps" / f"{name}.crash.log"
        trace.write_text(traceback.format_exc(), encoding="utf-8")
        message = f"internal error ({type(exc).__name__}: {exc}); the traceback is in {trace}"
        return StepResult(
            name, StepState.FAILED, message=message, started_at=started, ended_at=time.time()
        )
    for port in step.module.outputs:
        state.produced[(name, port.name)] = result.outputs[port.python_name]
    return StepResult(
        name=name,
        state=StepState.CACHED if result.cached else (
            StepState.SUCCEEDED if result.ok else StepState.FAILED
        ),
        cached=result.cached,
        outputs={key: str(path) for key, path in result.outputs.items()},
        workdir=str(result.workdir),
        log=str(result.log),
        duration=time.time() - started,
        message=result.message if not result.ok else "",
        cache_key=result.cache_key,
        error_at=result.error_at,
        started_at=started,
        ended_at=time.time(),
        notes=result.notes,
    )  # fmt: skip
