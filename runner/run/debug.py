"""A run started under debugpy (`--debug [HOST:]PORT`): the address, the python command made to
listen, the source mappings given to the debug server, and the attach configuration to paste.

The command is not changed beyond its interpreter: `python ARGS` becomes
`python .runner/debug_start.py ARGS` (see `runner/resources/debug_start.py`), and in a shell
script `python` is a shim that does the same. debugpy is runner's own copy, put on the
command's PYTHONPATH through a folder holding it alone: nothing is installed in the module's
environment, and its fingerprint and the cache key stay as they were.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
from collections.abc import Callable, Sequence
from pathlib import Path

from runner.errors import UnsupportedError, UsageError
from runner.run.childenv import EnvOverrides
from runner.run.sourcemap import source_mappings
from runner.snapshot.model import SnapshotPlan
from runner.struct import Struct, field

DEBUG_START = Path(__file__).parent.parent / "resources" / "debug_start.py"
CONTAINER_PORT = 5678  # debugpy's usual port, inside a container (published on the host's)
_PYTHON = re.compile(r"python(\d+(\.\d+)?)?")
# A `python` word in a shell script: at the start, or after a separator or a path.
_PYTHON_IN_SCRIPT = re.compile(r"(^|[\s;&|(/])python(\d+(\.\d+)?)?(\s|$)")


class DebugAddress(Struct):
    host: str
    port: int  # 0: a free port is picked when the run starts

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_address(text: str, flag: str = "--debug") -> DebugAddress:
    """`[HOST:]PORT` (default host 127.0.0.1; port 0 picks a free one)."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or int(port) > 65535:
        raise UsageError(
            f"{flag} {text}: expected [HOST:]PORT, e.g. 5678 or 127.0.0.1:5678",
            "PORT 0 picks a free port",
        )
    return DebugAddress(host, int(port))


def concrete(address: DebugAddress) -> DebugAddress:
    """The address with a real port: port 0 becomes one free now on that host address."""
    if address.port != 0:
        return address
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((address.host, 0))
        return DebugAddress(address.host, int(probe.getsockname()[1]))


class DebugSession(Struct):
    """What the IDE needs to attach to one run, announced before the module starts."""

    address: DebugAddress
    mappings: tuple[tuple[str, str], ...]  # (source folder, folder as the run sees it)
    run_dir: Path

    def announcement(self) -> str:
        return f"debugger listening on {self.address} (waiting for the IDE to attach)"

    def attach_configuration(self, name: str) -> dict[str, object]:
        """A VS Code `attach` entry that works as pasted (the mappings are sent too: VS Code
        adds a workspace mapping to a local attach that names none)."""
        host = "127.0.0.1" if self.address.host in ("0.0.0.0", "::", "") else self.address.host
        return {
            "name": f"runner: attach to {name}",
            "type": "debugpy",
            "request": "attach",
            "connect": {"host": host, "port": self.address.port},
            "pathMappings": [
                {"localRoot": local, "remoteRoot": remote} for local, remote in self.mappings
            ],
            "justMyCode": False,
        }

    def to_json(self, name: str) -> dict[str, object]:
        return {
            "debugger": "listening",
            "host": self.address.host,
            "port": self.address.port,
            "run_dir": str(self.run_dir),
            "configuration": self.attach_configuration(name),
        }


class DebugRequest(Struct):
    """`--debug`: where to listen, and who hears when the run is about to wait for the IDE."""

    address: DebugAddress
    announce: Callable[[DebugSession], None] | None = field(default=None, compare=False)


def python_command(argv: Sequence[str], interpreter: str | None = None) -> int | None:
    """Where the interpreter stands in argv (after a launcher such as mpiexec), or None when
    the command is not a python one; -1 for a shell script that runs python."""
    for index, word in enumerate(argv):
        name = Path(word).name
        if word == interpreter or _PYTHON.fullmatch(name):
            return index
        if name in ("bash", "sh") and index + 2 < len(argv) and argv[index + 1] == "-c":
            return -1 if _PYTHON_IN_SCRIPT.search(argv[index + 2]) else None
    return None


def refuse_non_python(argv: Sequence[str], what: str, flag: str, backend: str) -> None:
    """A clear refusal (exit 2) for a command that no python debugger can start."""
    found = python_command(argv)
    if found is None:
        raise UnsupportedError(
            f"{what}: {flag} needs a python command, and this module runs {shlex.join(argv)}",
            "debug the program with its own debugger, or open a shell in the step's "
            "environment with `runner shell`",
        )
    if flag == "--pdb" and backend == "docker":
        raise UnsupportedError(
            f"{what}: --pdb needs the module to read this terminal, which a container does not",
            "run it with --env venv or --env host, or attach an IDE with --debug",
        )
    if found < 0 and backend == "docker":
        raise UnsupportedError(
            f"{what}: {flag} in a container needs the command to start python itself, and "
            f"this module runs a shell script: {shlex.join(argv)}",
            "run it with --env venv or --env host to debug it, or call python directly",
        )


