"""One module run, start to finish: the ONE place that maps outcomes to statuses."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from runner.bind.bindings import Bindings
from runner.cache.publish import UnpublishableOutput
from runner.cache.store import CacheStore, DamagedEntryError, Entry
from runner.env.base import BackendName, Runtime
from runner.errors import InterruptedRun, NotCachedError
from runner.files import write_json_atomic
from runner.run.deliver import deliver
from runner.run.history import record_last_run
from runner.run.job import Job, RunOptions, prepare_job
from runner.run.key import KeyParts
from runner.run.launch import Launch, LaunchContext, process_launch
from runner.run.record import now, outcome_record, run_record
from runner.run.result import RunResult, Status
from runner.run.workdir import RunDir, create_run_dir, work_path
from runner.snapshot.write import materialize
from runner.spec.model import ModuleSpec
from runner.struct import replace

if TYPE_CHECKING:
    from runner.process.local import Outcome

__all__ = ["RunOptions", "RunResult", "Status", "run_module", "serve_cached"]


def run_module(
    spec: ModuleSpec,
    values: Mapping[str, object],
    outputs: Mapping[str, object] | None = None,
    options: RunOptions | None = None,
) -> RunResult:
    """Run one module: from the cache when an identical run succeeded before, else for real."""
    job = prepare_job(spec, values, outputs, options or RunOptions())
    try:
        return _run_job(job)
    finally:
        if job.store is not None:
            job.store.close()


def serve_cached(
    spec: ModuleSpec,
    values: Mapping[str, object],
    outputs: Mapping[str, object] | None = None,
    options: RunOptions | None = None,
) -> RunResult | None:
    """The run as the cache serves it, or None where it would have to execute (nothing is
    executed and no run folder is made): how a driver whose steps execute elsewhere resolves
    its hits itself. `require_cached` and `force` behave as in `run_module`."""
    job = prepare_job(spec, values, outputs, options or RunOptions())
    try:
        store, parts = job.store, job.parts
        if job.options.require_cached:
            return _serve_required(job)
        if store is None or parts is None or job.options.force or not job.spec.is_deterministic:
            return None
        served = _try_serve(job, store, parts.key)
        if served is None:
            return None
        record_last_run(store.root, job.spec, parts, served.status.value)
        return _noted(job, served, store.problems)
    finally:
        if job.store is not None:
            job.store.close()


def _run_job(job: Job) -> RunResult:
    store, parts = job.store, job.parts
    if job.options.require_cached:
        return _serve_required(job)
    problems: list[str] = []
    if store is None or parts is None:
        result = _delivered(job, _execute(job))
    else:
        if job.spec.is_deterministic:
            result = _cached_or_executed(job, store, parts)
        else:
            result = _delivered(job, _execute(job))
        record_last_run(store.root, job.spec, parts, result.status.value)
        problems = store.problems
    return _noted(job, result, problems)


def _noted(job: Job, result: RunResult, problems: Sequence[str]) -> RunResult:
    plan_notes = job.plan.warnings if job.plan else ()
    notes = [*job.environment.notes, *plan_notes, *result.notes, *problems]
    return replace(result, notes=tuple(notes)) if notes else result


def _serve_required(job: Job) -> RunResult:
    store, parts = job.store, job.parts
    if store is None or parts is None or not job.spec.is_deterministic:
        raise NotCachedError(f"{job.spec.identity}: cannot come from the cache (not cacheable)")
    served = _try_serve(job, store, parts.key)
    if served is None:
        raise NotCachedError(f"{job.spec.identity}: no cached result for these inputs")
    return served


def _cached_or_executed(job: Job, store: CacheStore, parts: KeyParts) -> RunResult:
    key, force = parts.key, job.options.force
    served = None if force else _try_serve(job, store, key)
    if served is not None:
        return served
    # Single flight: of several identical runs, one executes while the others wait here, then
    # find its entry. Different keys never wait for each other.
    with store.lock(key):
        served = None if force else _try_serve(job, store, key)
        if served is not None:
            return served
        result = _execute(job, key)
        if result.status is not Status.SUCCEEDED:
            return result
        if force:
            store.remove(key)
        return _delivered(job, _publish(store, job, result, parts))


def _try_serve(job: Job, store: CacheStore, key: str) -> RunResult | None:
    entry = store.lookup(key)
    if entry is None:
        return None
    try:
        return _serve(job, store, entry)
    except DamagedEntryError:
        return None  # the store noted why; the caller runs the module instead


def _container_launch(context: LaunchContext, runtime: Runtime) -> Launch:
    from runner.run.container import container_launch  # the docker SDK, only for a container

    return container_launch(context, runtime)


# How a ready environment runs a command: a local process, or a container.
LAUNCHERS: Mapping[BackendName, Callable[[LaunchContext, Runtime], Launch]] = {
    "host": process_launch,
    "venv": process_launch,
    "conda": process_launch,
    "docker": _container_launch,
}


def _execute(job: Job, key: str | None = None) -> RunResult:
    spec, bindings, options = job.spec, job.bindings, job.options
    choice = job.environment
    # Built (or found) before the run folder exists: a failed build leaves no half-made run.
    runtime = choice.backend.ensure(choice.request, job.env_store, options.echo)
    if runtime.backend != "docker":
        # Set up now (the cgroup home, the watch): the watch's start-up then overlaps laying
        # out the run folder rather than the command's own start.
        from runner.process.contain import CONTAINMENT

        CONTAINMENT.start()
    run_dir = create_run_dir(options.workdir, job.runs_root, spec.name)
    run_dir.snapshot.mkdir()
    if job.plan is not None:
        materialize(job.plan, run_dir.snapshot)
    output_paths = _place_outputs(spec, bindings, run_dir)
    context = LaunchContext(
        spec=spec,
        values=bindings.values,
        inputs=bindings.inputs,
        outputs=output_paths,
        launcher=job.launcher,
        root=run_dir.root,
        snapshot=run_dir.snapshot,
        internal=run_dir.internal,
        log=run_dir.log,
        rerun_script=run_dir.rerun_script,
        timeout=options.timeout,
        echo=options.echo,
        cancel=options.cancel,
        gpus=options.gpus,
    )
    if options.session is not None:
        options.session.executing()
    if options.verbose and options.echo is not None:
        options.echo.write(f"runner: the command's processes are held by {_held_by(runtime)}\n")
    launch = LAUNCHERS[runtime.backend](context, runtime)
    argv = list(launch.argv)
    record = {**run_record(job, output_paths, argv, key), **launch.details}
    record["environment"] = {"backend": runtime.backend, "fingerprint": runtime.fingerprint}
    write_json_atomic(run_dir.record, {**record, "status": "running"})
    outcome = launch.start()
    launch.finish()
    missing = _missing_outputs(spec, output_paths)
    status, message = _status(spec, outcome, options.timeout, missing)
    final_status = "interrupted" if outcome.interrupted else status.value
    final = {**record, **outcome_record(outcome, final_status, message)}
    final["containment"] = outcome.containment
    write_json_atomic(run_dir.record, final)
    if outcome.interrupted:
        raise InterruptedRun(f"interrupted; the partial run is in {run_dir.root}")
    return RunResult(
        status=status,
        exit_code=outcome.exit_code,
        outputs={out.python_name: output_paths[out.name] for out in spec.outputs},
        workdir=run_dir.root,
        log=run_dir.log,
        message=message,
        duration=outcome.duration,
        cache_key=key,
        argv=tuple(argv),
    )


def _held_by(runtime: Runtime) -> str:
    """Which containment is in force for a run (verbose output; `run.json` has it too)."""
    if runtime.backend == "docker":
        return "a container (the engine's own cgroup; removed by runner's watch if runner dies)"
    from runner.process.contain import CONTAINMENT

    return CONTAINMENT.describe()


def _publish(store: CacheStore, job: Job, result: RunResult, parts: KeyParts) -> RunResult:
    outputs: dict[str, tuple[Path, Literal["file", "dir"]]] = {
        out.name: (result.outputs[out.python_name], "file" if out.is_file else "dir")
        for out in job.spec.outputs
    }
    meta = {
        "module": job.spec.identity,
        "spec": str(job.spec.source),
        "workdir": str(result.workdir),
        "exit_code": result.exit_code,
        "duration": round(result.duration, 3),
    }
    try:
        store.publish(parts.key, outputs, parts.to_json(), meta)
    except UnpublishableOutput as exc:
        return replace(result, notes=(*result.notes, f"the result was not cached: {exc}"))
    return result


def _serve(job: Job, store: CacheStore, entry: Entry) -> RunResult:
    """A run whose outputs come from the cache: a run folder, outputs placed, nothing run."""
    started = time.monotonic()
    spec = job.spec
    run_dir = create_run_dir(job.options.workdir, job.runs_root, spec.name)
    try:
        return _serve_into(job, store, entry, run_dir, started)
    except DamagedEntryError:
        shutil.rmtree(run_dir.root, ignore_errors=True)  # made just now, holds nothing else
        raise


def _serve_into(
    job: Job, store: CacheStore, entry: Entry, run_dir: RunDir, started: float
) -> RunResult:
    spec = job.spec
    output_paths = {out.name: work_path(out, job.bindings, run_dir) for out in spec.outputs}
    for path in output_paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    store.materialize(entry, output_paths)
    output_paths = _deliver(job, output_paths)
    source = entry.meta.get("workdir", "an earlier run")
    note = f"served from the cache: entry {entry.key}, produced by {source}"
    run_dir.log.write_text(f"{now()} runner {note}\n", encoding="utf-8")
    record = run_record(job, output_paths, [], entry.key)
    write_json_atomic(run_dir.record, {**record, "status": Status.CACHED.value, "message": note})
    exit_code = entry.meta.get("exit_code")
    return RunResult(
        status=Status.CACHED,
        exit_code=exit_code if isinstance(exit_code, int) else 0,
        outputs={out.python_name: output_paths[out.name] for out in spec.outputs},
        workdir=run_dir.root,
        log=run_dir.log,
        message=note,
        duration=time.monotonic() - started,
        cached=True,
        cache_key=entry.key,
    )


def _missing_outputs(spec: ModuleSpec, output_paths: Mapping[str, Path]) -> list[str]:
    missing = []
    for out in spec.outputs:
        path = output_paths[out.name]
        present = path.is_file() if out.is_file else path.is_dir()
        if not present:
            kind = "file" if out.is_file else "folder"
            missing.append(
                f"output '{out.name}' ({out.python_name}) was not produced: no {kind} at {path}"
            )
    return missing


def _status(
    spec: ModuleSpec, outcome: Outcome, timeout: float | None, missing: Sequence[str]
) -> tuple[Status, str]:
    """The one mapping from what happened to a status and a one-line reason."""
    if outcome.start_error is not None:
        return Status.FAILED, f"the command could not start: {outcome.start_error}"
    if outcome.interrupted:
        return Status.FAILED, "interrupted"
    if outcome.timed_out:
        return Status.FAILED, f"timed out after {timeout:g} s; the process tree was killed"
    code = outcome.exit_code
    if code is None:
        return Status.FAILED, "the command ended without an exit code"
    if code < 0:
        return Status.FAILED, f"the command was killed by signal {-code}"
    if not spec.return_code.succeeded(code):
        return Status.FAILED, f"the command exited with code {code}"
    if missing:
        return Status.FAILED, "; ".join(missing)
    return Status.SUCCEEDED, ""


def _place_outputs(spec: ModuleSpec, bindings: Bindings, run_dir: RunDir) -> dict[str, Path]:
    """Where the module writes each output: always a fresh place in the run folder (an empty
    folder, or a file path), delivered to a place chosen with -o after success."""
    paths: dict[str, Path] = {}
    for output in spec.outputs:
        path = work_path(output, bindings, run_dir)
        if output.is_file:
            path.parent.mkdir(parents=True, exist_ok=True)
        else:
            path.mkdir(parents=True)
        paths[output.name] = path
    return paths


def _deliver(job: Job, produced: Mapping[str, Path]) -> dict[str, Path]:
    """Outputs at their final places: those chosen with -o receive what the run produced."""
    final = dict(produced)
    for name, destination in job.bindings.outputs.items():
        deliver(produced[name], destination)
        final[name] = destination
    return final


def _delivered(job: Job, result: RunResult) -> RunResult:
    """A successful executed run with its outputs delivered (after it was published: the
    cache takes what the module produced in its run folder, never what lay at a destination)."""
    if result.status is not Status.SUCCEEDED or not job.bindings.outputs:
        return result
    produced = {out.name: result.outputs[out.python_name] for out in job.spec.outputs}
    final = _deliver(job, produced)
    return replace(result, outputs={out.python_name: final[out.name] for out in job.spec.outputs})
