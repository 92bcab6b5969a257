"""The executor seam: the scheduler (runner.pipeline.run) decides what runs and when, an
executor runs one step's module run and returns its result. Both executors share selection,
the cache, the display and the summary; they differ only in where a step executes."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from runner.run.engine import RunOptions, RunResult, run_module
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
    """Every step in this process's threads, through the engine directly."""

    name = "local"

    def __init__(self) -> None:
        self._recorded = {
            "executor": "local",
            "node": socket.gethostname(),
            "worker": {"pid": os.getpid()},
        }

    def begin(self, runs_root: Path, options: RunOptions, steps: Mapping[str, ModuleSpec]) -> None:
        pass

    def default_jobs(self) -> int:
        return os.cpu_count() or 1

    def run(self, call: StepCall) -> RunResult:
        options = replace(call.options, recorded=self._recorded)
        return run_module(call.module, call.values, call.outputs, options)

    def close(self) -> None:
        pass
