"""VS Code launch configurations (`type: debugpy`) for one prepared step.

A process step (host, venv, conda) gets a `launch` entry that runs exactly what runner would:
the environment's interpreter, the script (`program`) or `module`, the rendered arguments with
concrete input paths and the prepared run's output folders, the snapshot as `cwd`, the
variables runner sets (path lists in front of the inherited ones, `${env:NAME}`), and
`pathMappings` from the snapshot back to the sources so that breakpoints set there bind. A
docker step gets an `attach` entry, and the `runner ... --debug` command that starts it.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from runner.errors import UnsupportedError
from runner.run.debug import DebugAddress, DebugSession
from runner.run.engine import Prepared
from runner.run.job import Job
from runner.run.sourcemap import CONTAINER_SNAPSHOT, source_mappings

_FLAGS_WITH_VALUE = {"-X", "-W"}


def launch_configuration(job: Job, prepared: Prepared, label: str) -> dict[str, object]:
    record = prepared.record
    argv = [str(word) for word in record.get("argv", [])]  # type: ignore[attr-defined]
    python, flags, target = _split(argv, label)
    snapshot = prepared.run_dir.snapshot
    entry: dict[str, object] = {"name": f"runner: {label}", "type": "debugpy",
                                "request": "launch", "python": python}  # fmt: skip
    if flags:
        entry["pythonArgs"] = flags
    if target[0] == "-m":
        entry["module"] = target[1]
        entry["args"] = target[2:]
    else:
        script = Path(target[0])
        entry["program"] = str(script if script.is_absolute() else snapshot / script)
        entry["args"] = target[1:]
    entry["cwd"] = str(snapshot)
    entry["env"] = _env(record.get("environment_overrides"))
    mappings = source_mappings(job.plan, str(snapshot))
    entry["pathMappings"] = [{"localRoot": src, "remoteRoot": run} for src, run in mappings]
    entry["justMyCode"] = False
    entry["console"] = "integratedTerminal"
    return entry


def attach_configuration(job: Job, label: str, port: int) -> dict[str, object]:
    """A docker step: attach to the port `runner ... --debug` publishes; the container sees
    its snapshot at the same place every run, so the entry stays true."""
    session = DebugSession(
        DebugAddress("127.0.0.1", port),
        source_mappings(job.plan, CONTAINER_SNAPSHOT),
        Path(),
    )
    return session.attach_configuration(label)


def _split(argv: Sequence[str], label: str) -> tuple[str, list[str], list[str]]:
    """(interpreter, its flags, [script, args] or ["-m", module, args])."""
    if not argv or not Path(argv[0]).name.startswith("python"):
        raise UnsupportedError(
            f"{label}: a launch configuration runs a python command, and this step runs "
            f"{shlex.join(argv)}",
            "open a shell in its environment with `runner shell` instead",
        )
    flags: list[str] = []
    index = 1
    while index < len(argv) and argv[index].startswith("-") and argv[index] not in ("-m", "-c"):
        take = 2 if argv[index] in _FLAGS_WITH_VALUE else 1
        flags += argv[index : index + take]
        index += take
    target = list(argv[index:])
    if not target or target[0] == "-c":
        raise UnsupportedError(f"{label}: a launch configuration needs a script or -m module, "
                               f"and this step runs {shlex.join(argv)}")  # fmt: skip
    return argv[0], flags, target


def _env(changes: object) -> dict[str, str]:
    if not isinstance(changes, Mapping):
        return {}
    env = {str(k): str(v) for k, v in dict(changes.get("set", {})).items()}
    for name, front in dict(changes.get("prepend", {})).items():
        env[str(name)] = f"{front}{os.pathsep}${{env:{name}}}"
    return env
