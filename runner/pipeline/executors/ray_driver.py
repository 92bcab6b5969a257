"""The Ray executor, driver side: cached steps are resolved here and never scheduled; every
step that must execute becomes a Ray task asking for the step's resources (CPUs, memory,
GPUs, custom resources), and its worker runs it through the same engine and cache
(`ray_task`). Single flight holds across nodes: the cache's per-key lock is a file lock in
the shared cache folder, taken by the worker that executes."""

from __future__ import annotations

import math
import os
import queue
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from runner.cache.location import default_cache_root
from runner.config import load_settings
from runner.errors import InterruptedRun, RunnerError
from runner.pipeline.executors.base import StepCall
from runner.pipeline.executors.ray_cluster import (
    check_shared_storage,
    connect,
    require_ray,
    shutdown_local,
)
from runner.pipeline.executors.ray_task import RayStep, execute, where_am_i
from runner.run.engine import RunOptions, RunResult, serve_cached
from runner.spec.model import ModuleSpec, Resources
from runner.struct import replace

WAIT_POLL = 0.2  # seconds between looks at the pipeline's cancel event while a task runs
CANCEL_GRACE = 10.0  # seconds a cancelled step has to stop before its worker is killed
HOST = socket.gethostname()


class RayExecutor:
    """Steps on a Ray cluster joined at `address`, else on a local instance started when a
    first step must execute (a fully cached run starts none) and ended by `close`. One
    executor may serve several runs."""

    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        self.address = address
        self._ray: Any = None
        self._remote: Any = None
        self._pinned: dict[str, Any] = {}
        self._driver: dict[str, object] = {"executor": "ray", "node": None, "host": HOST}
        self._connecting = threading.Lock()
        self._closing = threading.Event()
        self._owner: threading.Thread | None = None

    def _connected(self) -> Any:
        with self._connecting:
            if self._ray is None:
                ray = connect(self.address) if self.address else self._start_local()
                self._remote = ray.remote(execute)
                self._driver = where_am_i("driver")
                self._ray = ray
            return self._ray

    def _start_local(self) -> Any:
        """A local instance, started and ended by a thread of its own that lives until
        `close`: Linux sends a process's parent-death signal when the THREAD that started it
        ends, so an instance started from a step's thread would die with that thread."""
        started: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue()

        def own() -> None:
            try:
                ray = connect(None)
            except BaseException as exc:  # handed to the step that asked, raised there
                started.put((None, exc))
                return
            started.put((ray, None))
            self._closing.wait()
            shutdown_local(ray)

        self._owner = threading.Thread(target=own, name="runner-ray-instance", daemon=True)
        self._owner.start()
        ray, error = started.get()
        if error is not None:
            raise error
        return ray

    def begin(self, runs_root: Path, options: RunOptions, steps: Mapping[str, ModuleSpec]) -> None:
        require_ray()
        # Settings are read here, once: a worker's environment and config file are not the
        # user's, and every step must run as the driver would have run it.
        settings = load_settings(
            os.environ,
            env=options.env,
            ca_bundle=options.ca_bundle,
            strict_python=options.strict_python,
        )
        cache_root = (options.cache_dir or default_cache_root(os.environ)).resolve()
        if self.address:  # a local instance shares this machine's files
            ray = self._connected()
            totals = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
            check_feasible(steps, totals, f"the Ray cluster at {self.address}")
            check_shared_storage(ray, [runs_root.resolve(), cache_root])
        else:
            # Ray finds the GPUs and memory of a local instance when it starts it; runner knows
            # its CPUs and that it has no custom resources.
            local = {"CPU": os.cpu_count() or 1, "GPU": math.inf, "memory": math.inf}
            check_feasible(steps, [local], "a local Ray instance")
        self._pinned = {
            "cache_dir": cache_root,
            "runs_root": runs_root.resolve(),
            "env": settings.env,
            "ca_bundle": settings.ca_bundle,
            "strict_python": settings.strict_python,
        }

    def default_jobs(self) -> int:
        """Every step that can start is handed to Ray, which queues it until the cluster has
        its resources; the bound only keeps the driver's threads in proportion."""
        if self._ray is None:
            return os.cpu_count() or 1
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def run(self, call: StepCall) -> RunResult:
        options = replace(call.options, **self._pinned)
        served = serve_cached(
            call.module, call.values, call.outputs, replace(options, recorded=self._driver)
        )
        if served is not None:
            return served
        workdir = options.workdir
        if workdir is None:  # the scheduler gives every step its folder
            raise RunnerError(f"step {call.step!r}: no run folder for a Ray task")
        marker = workdir.with_name(f"{workdir.name}.cancel")
        self._connected()
        remote_options = replace(options, session=None, cancel=None, echo=None)
        task = RayStep(call.step, call.module, call.values, call.outputs, remote_options, marker)
        ref = self._remote.options(
            name=f"runner:{call.step}", max_retries=0, **placement(call.module.resources)
        ).remote(task)
        return self._wait(call, ref, marker)

    def _wait(self, call: StepCall, ref: Any, marker: Path) -> RunResult:
        ray, cancel = self._ray, call.options.cancel
        cancelled_at: float | None = None
        killed = False
        while not ray.wait([ref], timeout=WAIT_POLL)[0]:
            if cancel is None or not cancel.is_set():
                continue
            if cancelled_at is None:
                marker.touch()
                cancelled_at = time.monotonic()
            elif not killed and time.monotonic() - cancelled_at > CANCEL_GRACE:
                ray.cancel(ref, force=True)
                killed = True
        try:
            outcome = ray.get(ref)
        except ray.exceptions.RayTaskError:
            raise  # a bug in runner on the worker: the scheduler keeps its traceback
        except ray.exceptions.RayError as exc:
            if cancelled_at is not None:
                raise InterruptedRun(f"step {call.step!r} cancelled on Ray") from None
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RunnerError(f"the Ray task of step {call.step!r} failed: {first}") from None
        if outcome.interrupted:
            raise InterruptedRun(outcome.error)
        if outcome.result is None:
            raise RunnerError(outcome.error, outcome.hint)
        return outcome.result  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._owner is not None:
            self._closing.set()
            self._owner.join()
            self._owner = None
        self._ray = None


