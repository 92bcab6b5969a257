"""One module run, start to finish: the ONE place that maps outcomes to statuses."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

from runner.bind.bindings import Bindings
from runner.cache.publish import UnpublishableOutput
from runner.cache.store import CacheStore, DamagedEntryError, Entry, NotStored
from runner.env.base import BackendName, Runtime
from runner.errors import InterruptedRun, NotCachedError, StorageError
from runner.files import refused_folder, size_text, storage_problem, write_json_atomic
from runner.run.deliver import deliver
from runner.run.history import record_last_run
from runner.run.job import Job, RunOptions, prepare_job
from runner.run.key import KeyParts
from runner.run.launch import Launch, LaunchContext, command, process_launch
from runner.run.record import now, outcome_record, run_record
from runner.run.result import RunResult, Status
from runner.run.workdir import RunDir, create_run_dir, work_path
from runner.snapshot.write import materialize
from runner.spec.model import ModuleSpec
from runner.struct import Struct, replace

if TYPE_CHECKING:
    from runner.process.local import Outcome
    from runner.run.debug import DebugSession

__all__ = [
    "Prepared",
    "RunOptions",
    "RunResult",
    "Status",
    "prepare_run",
    "run_module",
    "serve_cached",
]


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
    except OSError as exc:
        # A full disk or a read-only folder before the module ran (laying out the run folder)
        # or while a hit was placed: said in words, never an internal error.
        raise _storage_error(exc, job.runs_root) from None
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
        return _noted(job, served, _recorded(job, store, parts, served))
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
        problems = _recorded(job, store, parts, result)
    return _noted(job, result, problems)


def _recorded(job: Job, store: CacheStore, parts: KeyParts, result: RunResult) -> list[str]:
    """The store's problems, after the run's outcome went into the module's history (which a
    cache used read-only does not keep; a history the disk refused is one more problem)."""
    problems = list(store.problems)
    if not store.read_only:
        unrecorded = record_last_run(store.root, job.spec, parts, result.status.value)
        problems += [unrecorded] if unrecorded else []
    return problems


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
    # A debugged run executes: the IDE is attaching to it, not to an earlier result.
    key, force = parts.key, job.options.force or job.options.debug is not None
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
        if force and not store.read_only:
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


class Prepared(Struct):
    """A run laid out and ready to start: its folder, outputs, environment and command."""

    run_dir: RunDir
    output_paths: dict[str, Path]
    runtime: Runtime
    launch: Launch
    record: dict[str, object]


def prepare_run(job: Job, key: str | None = None, status: str = "running") -> Prepared:
    """Everything before the command starts: the environment built, the run folder laid out
    (snapshot, output folders), the command made and run.json written with `status`
    ("prepared" for a run that a shell or a launch configuration will start by hand)."""
    spec, bindings, options = job.spec, job.bindings, job.options
    choice = job.environment
    if options.in_process:
        from runner.run.inprocess import refuse_in_process

        refuse_in_process(_planned_argv(job), str(spec.source))
    elif options.debug is not None or options.post_mortem:
        _refuse_undebuggable(job)
    # Built (or found) before the run folder exists: a failed build leaves no half-made run.
    runtime = choice.backend.ensure(choice.request, job.env_store, options.echo)
    if runtime.backend != "docker":
        # Set up now (the cgroup home, the watch): the watch's start-up then overlaps laying
        # out the run folder rather than the command's own start.
        from runner.process.contain import CONTAINMENT

        CONTAINMENT.start()
    run_dir = create_run_dir(options.workdir, job.runs_root, spec.name)
    try:
        run_dir.snapshot.mkdir()
        if job.plan is not None:
            materialize(job.plan, run_dir.snapshot)
        output_paths = _place_outputs(spec, bindings, run_dir)
    except BaseException:
        shutil.rmtree(run_dir.root, ignore_errors=True)  # made just now, nothing ran in it
        raise
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
        timeout=_timeout(job),
        echo=_echo(job, run_dir, runtime),
        cancel=options.cancel,
        debug=_debug_session(job, run_dir, runtime),
        stdin=options.stdin,
        post_mortem=options.post_mortem,
        gpus=options.gpus,
    )
    if options.session is not None:
        options.session.executing()
    if options.verbose and options.echo is not None:
        options.echo.write(f"runner: the command's processes are held by {_held_by(runtime)}\n")
    if options.in_process:
        from runner.run.inprocess import inprocess_launch

        launch = inprocess_launch(context, runtime, job.plan, options.post_mortem)
    else:
        launch = LAUNCHERS[runtime.backend](context, runtime)
    argv = list(launch.argv)
    record = {**run_record(job, output_paths, argv, key), **launch.details}
    record["environment"] = {"backend": runtime.backend, "fingerprint": runtime.fingerprint}
    write_json_atomic(run_dir.record, {**record, "status": status})
    return Prepared(run_dir, output_paths, runtime, launch, record)


def _execute(job: Job, key: str | None = None) -> RunResult:
    spec = job.spec
    prepared = prepare_run(job, key)
    run_dir, output_paths, launch, record = (
        prepared.run_dir,
        prepared.output_paths,
        prepared.launch,
        prepared.record,
    )
    argv = list(launch.argv)
    outcome = launch.start()
    launch.finish()
    timeout = _timeout(job)
    status, message = _status(spec, outcome, timeout)
    missing = _missing_outputs(spec, output_paths) if status is Status.SUCCEEDED else {}
    final_status = "interrupted" if outcome.interrupted else status.value
    final = {**record, **outcome_record(outcome, final_status, message)}
    final["containment"] = outcome.containment
    error_at = None
    if status is Status.FAILED:
        from runner.run.sourcemap import failure_sources

        in_container = prepared.runtime.backend == "docker"
        pairs, error_at = failure_sources(job.plan, run_dir.snapshot, run_dir.log, in_container)
        final.update(source_mappings=[list(pair) for pair in pairs], error_at=error_at)
    if missing:
        final["missing_outputs"] = sorted(missing)
    unrecorded = _write_record(run_dir, final)
    if outcome.log_lost:
        unrecorded += (f"{run_dir.log} is incomplete: {outcome.log_lost}",)
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
        error_at=error_at,
        notes=(*missing.values(), *unrecorded),
        missing_outputs=tuple(sorted(missing)),
    )


def _write_record(run_dir: RunDir, record: Mapping[str, object]) -> tuple[str, ...]:
    """The final run.json; when the storage refuses it, the run's result still stands (and is
    reported): a note says what was not written, and why."""
    try:
        write_json_atomic(run_dir.record, record)
    except OSError as exc:
        problem = storage_problem(exc, run_dir.root)
        if problem is None:
            raise
        size = size_text(len(json.dumps(record, indent=2)))
        return (f"{run_dir.record} was not updated with the result ({size} needed): {problem}",)
    return ()


def _storage_error(exc: OSError, runs_root: Path) -> StorageError:
    """A full disk or a read-only folder, in words; anything else is no storage matter."""
    problem = storage_problem(exc, refused_folder(exc, runs_root))
    if problem is None:
        raise exc
    return StorageError(
        f"the run could not be made: {problem}", "free some space, or use another folder"
    )


def _refuse_undebuggable(job: Job) -> None:
    """--debug and --pdb need a python command: refused before anything is built or made."""
    from runner.run.debug import refuse_non_python

    flag = "--debug" if job.options.debug is not None else "--pdb"
    refuse_non_python(_planned_argv(job), f"{job.spec.source}", flag, job.environment.name)


def _planned_argv(job: Job) -> list[str]:
    """The command as it will be, but for the output paths (not made yet)."""
    spec, bindings = job.spec, job.bindings
    return command(
        spec,
        bindings.values,
        {name: str(path) for name, path in bindings.inputs.items()},
        {out.name: out.python_name for out in spec.outputs},
        "parallel_run.py",
    )


def _debug_session(job: Job, run_dir: RunDir, runtime: Runtime) -> DebugSession | None:
    if job.options.debug is None:
        return None
    from runner.run.debug import open_session

    in_container = "/mnt/runner/snapshot" if runtime.backend == "docker" else None
    return open_session(job.options.debug, job.plan, run_dir.root, in_container)


def _echo(job: Job, run_dir: RunDir, runtime: Runtime) -> TextIO | None:
    """The live echo, tracebacks naming the user's files; the log keeps them as written."""
    if job.options.echo is None or job.options.in_process:  # in-process: they already do
        return job.options.echo
    from runner.run.sourcemap import mapped_echo

    return mapped_echo(job.options.echo, job.plan, run_dir.snapshot, runtime.backend == "docker")


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
    except (UnpublishableOutput, NotStored) as exc:
        return replace(
            result, notes=(*result.notes, f"the result was not stored in the cache: {exc}")
        )
    return result


