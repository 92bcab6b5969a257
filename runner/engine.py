"""One module run, start to finish: the ONE place that maps outcomes to statuses."""

from __future__ import annotations

import enum
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from runner import __version__
from runner.bind import Bindings, bind
from runner.childenv import EnvOverrides
from runner.errors import InterruptedRun, UnsupportedError
from runner.execute import Invocation, Outcome, execute
from runner.render import render
from runner.snapshot import materialize, plan_snapshot
from runner.spec.model import JobType, ModuleSpec, OutputPort
from runner.workdir import (
    RunDir,
    create_run_dir,
    default_runs_root,
    write_json_atomic,
    write_rerun_script,
)

PARALLEL_DRIVER = Path(__file__).with_name("parallel_run.py")


class Status(str, enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CACHED = "cached"


@dataclass(frozen=True)
class RunOptions:
    workdir: Path | None = None  # None: a new folder under runs_root
    runs_root: Path | None = None  # None: $RUNNER_RUNS_DIR or ./runs
    base_dir: Path | None = None  # relative input/output paths resolve here; None: cwd
    python: str | None = None  # interpreter for `python` in commands; None: the running one
    timeout: float | None = None
    echo: TextIO | None = None  # where the module's output streams live; None: quiet
    mpi_processes: int | None = None


@dataclass(frozen=True)
class RunResult:
    status: Status
    exit_code: int | None
    outputs: Mapping[str, Path]  # python name -> absolute path
    workdir: Path
    log: Path
    message: str = ""  # why it failed, in one line
    duration: float = 0.0
    cached: bool = False
    cache_key: str | None = None
    argv: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.status in (Status.SUCCEEDED, Status.CACHED)

    def to_json(self) -> dict[str, object]:
        return {
            "status": self.status.value,
            "exit_code": self.exit_code,
            "cached": self.cached,
            "cache_key": self.cache_key,
            "outputs": {name: str(path) for name, path in self.outputs.items()},
            "workdir": str(self.workdir),
            "log": str(self.log),
            "message": self.message,
            "duration": round(self.duration, 3),
        }


def run_module(
    spec: ModuleSpec,
    values: Mapping[str, object],
    outputs: Mapping[str, object] | None = None,
    options: RunOptions | None = None,
) -> RunResult:
    options = options or RunOptions()
    base_dir = options.base_dir or Path.cwd()
    _refuse_unrunnable(spec)
    bindings = bind(spec, values, outputs, base_dir=base_dir)
    launcher = _mpi_launcher(spec, options) if spec.job_type is JobType.MPI else []
    plan = plan_snapshot(spec.code) if spec.code is not None else None
    runs_root = options.runs_root or default_runs_root(os.environ, base_dir)
    run_dir = create_run_dir(options.workdir, runs_root, _module_slug(spec))
    run_dir.snapshot.mkdir()
    if plan is not None:
        materialize(plan, run_dir.snapshot)
    output_paths = _place_outputs(spec, bindings, run_dir)
    driver = run_dir.internal / PARALLEL_DRIVER.name
    if spec.job_type is JobType.PARALLEL:
        shutil.copyfile(PARALLEL_DRIVER, driver)
    argv = launcher + _command(spec, bindings, output_paths, driver)
    interpreter = options.python or sys.executable
    argv = _resolve_python(argv, interpreter)
    overrides = _environment_overrides(spec, run_dir, interpreter)
    write_rerun_script(run_dir.rerun_script, argv, run_dir.snapshot, overrides)
    record = _record(spec, bindings, output_paths, argv, overrides, plan.digest if plan else None)
    write_json_atomic(run_dir.record, {**record, "status": "running"})
    outcome = execute(
        Invocation(
            argv=tuple(argv),
            cwd=run_dir.snapshot,
            env=overrides.apply(os.environ),
            log_path=run_dir.log,
            timeout=options.timeout,
            echo=options.echo,
        )
    )
    status, message = _status(spec, outcome, options.timeout)
    final_status = "interrupted" if outcome.interrupted else status.value
    write_json_atomic(run_dir.record, {**record, **_outcome_record(outcome, final_status, message)})
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
        argv=tuple(argv),
    )


def _status(spec: ModuleSpec, outcome: Outcome, timeout: float | None) -> tuple[Status, str]:
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
    return Status.SUCCEEDED, ""


def _refuse_unrunnable(spec: ModuleSpec) -> None:
    if spec.job_type is JobType.HDINSIGHT:
        raise UnsupportedError(
            f"{spec.source}: jobType hdinsight (Spark on HDInsight) cannot run locally",
            "run it on an HDInsight cluster, or port the module to a basic command job",
        )


def _mpi_launcher(spec: ModuleSpec, options: RunOptions) -> list[str]:
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        raise UnsupportedError(
            f"{spec.source}: jobType mpi needs `mpiexec` on PATH, and none was found",
            "install an MPI implementation (e.g. `apt-get install openmpi-bin`) or `mpich`",
        )
    processes = options.mpi_processes
    if processes is None:
        per_instance = spec.distribution.process_count if spec.distribution else 1
        processes = max(1, per_instance) * max(1, spec.resources.instance_count)
    return [mpiexec, "-n", str(processes)]


