"""How a module's command line and environment are built for one run (no execution here)."""

from __future__ import annotations

import os
import shlex
import shutil
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from runner.env.base import Runtime
from runner.errors import UnsupportedError
from runner.run.childenv import EnvOverrides
from runner.run.gpus import visible_devices
from runner.run.render import render
from runner.run.workdir import write_rerun_script
from runner.spec.model import JobType, ModuleSpec, ParamValue
from runner.struct import Struct

if TYPE_CHECKING:
    from runner.process.local import Outcome
    from runner.run.debug import DebugSession

PARALLEL_DRIVER = Path(__file__).parent.parent / "resources" / "parallel_run.py"
RANKS_DRIVER = Path(__file__).parent.parent / "resources" / "distributed_run.py"
# Distributions whose ranks runner starts itself (mpi's are started by mpiexec).
RANK_KINDS = {"pytorch": "pytorch", "torch.distributed": "pytorch", "tensorflow": "tensorflow"}


def refuse_unrunnable(spec: ModuleSpec) -> None:
    if spec.job_type is JobType.HDINSIGHT:
        raise UnsupportedError(
            f"{spec.source}: jobType hdinsight (Spark on HDInsight) cannot run locally",
            "run it on an HDInsight cluster, or port the module to a basic command job",
        )


def mpi_launcher(
    spec: ModuleSpec, processes: int | None, *, inside_container: bool = False
) -> list[str]:
    """`mpiexec -n N` for jobType mpi; N from the spec's distribution unless given. In a
    container, the image's own mpiexec is used."""
    mpiexec = "mpiexec" if inside_container else shutil.which("mpiexec")
    if mpiexec is None:
        raise UnsupportedError(
            f"{spec.source}: jobType mpi needs `mpiexec` on PATH, and none was found",
            "install an MPI implementation (e.g. `apt-get install mpich` or `openmpi-bin`)",
        )
    if processes is None:
        per_instance = spec.distribution.process_count if spec.distribution else 1
        processes = max(1, per_instance) * max(1, spec.resources.instance_count)
    return [mpiexec, "-n", str(processes)]


def command(
    spec: ModuleSpec,
    values: Mapping[str, ParamValue],
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    driver: str,
) -> list[str]:
    """The argv: the rendered template, or the parallel driver around the entry script.

    Paths are strings so the cache key can render the same command with abstract paths.
    """
    if spec.job_type is not JobType.PARALLEL or spec.parallel is None:
        return render(spec.command, spec, values, inputs, outputs)
    parallel = spec.parallel
    output = spec.find_output(parallel.output_data)
    argv = ["python", driver, "--entry", parallel.entry]
    argv += ["--output", outputs[output.name if output else parallel.output_data]]
    argv += ["--mini-batch-size", str(parallel.mini_batch_size)]
    argv += ["--error-threshold", str(parallel.error_threshold)]
    for name in parallel.input_data:
        port = spec.find_input(name)
        if port is not None and port.name in inputs:
            argv += ["--input", inputs[port.name]]
    # The driver runs the entry in-process: its args are plain words, never a shell script.
    args = render(parallel.args, spec, values, inputs, outputs, allow_shell=False)
    return [*argv, "--", *args]


def install_driver(spec: ModuleSpec, internal: Path) -> Path:
    """The parallel driver lives outside the snapshot: a user file next to it named like a
    standard module (argparse.py...) would otherwise shadow that module for the driver."""
    driver = internal / PARALLEL_DRIVER.name
    if spec.job_type is JobType.PARALLEL:
        shutil.copyfile(PARALLEL_DRIVER, driver)
    return driver


def rank_launcher(context: LaunchContext, python: str) -> list[str]:
    """For a pytorch or tensorflow distribution, the launcher of its ranks (an argv prefix):
    N processes on this machine, each with its framework's environment and its own log in
    `ranks/`, all stopped when one fails (resources/distributed_run.py)."""
    spec = context.spec
    kind = RANK_KINDS.get(spec.distribution.type) if spec.distribution else None
    if spec.distribution is None or kind is None:
        return []
    driver = context.internal / RANKS_DRIVER.name
    shutil.copyfile(RANKS_DRIVER, driver)
    # -I: the snapshot on PYTHONPATH must not shadow the standard modules the driver uses.
    return [python, "-I", str(driver), "--kind", kind,
            "--per-instance", str(spec.distribution.process_count),
            "--instances", str(spec.resources.instance_count),
            "--logs", str(context.root / "ranks"), "--"]  # fmt: skip