def debug_argv(argv: Sequence[str], start_script: str, interpreter: str | None = None) -> list[str]:
    """`python ARGS` as `python START ARGS`; a shell script's pythons go through the shim."""
    index = python_command(argv, interpreter)
    if index is None or index < 0:
        return list(argv)
    return [*argv[: index + 1], start_script, *argv[index + 1 :]]


def debug_variables(listen: str, mappings: Sequence[tuple[str, str]], claim: str) -> dict[str, str]:
    return {
        # debugpy warns about frozen stdlib modules at every start; the user's code is not frozen.
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "RUNNER_DEBUG_LISTEN": listen,
        "RUNNER_DEBUG_MAPS": json.dumps([list(pair) for pair in mappings]),
        "RUNNER_DEBUG_CLAIM": claim,
    }


def debugpy_home(internal: Path) -> Path:
    """A folder holding runner's debugpy alone, for PYTHONPATH: the rest of runner's
    site-packages must not leak into the module's environment."""
    import debugpy  # a dependency of runner; imported only for a debug run

    home = internal / "debugpy"
    home.mkdir(exist_ok=True)
    link = home / "debugpy"
    if not link.exists():
        link.symlink_to(Path(debugpy.__file__).parent, target_is_directory=True)
    return home


def debug_process(
    session: DebugSession | None,
    argv: Sequence[str],
    interpreter: str,
    internal: Path,
    overrides: EnvOverrides,
) -> tuple[list[str], EnvOverrides]:
    """A process run's command and variables, changed to start under debugpy (a session), or
    under post-mortem pdb (none: `--pdb`)."""
    start = str(install_start_script(internal))
    for name in ("python", "python3"):
        shim = internal / "bin" / name
        shim.write_text(shim_script(interpreter, start), encoding="utf-8")
        shim.chmod(0o755)
    claim = str(internal / "debug-claim")
    if session is None:
        variables = {"RUNNER_DEBUG_PDB": "1", "RUNNER_DEBUG_CLAIM": claim}
    else:
        variables = debug_variables(str(session.address), session.mappings, claim)
    prepend = dict(overrides.prepend)
    front = str(debugpy_home(internal))
    prepend["PYTHONPATH"] = os.pathsep.join(filter(None, [prepend.get("PYTHONPATH"), front]))
    changed = EnvOverrides(values={**overrides.values, **variables}, prepend=prepend)
    return debug_argv(argv, start, interpreter), changed


def shim_script(interpreter: str, start_script: str) -> str:
    """`python` in a shell script, for a debug run: every python goes through the start script,
    which debugs only the first one."""
    return f'#!/bin/sh\nexec {shlex.quote(interpreter)} {shlex.quote(start_script)} "$@"\n'


def install_start_script(internal: Path) -> Path:
    import shutil

    target = internal / DEBUG_START.name
    shutil.copyfile(DEBUG_START, target)
    return target


def open_session(
    request: DebugRequest, plan: SnapshotPlan | None, run_dir: Path, in_container: str | None
) -> DebugSession:
    """The run's session: a concrete port, and the mappings from where the run sees its code
    (the snapshot, or its mount in a container) back to the sources."""
    seen_at = in_container or str(run_dir / "snapshot")
    session = DebugSession(concrete(request.address), source_mappings(plan, seen_at), run_dir)
    if request.announce is not None:
        request.announce(session)
    return session


def container_debug(
    session: DebugSession, argv: Sequence[str], internal: Path, root: str
) -> tuple[list[str], dict[str, str], tuple[Path, str], dict[int, tuple[str, int]]]:
    """A container run's command, added variables, debugpy's read-only mount and the published
    port: debugpy listens on the container's port, docker publishes it on the host address."""
    install_start_script(internal)  # mounted read-only with the rest of the internal folder
    start = f"{root}/internal/{DEBUG_START.name}"
    import debugpy  # runner's own copy, mounted as it is

    mount = (Path(debugpy.__file__).parent, f"{root}/debugpy/debugpy")
    variables = debug_variables(
        f"0.0.0.0:{CONTAINER_PORT}", session.mappings, "/tmp/runner-debug-claim"
    )
    variables["PYTHONPATH"] = f"{root}/debugpy"
    ports = {CONTAINER_PORT: (session.address.host, session.address.port)}
    return debug_argv(argv, start), variables, mount, ports