def _module_slug(spec: ModuleSpec) -> str:
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in spec.name.lower())
    return slug.strip("_.") or "module"


def _place_outputs(spec: ModuleSpec, bindings: Bindings, run_dir: RunDir) -> dict[str, Path]:
    """Every output gets a path: the user's choice, else a folder (or file) in the run dir."""
    paths: dict[str, Path] = {}
    for output in spec.outputs:
        path = bindings.outputs.get(output.name) or run_dir.outputs / output.python_name
        _prepare_output(output, path)
        paths[output.name] = path
    return paths


def _prepare_output(output: OutputPort, path: Path) -> None:
    if output.is_file:
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        path.mkdir(parents=True, exist_ok=True)


def preview_command(
    spec: ModuleSpec,
    values: Mapping[str, object],
    outputs: Mapping[str, object] | None = None,
    base_dir: Path | None = None,
) -> list[str]:
    """The argv a run would execute, without creating anything; outputs not placed by the
    caller are shown relative to the run folder (`outputs/<name>`)."""
    bindings = bind(spec, values, outputs, base_dir=base_dir or Path.cwd())
    placeholder = RunDir(Path())
    output_paths = {
        out.name: bindings.outputs.get(out.name) or placeholder.outputs / out.python_name
        for out in spec.outputs
    }
    return _command(spec, bindings, output_paths, placeholder.internal / PARALLEL_DRIVER.name)


def _command(
    spec: ModuleSpec, bindings: Bindings, output_paths: Mapping[str, Path], driver: Path
) -> list[str]:
    input_paths = {name: str(path) for name, path in bindings.inputs.items()}
    outputs = {name: str(path) for name, path in output_paths.items()}
    if spec.job_type is not JobType.PARALLEL or spec.parallel is None:
        return render(spec.command, spec, bindings.values, input_paths, outputs)
    parallel = spec.parallel
    argv = ["python", str(driver), "--entry", parallel.entry]
    argv += ["--output", outputs[_output_name(spec, parallel.output_data)]]
    argv += ["--mini-batch-size", str(parallel.mini_batch_size)]
    argv += ["--error-threshold", str(parallel.error_threshold)]
    for name in parallel.input_data:
        port = spec.find_input(name)
        if port is not None and port.name in input_paths:
            argv += ["--input", input_paths[port.name]]
    args = render(parallel.args, spec, bindings.values, input_paths, outputs)
    return [*argv, "--", *args]


def _output_name(spec: ModuleSpec, name: str) -> str:
    found = spec.find_output(name)
    return found.name if found is not None else name


def _resolve_python(argv: list[str], interpreter: str) -> list[str]:
    """`python` at the head of a command means the chosen interpreter, not whatever is on PATH."""
    if argv and argv[0] in ("python", "python3"):
        return [interpreter, *argv[1:]]
    return argv


def _environment_overrides(spec: ModuleSpec, run_dir: RunDir, interpreter: str) -> EnvOverrides:
    """The variables runner sets for the command; everything else is inherited unchanged."""
    shims = run_dir.internal / "bin"
    shims.mkdir(exist_ok=True)
    for name in ("python", "python3"):
        shim = shims / name
        # A wrapper, not a symlink: a symlinked venv interpreter would lose its venv.
        shim.write_text(f'#!/bin/sh\nexec "{interpreter}" "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
    values = {"PYTHONUNBUFFERED": "1", "RUNNER_RUN_DIR": str(run_dir.root)}
    values.update(dict(spec.environment_variables))
    return EnvOverrides(
        values=values,
        # The snapshot root is importable, as in AzureML, so entries in subfolders can import
        # packages at the root.
        prepend={"PATH": str(shims), "PYTHONPATH": str(run_dir.snapshot)},
    )


def _record(
    spec: ModuleSpec,
    bindings: Bindings,
    output_paths: Mapping[str, Path],
    argv: list[str],
    overrides: EnvOverrides,
    snapshot_digest: str | None,
) -> dict[str, object]:
    return {
        "runner_version": __version__,
        "spec": {
            "path": str(spec.source),
            "generation": spec.generation.value,
            "name": spec.name,
            "namespace": spec.namespace,
            "version": spec.version,
            "job_type": spec.job_type.value,
        },
        "parameters": dict(bindings.values),
        "inputs": {name: str(path) for name, path in bindings.inputs.items()},
        "outputs": {name: str(path) for name, path in output_paths.items()},
        "argv": argv,
        "environment_overrides": overrides.to_json(),
        "snapshot_digest": snapshot_digest,
        "started_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
    }


def _outcome_record(outcome: Outcome, status: str, message: str) -> dict[str, object]:
    return {
        "status": status,
        "message": message,
        "exit_code": outcome.exit_code,
        "started_at": outcome.started_at.isoformat(timespec="milliseconds"),
        "ended_at": outcome.ended_at.isoformat(timespec="milliseconds"),
        "duration": round(outcome.duration, 3),
        "timed_out": outcome.timed_out,
    }