def _serve(job: Job, store: CacheStore, entry: Entry) -> RunResult:
    """A run whose outputs come from the cache: a run folder, outputs placed, nothing run."""
    started = time.monotonic()
    spec = job.spec
    run_dir = create_run_dir(job.options.workdir, job.runs_root, spec.name)
    try:
        return _serve_into(job, store, entry, run_dir, started)
    except (DamagedEntryError, OSError):  # an object gone, a full disk
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
    unrecorded = _write_record(run_dir, {**record, "status": Status.CACHED.value, "message": note})
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
        notes=unrecorded,
    )


def _missing_outputs(spec: ModuleSpec, output_paths: Mapping[str, Path]) -> dict[str, str]:
    """The outputs a successful command did not write, each with a warning. The service judges
    a run by its exit code alone, and so does runner: a folder output left missing is made an
    empty folder; a file output stays absent (`missing_outputs` in run.json and --json)."""
    missing = {}
    for out in spec.outputs:
        path = output_paths[out.name]
        if path.is_file() if out.is_file else path.is_dir():
            continue
        if not out.is_file and not os.path.lexists(path):
            path.mkdir(parents=True)
            found = "it is an empty folder"
        else:
            found = f"no {'file' if out.is_file else 'folder'} at {path}"
        missing[out.python_name] = (
            f"the module did not write output '{out.name}' ({out.python_name}): {found}"
        )
    return missing


def _timeout(job: Job) -> float | None:
    """--timeout, else the spec's limits.timeout."""
    given = job.options.timeout
    return given if given is not None else job.spec.timeout


def _status(spec: ModuleSpec, outcome: Outcome, timeout: float | None) -> tuple[Status, str]:
    """The one mapping from what happened to a status and a one-line reason."""
    if outcome.start_error is not None:
        return Status.FAILED, f"the command could not start: {outcome.start_error}"
    if outcome.interrupted:
        return Status.FAILED, "interrupted"
    if outcome.timed_out:
        given = " (the spec's limits.timeout)" if timeout == spec.timeout else ""
        return Status.FAILED, f"timed out after {timeout:g} s{given}; the process tree was killed"
    code = outcome.exit_code
    if code is None:
        return Status.FAILED, "the command ended without an exit code"
    if code < 0:
        return Status.FAILED, f"the command was killed by signal {-code}"
    if not spec.return_code.succeeded(code):
        return Status.FAILED, f"the command exited with code {code}"
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
        if not os.path.lexists(produced[name]):
            continue  # a file output the module did not write: nothing to deliver
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
