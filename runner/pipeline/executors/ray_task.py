"""What runs on a Ray worker: one step's module run (through the same engine and cache as a
local run) and the shared-storage probe. Imported by the workers, so it imports nothing of
Ray at its top: the worker has Ray loaded already and the driver imports it on purpose.

Cancelling: the driver writes the step's cancel marker (`<step folder>.cancel`, on the shared
runs folder); a thread here watches for it and sets the run's cancel event, so the engine
stops the command's process tree as on Ctrl-C locally. A worker killed outright (the driver's
last resort) leaves its tree to runner's watch process, which kills what the worker held."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from runner.errors import InterruptedRun, RunnerError
from runner.run.engine import RunOptions, RunResult, run_module
from runner.spec.model import ModuleSpec
from runner.struct import Struct, replace

CANCEL_POLL = 0.2  # seconds between looks at the cancel marker


class RayStep(Struct):
    """One step as it travels to a worker (no session, event or stream: those stay local)."""

    step: str
    module: ModuleSpec
    values: Mapping[str, object]
    outputs: Mapping[str, object]
    options: RunOptions
    cancel_marker: Path


class RayOutcome(Struct):
    """What a worker sends back: a result, or the error the engine raised, in words (runner's
    exceptions are not all picklable, and the driver re-raises the same kind)."""

    result: RunResult | None = None
    error: str = ""
    hint: str | None = None
    interrupted: bool = False


def where_am_i(worker: str) -> dict[str, object]:
    """The `run.json` fields saying who ran a step: executor, node, worker process."""
    import ray  # loaded already in a worker or a connected driver

    context = ray.get_runtime_context()
    return {
        "executor": "ray",
        "node": context.get_node_id(),
        "host": socket.gethostname(),
        "worker": {"pid": os.getpid(), "id": worker},
    }


def execute(task: RayStep) -> RayOutcome:
    """Run the step here; never raises for what a step can do wrong."""
    import ray

    cancel, done = threading.Event(), threading.Event()
    watcher = threading.Thread(target=_watch, args=(task.cancel_marker, cancel, done), daemon=True)
    watcher.start()
    worker = ray.get_runtime_context().get_worker_id()
    options = replace(task.options, cancel=cancel, recorded=where_am_i(worker))
    try:
        return RayOutcome(result=run_module(task.module, task.values, task.outputs, options))
    except InterruptedRun as exc:
        return RayOutcome(error=exc.message, interrupted=True)
    except RunnerError as exc:
        return RayOutcome(error=exc.message, hint=exc.hint)
    finally:
        done.set()


def _watch(marker: Path, cancel: threading.Event, done: threading.Event) -> None:
    while not done.wait(CANCEL_POLL):
        if marker.exists():
            cancel.set()
            return


def probe(folders: Sequence[str], token: str) -> list[str]:
    """On one node: the folders among `folders` where this node does not see the driver's
    token file, or cannot write (each problem in words; empty: all is well)."""
    problems = []
    for folder in folders:
        path = Path(folder)
        if not (path / token).is_file():
            problems.append(f"{folder}: not the driver's folder here (its probe file is missing)")
            continue
        try:
            check = path / f"{token}.{os.getpid()}"
            check.write_bytes(b"")
            check.unlink()
        except OSError as exc:
            problems.append(f"{folder}: cannot write ({exc.strerror})")
    return problems
