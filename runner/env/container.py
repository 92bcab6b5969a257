"""Run one command in a docker container: the container counterpart of `runner.process.local`.

`run_container(ContainerInvocation) -> Outcome` creates the container (named, running as the
given uid:gid so that what it writes belongs to the user, with docker's init as PID 1 so that
signals reach the command and zombies are reaped), attaches to its output before starting it,
and writes the same log as `execute` (``<UTC time, ms> <stdout|stderr|runner> <text>``, see
`runner.process.logfile`) while echoing live. It waits with the timeout; on timeout or Ctrl-C
(SIGINT, or SIGTERM) the container gets SIGINT, then `docker stop` (SIGTERM, SIGKILL after the
grace period), and the `Outcome` says timed_out / interrupted; setting `cancel` (from another
thread) counts as a Ctrl-C. The container is always removed; if runner itself dies (SIGKILL
included), the watch removes it (`runner.process.watch`). Like `execute`, it never raises
for what the command does (a command that cannot start is ``Outcome.start_error``); an engine
that does not answer is an UnsupportedError.

The container's environment is the image's ENV plus `env` (and HOME=/tmp unless `env` sets
it: the uid rarely has a home in the image); nothing comes from ours.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import docker
import docker.errors
from docker.types import DeviceRequest, Mount

from runner.env.container_watch import POLL, Pump, Waiter, wait_until
from runner.env.docker_engine import DEFAULT_HOST, engine_client, engine_errors
from runner.errors import shown
from runner.process.local import Outcome, check_invocation
from runner.process.logfile import LogWriter, end_note, now, open_log
from runner.process.signals import Cancelled, Signals, Terminated
from runner.process.watch import WATCH
from runner.struct import Struct, field, replace

__all__ = ["ContainerInvocation", "container_name", "host_has_gpu", "run_container"]

_PUMP_DRAIN = 2.0  # how long the output may lag behind the container's exit
# docker's init (tini) execs the command: a command that cannot start is its exit 126/127.
_INIT_FATAL = re.compile(r"\[FATAL tini \(\d+\)\] exec (.*) failed: (.*)")


class ContainerInvocation(Struct):
    """One command to run in a container. `mounts` are (host path, container path, read-only);
    `user` is "uid:gid"; `gpus` > 0 asks for that many NVIDIA GPUs when the host has any,
    ALL_GPUS (-1) for all of them."""

    image: str
    argv: tuple[str, ...]
    log_path: Path
    mounts: tuple[tuple[Path, str, bool], ...] = ()
    workdir: str = ""  # empty: the image's WORKDIR
    env: Mapping[str, str] = field(default_factory=dict)
    user: str = field(default_factory=lambda: f"{os.getuid()}:{os.getgid()}")
    name: str = field(default_factory=lambda: container_name("run"))
    timeout: float | None = None
    echo: TextIO | None = None
    gpus: int = 0
    gpu_ids: tuple[str, ...] = ()  # exactly these GPUs (runner assigned them), over `gpus`
    shm_size: str | None = None
    grace: float = 5.0
    # Set by another thread (a pipeline's scheduler on Ctrl-C) to stop this run as if it had
    # been interrupted: signals reach only the main thread, steps may run in worker threads.
    cancel: threading.Event | None = None
    # Container port -> (host address, host port) to publish (a debugger's); none by default.
    ports: Mapping[int, tuple[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_invocation(self)


def container_name(module: str) -> str:
    """`runner-<module>-<random>`, within docker's name alphabet."""
    slug = "".join(c if c.isalnum() else "-" for c in module.lower()).strip("-")[:40]
    return f"runner-{slug or 'module'}-{os.urandom(4).hex()}"


ALL_GPUS = -1  # docker's count for "every GPU the host has"


def host_has_gpu() -> bool:
    return shutil.which("nvidia-smi") is not None or Path("/dev/nvidia0").exists()


def run_container(invocation: ContainerInvocation) -> Outcome:
    """Run the invocation to completion and return its outcome (see the module docstring)."""
    client = engine_client()
    with open_log(invocation.log_path, invocation.echo) as log:
        outcome = _ContainerRun(client, invocation, log).run()
    return replace(outcome, log_lost=log.lost) if log.lost else outcome


