"""The layout of one run's working directory, and the files that record the run."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from runner.errors import BindingError
from runner.run.childenv import EnvOverrides

RUNS_DIR_VARIABLE = "RUNNER_RUNS_DIR"
# Marks a folder holding run folders, so a code snapshot never takes it in (a runs folder
# inside a module's own folder would otherwise change its snapshot on every run).
RUNS_MARKER = ".runner-runs"


def is_runner_folder(path: Path) -> bool:
    """A folder runner made for its own use: a runs folder, a run folder, or a cache."""
    return (
        (path / RUNS_MARKER).exists()
        or (path / "CACHEDIR.TAG").is_file()
        or ((path / ".runner").is_dir() and (path / "run.json").is_file())
    )


@dataclass(frozen=True)
class RunDir:
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


def default_runs_root(environ: Mapping[str, str], cwd: Path) -> Path:
    configured = environ.get(RUNS_DIR_VARIABLE)
    return Path(configured).expanduser().resolve() if configured else cwd / "runs"


def new_run_name(name: str, now: datetime) -> str:
    """`<name>-<time>-<random>`, the name made safe for a folder (module names are free text)."""
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name.lower()).strip("_.")
    stamp = now.strftime("%Y%m%d-%H%M%S")
    return f"{slug or 'run'}-{stamp}-{secrets.token_hex(3)}"


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
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BindingError(f"cannot create working directory {root}: {exc.strerror}") from None
    run_dir = RunDir(root)
    run_dir.outputs.mkdir()
    run_dir.internal.mkdir()
    return run_dir


def mark_runs_root(runs_root: Path) -> None:
    marker = runs_root / RUNS_MARKER
    if marker.exists():
        return
    try:
        runs_root.mkdir(parents=True, exist_ok=True)
        marker.write_text("Run folders made by runner; code snapshots leave this out.\n")
    except OSError as exc:
        raise BindingError(f"cannot create the runs folder {runs_root}: {exc.strerror}") from None


def write_json_atomic(path: Path, data: object) -> None:
    """Readers see the old file or the new one, never a half-written one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; a run record is as readable as any other file the user makes.
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=2, sort_keys=False)
            stream.write("\n")
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    path.chmod(0o755)
