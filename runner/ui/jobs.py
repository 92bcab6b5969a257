"""Runs started from the page: `runner pipeline run ...` as a child process, exactly the command
the page shows, so that what a button does can be typed in a terminal.

The child runs in its own session (Stop sends it SIGINT, as Ctrl-C would: runner cancels its
steps and records the run as interrupted) with an explicit copy of the server's environment.
What it prints goes to a file the page can show (a refused pipeline says why there).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from runner.errors import UsageError
from runner.struct import Struct

OUTPUT_LIMIT = 64 * 1024  # the end of a job's output the page is sent


class RunRequest(Struct):
    """What a button asks for: the whole pipeline, from a step on, or one step forced; with
    the server's --registry, when it was given one."""

    pipeline: Path
    from_step: str | None = None
    force_step: str | None = None
    registry: Path | None = None

    def args(self, shown_path: str) -> list[str]:
        argv = ["pipeline", "run", shown_path]
        if self.from_step:
            argv += ["--from", self.from_step]
        if self.force_step:
            argv += ["--force", self.force_step]
        if self.registry is not None:
            argv += ["--registry", str(self.registry)]
        return argv


def shown_path(path: Path, cwd: Path) -> str:
    """The pipeline as a person in `cwd` would type it."""
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def command_text(request: RunRequest, cwd: Path) -> str:
    return shlex.join(["runner", *request.args(shown_path(request.pipeline, cwd))])


class Job:
    """One child `runner pipeline run`."""

    def __init__(self, request: RunRequest, cwd: Path, env: Mapping[str, str], logs: Path):
        self.request = request
        self.command = command_text(request, cwd)
        self.started_at = time.time()
        self.output = logs / f"job-{int(self.started_at * 1000)}-{os.getpid()}.log"
        argv = [sys.executable, "-m", "runner", *request.args(shown_path(request.pipeline, cwd))]
        with open(self.output, "wb") as sink:
            self._process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.stopping = False
        # Reaped as soon as it ends, so that no zombie waits for the next status request.
        threading.Thread(target=self._process.wait, daemon=True).start()

    @property
    def exit_code(self) -> int | None:
        return self._process.poll()

    def stop(self) -> None:
        if self._process.poll() is None:
            self.stopping = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGINT)

    def kill(self, grace: float = 5.0) -> None:
        """Stop, and kill what has not ended after `grace` seconds (the server is closing)."""
        self.stop()
        try:
            self._process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def to_json(self) -> dict[str, object]:
        try:
            with open(self.output, "rb") as stream:
                stream.seek(max(0, self.output.stat().st_size - OUTPUT_LIMIT))
                text = stream.read().decode("utf-8", "replace")
        except OSError:
            text = ""
        return {
            "command": self.command,
            "running": self.exit_code is None,
            "exit_code": self.exit_code,
            "stopping": self.stopping,
            "started_at": self.started_at,
            "output": text,
        }


class Jobs:
    """At most one job per pipeline at a time."""

    def __init__(self, cwd: Path, env: Mapping[str, str], logs: Path) -> None:
        self.cwd = cwd
        self.env = dict(env)
        self.logs = logs
        self._jobs: dict[Path, Job] = {}
        self._lock = threading.Lock()

    def start(self, request: RunRequest) -> Job:
        with self._lock:
            current = self._jobs.get(request.pipeline)
            if current is not None and current.exit_code is None:
                raise UsageError(
                    f"{shown_path(request.pipeline, self.cwd)} is already running",
                    "stop it first, or wait until it ends",
                )
            job = Job(request, self.cwd, self.env, self.logs)
            self._jobs[request.pipeline] = job
            return job

    def get(self, pipeline: Path) -> Job | None:
        return self._jobs.get(pipeline)

    def close(self, jobs: Sequence[Job] | None = None) -> None:
        for job in jobs if jobs is not None else list(self._jobs.values()):
            job.kill()
