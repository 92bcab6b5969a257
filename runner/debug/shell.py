"""`runner shell`: a shell in a step's environment and folder, read from its run record.

A process run (host, venv, conda) gets bash with the run's variables (PATH with the
environment's bin folder first, VIRTUAL_ENV or CONDA_PREFIX, the spec's variables), in the
snapshot folder, the step's command printed and put in the shell's history (Up, Enter runs
it). A docker run gets an interactive container of the same image, mounts, user and
variables. With a command (`runner shell ... -- CMD ARGS`), that command runs instead, without
a terminal, and its exit code is the shell's.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from runner.errors import UsageError
from runner.run.childenv import EnvOverrides
from runner.struct import Struct


class ShellPlan(Struct):
    name: str
    root: Path  # the run folder
    argv: tuple[str, ...]  # the step's command
    overrides: EnvOverrides
    container: Mapping[str, object] | None  # image, user, mounts, env of a docker run

    @property
    def cwd(self) -> Path:
        return self.root / "snapshot"

    @property
    def command_text(self) -> str:
        return shlex.join(self.argv)

    def to_json(self) -> dict[str, object]:
        return {
            "run_dir": str(self.root),
            "cwd": str(self.cwd),
            "command": list(self.argv),
            "environment_overrides": self.overrides.to_json(),
            "container": dict(self.container) if self.container is not None else None,
        }


def plan_from_record(record: Mapping[str, object], root: Path) -> ShellPlan:
    """What a shell needs from a run's record (`run.json`, or a prepared run's)."""
    spec = record.get("spec")
    name = str(spec.get("name", root.name)) if isinstance(spec, dict) else root.name
    changes = record.get("environment_overrides")
    overrides = EnvOverrides()
    if isinstance(changes, dict):
        overrides = EnvOverrides(dict(changes.get("set", {})), dict(changes.get("prepend", {})))
    container = record.get("container")
    argv = record.get("argv")
    return ShellPlan(
        name=name,
        root=root,
        argv=tuple(str(word) for word in argv) if isinstance(argv, list) else (),
        overrides=overrides,
        container=container if isinstance(container, dict) else None,
    )


def ran_here(folder: Path) -> bool:
    """A run folder whose command ran (a cached run's has no snapshot to open a shell in)."""
    from runner.debug.target import read_record

    return bool(read_record(folder).get("argv"))


def open_shell(plan: ShellPlan, command: Sequence[str], stderr: object = None) -> int:
    """Run `command` in the step's environment (or an interactive shell when it is empty)."""
    if plan.container is not None:
        return subprocess.call(_docker_argv(plan, command))
    env = plan.overrides.apply(os.environ)
    if command:
        try:
            return subprocess.call(list(command), cwd=plan.cwd, env=env)
        except FileNotFoundError:
            raise UsageError(f"command not found in the step's environment: {command[0]}") from None
    rc = _write_rc(plan)
    return subprocess.call(["bash", "--rcfile", str(rc), "-i"], cwd=plan.cwd, env=env)


def _write_rc(plan: ShellPlan) -> Path:
    """bash's start-up: the user's own rc, then the step's variables again (an rc that sets
    PATH must not hide the environment), the prompt, and the command in the history."""
    rc = plan.root / ".runner" / "shellrc"
    rc.parent.mkdir(exist_ok=True)
    lines = [
        '[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"',
        *plan.overrides.shell_lines(),
        f'PS1={shlex.quote(f"(runner: {plan.name}) ")}"$PS1"',
        f"history -s {shlex.quote(plan.command_text)}",
        f"echo {shlex.quote(f'runner: in {plan.cwd}; the step runs (Up, Enter):')}",
        f"echo {shlex.quote('  ' + plan.command_text)}",
    ]
    rc.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rc


def _docker_argv(plan: ShellPlan, command: Sequence[str]) -> list[str]:
    container = plan.container or {}
    argv = ["docker", "run", "--rm", "--init", "-i"]
    if not command and sys.stdin.isatty():
        argv.append("-t")
    argv += ["--user", str(container.get("user")), "--workdir", "/mnt/runner/snapshot"]
    mounts = container.get("mounts")
    for mount in mounts if isinstance(mounts, list) else []:
        suffix = ":ro" if mount.get("read_only") else ""
        argv += ["--volume", f"{mount['host']}:{mount['container']}{suffix}"]
    env = container.get("env")
    for key, value in sorted(env.items() if isinstance(env, dict) else []):
        argv += ["--env", f"{key}={value}"]
    argv += ["--env", f"RUNNER_STEP_COMMAND={plan.command_text}"]
    argv.append(str(container.get("image")))
    if command:
        return [*argv, *command]
    greeting = 'echo "runner: the step runs: $RUNNER_STEP_COMMAND"; '
    shell = "if command -v bash >/dev/null; then exec bash; else exec sh; fi"
    return [*argv, "sh", "-c", greeting + shell]
