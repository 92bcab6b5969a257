"""A run prepared: options, values bound, environment chosen, snapshot planned, cache key
computed; nothing built and nothing run (shared by running, explaining and dry runs)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from runner.bind.bindings import Bindings, bind
from runner.cache.digest import MemoFileDigest
from runner.cache.location import default_cache_root, read_only_requested
from runner.cache.state import StateDB
from runner.cache.store import CacheStore
from runner.config import load_settings
from runner.env.choose import EnvChoice, choose_environment
from runner.env.store import EnvStore
from runner.errors import BindingError, UnsupportedError, quote
from runner.run.deliver import check_destination
from runner.run.key import KeyParts
from runner.run.key_inputs import key_parts
from runner.run.launch import PARALLEL_DRIVER, command, mpi_launcher, refuse_unrunnable
from runner.run.workdir import RunDir, default_runs_root, work_path
from runner.snapshot.model import SnapshotPlan
from runner.snapshot.plan import plan_snapshot
from runner.spec.model import JobType, ModuleSpec
from runner.struct import Struct, replace

if TYPE_CHECKING:
    from runner.run.debug import DebugRequest
    from runner.run.session import Session


class RunOptions(Struct):
    workdir: Path | None = None  # None: a new folder under runs_root
    runs_root: Path | None = None  # None: $RUNNER_RUNS_DIR or ./runs
    base_dir: Path | None = None  # relative input/output paths resolve here; None: cwd
    python: str | None = None  # host: the interpreter `python` means; None: the running one
    timeout: float | None = None
    echo: TextIO | None = None  # where the module's output streams live; None: quiet
    verbose: bool = False  # environment builds stream their tool's output to echo (-v)
    mpi_processes: int | None = None
    cache: bool = True  # False: neither look up nor publish (--no-cache)
    force: bool = False  # re-run even on a hit, and replace the entry (--force)
    cache_dir: Path | None = None  # None: $RUNNER_CACHE_DIR or the XDG cache folder
    env_dir: Path | None = None  # the environment store; None: <cache_dir>/envs
    cache_read_only: bool = False  # serve hits, store nothing (also RUNNER_CACHE_READ_ONLY)
    env: str | None = None  # auto | host | venv | conda | docker; None: RUNNER_ENV, config, auto
    ca_bundle: Path | None = None  # None: RUNNER_CA_BUNDLE, config, PIP_CERT, SSL_CERT_FILE...
    strict_python: bool | None = None
    cancel: threading.Event | None = None  # set from another thread to stop the run (pipelines)
    require_cached: bool = False  # a miss is an error, nothing runs (a pipeline's --only/--from)
    session: Session | None = None  # what the steps of one pipeline run share
    debug: DebugRequest | None = None  # --debug: start under debugpy (never from the cache)
    stdin: bool = False  # the command reads runner's stdin (a terminal: breakpoint(), --pdb)
    post_mortem: bool = False  # --pdb: post-mortem pdb in the module's process when it raises
    in_process: bool = False  # run the python script in this interpreter (runpy), not a child
    recorded: Mapping[str, object] | None = None  # more fields for run.json (the executor's)
    gpus: tuple[str, ...] | None = None  # the GPU ids the command sees; None: as inherited


class Job(Struct):
    """Everything decided about a run before it is executed or served from the cache."""

    spec: ModuleSpec
    bindings: Bindings
    plan: SnapshotPlan | None
    launcher: tuple[str, ...]
    environment: EnvChoice
    env_store: EnvStore
    runs_root: Path
    options: RunOptions
    store: CacheStore | None
    parts: KeyParts | None  # None when the cache is off
    hashed_bytes: int = 0  # bytes read to digest the snapshot and inputs (0: all memoised)


def prepare_job(
    spec: ModuleSpec,
    values: Mapping[str, object],
    outputs: Mapping[str, object] | None,
    options: RunOptions,
) -> Job:
    """Check and bind everything, choose the environment, plan the snapshot and compute the
    cache key; build and run nothing."""
    base_dir = options.base_dir or Path.cwd()
    refuse_unrunnable(spec)
    if options.in_process:
        options = _in_process_options(spec, options)
    bindings = bind(spec, values, outputs, base_dir=base_dir)
    if options.workdir is not None:
        _check_destinations(spec, bindings, RunDir(options.workdir.expanduser().resolve()))
    settings = load_settings(
        os.environ,
        env=options.env,
        ca_bundle=options.ca_bundle,
        strict_python=options.strict_python,
    )
    environment = choose_environment(spec, settings, options.python, verbose=options.verbose)
    launcher: list[str] = []
    if spec.job_type is JobType.MPI:
        launcher = mpi_launcher(
            spec, options.mpi_processes, inside_container=environment.name == "docker"
        )
    cache_root = options.cache_dir or default_cache_root(os.environ)
    _refuse_cache_destinations(bindings, cache_root)
    env_store = EnvStore(options.env_dir or cache_root / "envs")
    store = None
    if options.cache:
        read_only = options.cache_read_only or read_only_requested(os.environ)
        session = options.session
        if session is not None:
            store = session.store(cache_root, read_only=read_only)
        else:
            store = CacheStore(cache_root, read_only=read_only)
    plan = plan_with_memo(spec, store.state if store else None)
    parts = None
    if store is not None:
        fingerprint = environment.backend.fingerprint(environment.request, env_store)
        parts = key_parts(
            spec,
            bindings.values,
            bindings.inputs,
            plan,
            f"{environment.name}:{fingerprint}",
            store.state,
        )
    return Job(
        spec=spec,
        bindings=bindings,
        plan=plan,
        launcher=tuple(launcher),
        environment=environment,
        env_store=env_store,
        runs_root=options.runs_root or default_runs_root(os.environ, base_dir),
        options=options,
        store=store,
        parts=parts,
        hashed_bytes=store.state.stats.bytes_read if store else 0,
    )


def _in_process_options(spec: ModuleSpec, options: RunOptions) -> RunOptions:
    """In-process, the current interpreter is the step's environment (as `--env host
    --python` it); an environment asked for explicitly (flag, RUNNER_ENV, config) is refused,
    naming the flag to use."""
    chosen = load_settings(os.environ, env=options.env).env
    if chosen in ("venv", "conda", "docker"):
        raise UnsupportedError(
            f"{spec.source}: --in-process runs in this interpreter, and the {chosen} "
            "environment is asked for",
            f"drop --in-process to run in the {chosen} environment, or choose --env host",
        )
    return replace(options, env="host", python=sys.executable)


def _check_destinations(spec: ModuleSpec, bindings: Bindings, run_dir: RunDir) -> None:
    """With a known run folder, an output placed inside the folder the module writes it to is
    refused before anything runs (delivery would refuse it after the run)."""
    for out in spec.outputs:
        destination = bindings.outputs.get(out.name)
        if destination is not None and not out.is_file:
            check_destination(run_dir.outputs / out.python_name, destination)


def _refuse_cache_destinations(bindings: Bindings, cache_root: Path) -> None:
    """The cache folder holds runner's own files (entries, objects, environments): an output
    delivered into it would sit among them, and gc or `cache rm` may delete it."""
    root = cache_root.expanduser().resolve()
    for name, destination in bindings.outputs.items():
        target = destination.resolve()
        if target == root or target.is_relative_to(root):
            raise BindingError(
                f"output {quote(name)}: {destination} is inside the cache folder {root}",
                "place outputs outside the cache folder (-o NAME=PATH elsewhere)",
            )


def plan_with_memo(spec: ModuleSpec, state: StateDB | None) -> SnapshotPlan | None:
    if spec.code is None:
        return None
    memo = MemoFileDigest(state)
    plan = plan_snapshot(spec.code, file_digest=memo)
    memo.flush()
    return plan


def preview_command(
    spec: ModuleSpec,
    values: Mapping[str, object],
    outputs: Mapping[str, object] | None = None,
    base_dir: Path | None = None,
) -> list[str]:
    """The argv a run would execute, without creating anything; outputs are shown where the
    module writes them, relative to its run folder (`outputs/<name>`)."""
    bindings = bind(spec, values, outputs, base_dir=base_dir or Path.cwd())
    placeholder = RunDir(Path())
    return command(
        spec,
        bindings.values,
        {name: str(path) for name, path in bindings.inputs.items()},
        {out.name: str(work_path(out, bindings, placeholder)) for out in spec.outputs},
        str(placeholder.internal / PARALLEL_DRIVER.name),
    )
