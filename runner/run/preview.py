"""`runner render`: exactly the argv `runner run` would execute with the same bindings and
options, without creating or running anything.

Everything is decided as a run decides it (the bindings, the environment, the MPI launcher, the
parallel driver's place, the file name of a file output chosen with -o); outputs are the
absolute places in the run folder where the module writes them. Two things are known only when
the run starts: the name of a new run folder (a timestamp and random letters, unless --workdir
names it), and for a venv or conda environment not yet built, the interpreter `python` means
(shown as `python` then). A container's command is what runs inside the container.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from runner.run.job import Job, RunOptions, prepare_job
from runner.run.launch import PARALLEL_DRIVER, command, resolve_python
from runner.run.workdir import RunDir, new_run_name, work_path
from runner.spec.model import ModuleSpec
from runner.struct import replace


def rendered_command(
    spec: ModuleSpec,
    values: Mapping[str, object],
    outputs: Mapping[str, object] | None,
    options: RunOptions,
) -> list[str]:
    job = prepare_job(spec, values, outputs, replace(options, cache=False))
    if options.workdir is not None:
        run_dir = RunDir(options.workdir.expanduser().resolve())
    else:
        run_dir = RunDir(job.runs_root / new_run_name(spec.name, datetime.now(timezone.utc)))
    bindings = job.bindings
    argv = [
        *job.launcher,
        *command(
            spec,
            bindings.values,
            {name: str(path) for name, path in bindings.inputs.items()},
            {out.name: str(work_path(out, bindings, run_dir)) for out in spec.outputs},
            str(run_dir.internal / PARALLEL_DRIVER.name),
        ),
    ]
    python = _interpreter(job)
    return resolve_python(argv, python) if python is not None else argv


def _interpreter(job: Job) -> str | None:
    """What `python` means in the run, where that is known without building anything: the host
    interpreter (a container runs its own `python`; a venv or conda prefix exists once built)."""
    choice = job.environment
    if choice.name != "host":
        return None
    return choice.backend.ensure(choice.request, job.env_store, None).python