def check_feasible(
    steps: Mapping[str, ModuleSpec], nodes: Sequence[Mapping[str, float]], cluster: str
) -> None:
    """Every step's request fits on some node of the cluster (Ray would queue a task that fits
    nowhere for ever); else a RunnerError naming the steps, before any runs."""
    problems = []
    for name, module in sorted(steps.items()):
        wanted = _ray_amounts(module.resources)
        if not any(all(node.get(k, 0) >= v for k, v in wanted.items()) for node in nodes):
            problems.append(f"step {name!r} asks for {{{_amounts(wanted)}}}")
    if problems:
        offered = "; ".join(_amounts(node) for node in nodes)
        raise RunnerError(
            f"no node of {cluster} can ever run: " + "; ".join(problems),
            f"its nodes offer: {offered or 'nothing'}; lower the step's `resources`, or start "
            "a node with them (`ray start --num-cpus N --num-gpus N --resources '{...}'`)",
        )


def _shown(resource: str) -> bool:
    """Ray's own per-node resources (`node:<ip>`, object store) say nothing to a user."""
    return not resource.startswith("node:") and resource != "object_store_memory"


def _amounts(node: Mapping[str, float]) -> str:
    shown = sorted((k, v) for k, v in node.items() if _shown(k) and v != math.inf)
    return ", ".join(f"{k}: {v:g}" for k, v in shown)


def _ray_amounts(resources: Resources) -> dict[str, float]:
    options = placement(resources)
    amounts = {"CPU": float(options["num_cpus"])}
    if "num_gpus" in options:
        amounts["GPU"] = float(options["num_gpus"])
    if "memory" in options:
        amounts["memory"] = float(options["memory"])
    amounts.update(options.get("resources", {}))
    return amounts


def placement(resources: Resources) -> dict[str, Any]:
    """A step's Ray task options for what it asks: one CPU unless it says otherwise."""
    chosen: dict[str, Any] = {"num_cpus": 1 if resources.cpus is None else resources.cpus}
    if resources.gpu_count:
        chosen["num_gpus"] = resources.gpu_count
    if resources.memory:
        chosen["memory"] = resources.memory
    if resources.custom:
        chosen["resources"] = dict(resources.custom)
    return chosen
