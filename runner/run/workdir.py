"""The layout of one run's working directory, and the files that record the run."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from runner.bind.bindings import Bindings
from runner.errors import BindingError, StorageError
from runner.files import PRIVATE, RUNS_MARKER, make_folder, modes_of, storage_problem
from runner.run.childenv import EnvOverrides
from runner.spec.model import OutputPort
from runner.struct import Struct

RUNS_DIR_VARIABLE = "RUNNER_RUNS_DIR"


class RunDir(Struct):
    """Where everything of one run lives. Only paths; creating them is `create_run_dir`'s job."""

    root: Path

    @property
    def snapshot(self) -> Path:
        return self.root / "snapshot"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def log(self) -> Path:
        return self.root / "execution.log"

    @property
    def record(self) -> Path:
        return self.root / "run.json"

    @property
    def rerun_script(self) -> Path:
        return self.root / "rerun.sh"

    @property
    def internal(self) -> Path:
        """Files runner needs for the run (interpreter shims, drivers), kept out of the snapshot."""
        return self.root / ".runner"


def work_path(output: OutputPort, bindings: Bindings, run_dir: RunDir) -> Path:
    """Where the module writes an output: always inside its run folder (a place chosen with
    -o receives it after success); a file output keeps the file name the user chose."""
    folder = run_dir.outputs / output.python_name
    chosen = bindings.outputs.get(output.name)
    if output.is_file and chosen is not None:
        return folder / chosen.name
    return folder


def default_runs_root(environ: Mapping[str, str], cwd: Path) -> Path:
    configured = environ.get(RUNS_DIR_VARIABLE)
    return Path(configured).expanduser().resolve() if configured else cwd / "runs"


RUN_NAME_LIMIT = 64  # characters of a module's name kept in its run folders' names


def new_run_name(name: str, now: datetime) -> str:
    """`<name>-<time>-<random>`, the name made safe for a folder (module names are free text)."""
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name.lower()).strip("_.")
    slug = slug[:RUN_NAME_LIMIT].rstrip("_.")  # a folder name has at most 255 bytes
    stamp = now.strftime("%Y%m%d-%H%M%S")
    return f"{slug or 'run'}-{stamp}-{os.urandom(3).hex()}"


def create_run_dir(workdir: Path | None, runs_root: Path, module_name: str) -> RunDir:
    """Make a fresh run directory; an existing non-empty one is refused, never overwritten."""
    if workdir is None:
        mark_runs_root(runs_root)
        root = runs_root / new_run_name(module_name, datetime.now(timezone.utc))
    else:
        root = workdir.expanduser().resolve()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise BindingError(
                f"working directory {root} already exists and is not empty",
                "name a new folder with --workdir (runner never overwrites an earlier run)",
            )
    try:
        # Private (0700): its records hold the values of the run, secrets included.
        make_folder(root, parents=True)
    except OSError as exc:
        raise BindingError(f"cannot create working directory {root}: {exc.strerror}") from None
    run_dir = RunDir(root)
    run_dir.outputs.mkdir()
    run_dir.internal.mkdir()
    # Made now with its mode (whatever the umask): whoever writes the log later appends to it.
    fd = os.open(run_dir.log, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, PRIVATE.file)
    os.fchmod(fd, modes_of(root).file)
    os.close(fd)
    return run_dir


def mark_runs_root(runs_root: Path) -> None:
    marker = runs_root / RUNS_MARKER
    if marker.exists():
        return
    try:
        make_folder(runs_root, parents=True)
        marker.write_text("Run folders made by runner; code snapshots leave this out.\n")
    except OSError as exc:
        problem = storage_problem(exc, runs_root)
        if problem is not None:
            raise StorageError(
                f"cannot create the runs folder {runs_root}: {problem}",
                "free some space, or use another folder",
            ) from None
        raise BindingError(f"cannot create the runs folder {runs_root}: {exc.strerror}") from None


def write_rerun_script(path: Path, argv: Sequence[str], cwd: Path, overrides: EnvOverrides) -> None:
    """A script that repeats the exact command by hand, for debugging outside runner."""
    lines = [
        "#!/bin/sh",
        "# Repeats this run's command by hand: same working directory, same variables runner set.",
        "# Outputs are written where the original run wrote them.",
        f"cd {shlex.quote(str(cwd))} || exit 1",
    ]
    lines += overrides.shell_lines()
    lines.append(f"exec {shlex.join(argv)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o700)  # private, as the run folder: it spells out the run's variables