class _ContainerRun:
    def __init__(self, client: docker.DockerClient, inv: ContainerInvocation, log: LogWriter):
        self.client = client
        self.api = client.api
        self.inv = inv
        self.log = log

    def run(self) -> Outcome:
        inv = self.inv
        started_at = self.log.header(
            inv.argv,
            f"image: {inv.image}",
            f"container: {inv.name} (user {inv.user})",
            f"cwd: {inv.workdir or '(the image default)'}",
            *(
                f"mount: {host} -> {target} ({'ro' if read_only else 'rw'})"
                for host, target, read_only in inv.mounts
            ),
            *(f"port: {host}:{port} -> {inner}" for inner, (host, port) in inv.ports.items()),
        )
        container: str | None = None
        pump: Pump | None = None
        signals = Signals()
        # Told before the container exists: if runner dies from here on, the watch removes it.
        watched = ("container", inv.name, os.environ.get("DOCKER_HOST") or DEFAULT_HOST)
        WATCH.hold(*watched)
        try:
            signals.arm()
            with engine_errors():
                try:
                    if self.inv.cancel is not None and self.inv.cancel.is_set():
                        raise Cancelled
                    container = self._create()
                    # Attached before the start, as `docker run` does: no output is missed.
                    frames = self.api.attach(container, stream=True, logs=True, demux=True)
                    pump = Pump(frames, self.log)
                    pump.start()
                    self.api.start(container)
                except docker.errors.APIError as exc:
                    message = self._start_error(exc)
                    self.log.note(f"start failed: {message}")
                    return self._outcome(None, started_at, now(), start_error=message)
                except (KeyboardInterrupt, Terminated, Cancelled):
                    signals.stopping()
                    self.log.note("interrupted while starting the container")
                    outcome = self._killed_early(container, started_at)
                    self.log.note(end_note(outcome))
                    return outcome
                return self._follow(container, pump, started_at, signals)
        finally:
            # Under the stopping handlers when they are installed: a Ctrl-C now must not
            # leave the container behind.
            if container is not None:
                self._remove(container)
            WATCH.release(*watched)
            if pump is not None:
                pump.finish(0.5)
            signals.restore()

    @staticmethod
    def _outcome(
        exit_code: int | None,
        started_at: datetime,
        ended_at: datetime | None,
        *,
        timed_out: bool = False,
        interrupted: bool = False,
        start_error: str | None = None,
    ) -> Outcome:
        return Outcome(
            exit_code, started_at, ended_at or now(), timed_out, interrupted, start_error,
            containment="container",
        )  # fmt: skip

    def _killed_early(self, container: str | None, started_at: datetime) -> Outcome:
        """Interrupted before the container could be followed: too early to stop it
        gracefully, it is killed, and its real end is what the outcome says."""
        exit_code = None
        if container is not None:
            with contextlib.suppress(docker.errors.APIError):
                self.api.kill(container, signal="SIGKILL")
            with contextlib.suppress(Exception):
                status = int(self.api.wait(container, timeout=10)["StatusCode"])
                exit_code = 128 - status if status > 128 else status
        return self._outcome(exit_code, started_at, now(), interrupted=True)

    def _create(self) -> str:
        inv = self.inv
        mounts = [
            Mount(target, str(host), type="bind", read_only=read_only)
            for host, target, read_only in inv.mounts
        ]
        device_requests = None
        if inv.gpu_ids:
            device_requests = [DeviceRequest(device_ids=list(inv.gpu_ids), capabilities=[["gpu"]])]
            self.log.note(f"gpus: {','.join(inv.gpu_ids)} assigned")
        elif inv.gpus != 0:
            wanted = "all" if inv.gpus == ALL_GPUS else str(inv.gpus)
            if host_has_gpu():
                device_requests = [DeviceRequest(count=inv.gpus, capabilities=[["gpu"]])]
                self.log.note(f"gpus: {wanted} requested")
            else:
                self.log.note(f"gpus: {wanted} requested, but this host has no NVIDIA GPU")
        host_config = self.api.create_host_config(
            mounts=mounts,
            init=True,
            shm_size=inv.shm_size,
            device_requests=device_requests,
            port_bindings={str(port): bound for port, bound in inv.ports.items()} or None,
        )
        created = self.api.create_container(
            inv.image,
            command=list(inv.argv),
            user=inv.user,
            # Any uid may run here, most without a home: tools that need one get /tmp.
            environment={"HOME": "/tmp", **inv.env},
            working_dir=inv.workdir or None,
            name=inv.name,
            labels={"runner.run": "1"},
            ports=list(inv.ports) or None,
            host_config=host_config,
        )
        return str(created["Id"])

    def _follow(
        self, container: str, pump: Pump, started_at: datetime, signals: Signals
    ) -> Outcome:
        waiter = Waiter(self.client, container)
        waiter.start()
        timed_out, interrupted = signals.waiting(lambda: self._wait(waiter))
        signalled = False
        if timed_out:
            self.log.note(f"timeout after {self.inv.timeout} s: stopping the container")
        elif interrupted:
            self.log.note("interrupted: stopping the container")
        if waiter.waiting:
            signalled = True
            self._stop(container, waiter, signals.hurry)
        pump.finish(_PUMP_DRAIN)
        if waiter.error is not None:
            self.log.note(f"waiting for the container failed: {waiter.error}")
        exit_code = waiter.status
        start_error = self._init_error(exit_code, pump) if not signalled else None
        if start_error is not None:
            self.log.note(f"start failed: {start_error}")
            return self._outcome(
                None, started_at, waiter.ended_at, interrupted=interrupted, start_error=start_error
            )
        if signalled and exit_code is not None and exit_code > 128:
            exit_code = 128 - exit_code  # docker's 128+N for signal N, as execute's -N
        interrupted = interrupted or signals.hurry.is_set()
        outcome = self._outcome(
            exit_code, started_at, waiter.ended_at, timed_out=timed_out, interrupted=interrupted
        )
        self.log.note(end_note(outcome))
        return outcome

    def _init_error(self, exit_code: int | None, pump: Pump) -> str | None:
        if exit_code not in (126, 127):
            return None
        match = _INIT_FATAL.search(pump.stderr_head.decode("utf-8", errors="replace"))
        if match is None:
            return None
        program, reason = shown(match.group(1)), match.group(2).strip()
        if reason == "No such file or directory":
            return f"command not found: {program}"
        if reason == "Permission denied":
            return f"permission denied: {program}"
        return f"cannot start {program}: {reason}"

    def _wait(self, waiter: Waiter) -> bool:
        """Wait for the container to exit; True when the timeout came first."""
        timeout = self.inv.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        cancel = self.inv.cancel
        while waiter.waiting:
            if cancel is not None and cancel.is_set():
                raise Cancelled
            step = POLL
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return True
                step = min(step, left)
            waiter.wait_for(step)
        return False

    def _stop(self, container: str, waiter: Waiter, hurry: threading.Event) -> None:
        """SIGINT, then SIGTERM, then SIGKILL (docker stop's own escalation)."""
        grace = self.inv.grace
        if not hurry.is_set():
            self.log.note("sending SIGINT to the container")
            with contextlib.suppress(docker.errors.APIError):
                self.api.kill(container, signal="SIGINT")
            if wait_until(waiter, grace, hurry):
                return
        if not hurry.is_set():
            self.log.note(f"stopping the container (SIGTERM, SIGKILL after {grace:g} s)")
            stopper = threading.Thread(
                target=self._quietly,
                args=(self.api.stop, container, max(1, round(grace))),
                daemon=True,
            )
            stopper.start()
            if wait_until(waiter, grace + 5.0, hurry):
                return
        self.log.note("sending SIGKILL to the container")
        with contextlib.suppress(docker.errors.APIError):
            self.api.kill(container, signal="SIGKILL")
        waiter.wait_for(10.0)

    @staticmethod
    def _quietly(call: Any, container: str, timeout: int) -> None:
        with contextlib.suppress(Exception):
            call(container, timeout=timeout)

    def _remove(self, container: str) -> None:
        try:
            self.api.remove_container(container, v=True, force=True)
        except docker.errors.NotFound:
            pass
        except Exception as exc:  # the outcome stands; the log says what is left behind
            self.log.note(f"could not remove container {self.inv.name}: {exc}")

    def _start_error(self, exc: docker.errors.APIError) -> str:
        explanation = str(exc.explanation or exc)
        program = self.inv.argv[0]
        if isinstance(exc, docker.errors.ImageNotFound):
            return f"image not found: {self.inv.image}"
        if "executable file not found" in explanation or (
            "exec:" in explanation and "no such file or directory" in explanation
        ):
            return f"command not found: {program}"
        if "exec:" in explanation and "permission denied" in explanation:
            return f"permission denied: {program}"
        return f"cannot start the container: {explanation}"
