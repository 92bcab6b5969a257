"""The executor seam: the scheduler (runner.pipeline.run) decides what runs and when, an
executor runs one step's module run and returns its result. Both executors share selection,
the cache, the display and the summary; they differ only in where a step executes."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from runner.run.engine import RunOptions, RunResult, run_module, serve_cached
from runner.run.gpus import GpuPool, detect_gpus, too_many
from runner.spec.model import ModuleSpec
from runner.struct import Struct, replace


class StepCall(Struct):
    """One step's module run, as the scheduler hands it over (`options` are the step's own:
    its run folder, force, require_cached, the pipeline's cancel event)."""

    step: str
    module: ModuleSpec
    values: Mapping[str, object]
    outputs: Mapping[str, object]
    options: RunOptions


class Executor(Protocol):
    name: str

    def begin(self, runs_root: Path, options: RunOptions, steps: Mapping[str, ModuleSpec]) -> None:
        """Before any step starts: raise a RunnerError, naming the step, when `steps` (those
        that may execute) could not run at all."""

    def default_jobs(self) -> int:
        """How many steps run at once when the user does not say (`--jobs`)."""

    def run(self, call: StepCall) -> RunResult:
        """Run one step, raising what `run_module` raises (InterruptedRun, RunnerError)."""

    def close(self) -> None:
        """Release what `begin` acquired (its owner calls it, after one run or several)."""


class LocalExecutor:
    """Every step in this process's threads, through the engine directly. A step asking for
    GPUs gets its own ids from the machine's (see runner.run.gpus) and queues until they are
    free; one whose result is cached never waits for them."""

    name = "local"

    def __init__(self) -> None:
        self._recorded = {
            "executor": "local",
            "node": socket.gethostname(),
            "worker": {"pid": os.getpid()},
        }
        self._gpus: GpuPool | None = None

    def begin(self, runs_root: Path, options: RunOptions, steps: Mapping[str, ModuleSpec]) -> None:
        wanting = {
            name: m.resources.gpu_count for name, m in steps.items() if m.resources.gpu_count
        }
        if not wanting:
            return
        self._gpus = GpuPool(detect_gpus(os.environ))
        for name, count in sorted(wanting.items()):
            if count > len(self._gpus.ids):
                raise too_many(f"step {name!r}", count, self._gpus.ids)

    def default_jobs(self) -> int:
        return os.cpu_count() or 1

    def run(self, call: StepCall) -> RunResult:
        options = replace(call.options, recorded=self._recorded)
        count = call.module.resources.gpu_count
        if not count or self._gpus is None:
            return run_module(call.module, call.values, call.outputs, options)
        served = serve_cached(call.module, call.values, call.outputs, options)
        if served is not None:
            return served
        ids = self._gpus.acquire(count, options.cancel)
        try:
            return run_module(call.module, call.values, call.outputs, replace(options, gpus=ids))
        finally:
            self._gpus.release(ids)

    def close(self) -> None:
        pass