def resolve_python(argv: list[str], interpreter: str) -> list[str]:
    """`python` at the head of a command means the chosen interpreter, not whatever is on PATH."""
    if argv and argv[0] in ("python", "python3"):
        return [interpreter, *argv[1:]]
    return argv


class Launch(Struct):
    """A command ready to start: what it is (for run.json and rerun.sh) and how to run it."""

    argv: tuple[str, ...]
    details: Mapping[str, object]  # recorded in run.json: environment overrides, container...
    start: Callable[[], Outcome]
    finish: Callable[[], None] = lambda: None  # after the run, e.g. move staged file outputs


class LaunchContext(Struct):
    """What both launchers need to know about one run."""

    spec: ModuleSpec
    values: Mapping[str, ParamValue]
    inputs: Mapping[str, Path]  # original name -> host path
    outputs: Mapping[str, Path]  # original name -> host path
    launcher: tuple[str, ...]  # mpiexec -n N, or nothing
    root: Path  # the run folder
    snapshot: Path
    internal: Path
    log: Path
    rerun_script: Path
    timeout: float | None
    echo: TextIO | None
    cancel: threading.Event | None = None
    debug: DebugSession | None = None  # --debug: the command starts under debugpy
    stdin: bool = False  # the command reads runner's own stdin (a terminal: pdb, breakpoint())
    post_mortem: bool = False  # --pdb: python commands start under the post-mortem script
    gpus: tuple[str, ...] | None = None  # the GPU ids assigned; None: none assigned


def process_launch(context: LaunchContext, runtime: Runtime) -> Launch:
    """A child process on this machine: host interpreter, venv or conda prefix."""
    from runner.process.local import Invocation, execute  # psutil: only when something runs

    driver = install_driver(context.spec, context.internal)
    argv = [
        *context.launcher,
        *command(
            context.spec,
            context.values,
            {name: str(path) for name, path in context.inputs.items()},
            {name: str(path) for name, path in context.outputs.items()},
            str(driver),
        ),
    ]
    argv = [*rank_launcher(context, runtime.python), *resolve_python(argv, runtime.python)]
    overrides = process_overrides(context, runtime)
    write_rerun_script(context.rerun_script, argv, context.snapshot, overrides)
    details: dict[str, object] = {
        "backend": runtime.backend,
        "environment_overrides": overrides.to_json(),
    }
    executed, changes = argv, overrides
    if context.debug is not None or context.post_mortem:
        # rerun.sh and run.json keep the module's own command; the debugger's is noted.
        from runner.run.debug import debug_process

        executed, changes = debug_process(
            context.debug, argv, runtime.python, context.internal, overrides
        )
        details["debugged_argv"] = executed
    invocation = Invocation(
        argv=tuple(executed),
        cwd=context.snapshot,
        env=changes.apply(os.environ),
        log_path=context.log,
        timeout=context.timeout,
        echo=context.echo,
        cancel=context.cancel,
        stdin=context.stdin,
    )
    return Launch(tuple(argv), details, lambda: execute(invocation))


def process_overrides(context: LaunchContext, runtime: Runtime) -> EnvOverrides:
    """The variables runner sets for a process run; everything else is inherited unchanged."""
    shims = context.internal / "bin"
    shims.mkdir(exist_ok=True)
    for name in ("python", "python3"):
        shim = shims / name
        # A wrapper, not a symlink: a symlinked venv interpreter would lose its venv.
        interpreter = shlex.quote(runtime.python)
        shim.write_text(f'#!/bin/sh\nexec {interpreter} "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
    values = {"PYTHONUNBUFFERED": "1", "RUNNER_RUN_DIR": str(context.root)}
    values.update(runtime.variables)
    values.update(dict(context.spec.environment_variables))
    if context.gpus is not None:
        values.update(visible_devices(context.gpus))
    return EnvOverrides(
        values=values,
        # The snapshot root is importable, as in AzureML, so entries in subfolders can import
        # packages that sit at the root.
        prepend={
            "PATH": os.pathsep.join([str(shims), *runtime.path_prepend]),
            "PYTHONPATH": str(context.snapshot),
        },
    )
