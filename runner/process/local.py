"""Run one command: own session, live and timestamped log, timeout, no orphans. No policy.

`execute(Invocation) -> Outcome` is the only entry point (`check_invocation` is the validation
it shares with the container runner, `runner.env.container`). It never raises for anything the
child does (non-zero exit, signals, a command that cannot start; only a log file that cannot
be opened raises OSError); it returns an `Outcome` and the caller decides what that means.
In particular a Ctrl-C (SIGINT, or SIGTERM) received while the child runs is NOT re-raised:
the child's process tree is shut down and the `Outcome` comes back with ``interrupted=True``;
the caller must treat that as an interruption (exit 130).

The log (appended to, one record a line, see `runner.process.logfile`):
``<UTC time, ms> <stdout|stderr|runner> <text>``; ``runner`` records are the header (command,
cwd, start), escalation steps and the ``end:`` footer. The echo stream gets the child's output
raw, as it arrives.

How the process tree is contained (a cgroup v2, else the subreaper; the watch for runner's own
end): see `runner.process.contain`.

Signals are noticed only when `execute` runs on the main thread (Python delivers them there
and only there can handlers be installed): SIGINT as usual through KeyboardInterrupt (unless
the caller installed its own SIGINT handler), SIGTERM through a handler installed for the
duration of the call when SIGTERM has its default disposition (see `runner.process.signals`).
"""

from __future__ import annotations

import contextlib
import os
import select
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol, TextIO

from runner.errors import shown
from runner.process.contain import CONTAINMENT, Tree
from runner.process.logfile import LineSplitter, LogWriter, end_note, now, open_log
from runner.process.signals import Cancelled, Signals
from runner.process.tree import EXECUTION_ID_VAR
from runner.struct import Struct, replace

__all__ = ["EXECUTION_ID_VAR", "Invocation", "Outcome", "check_invocation", "execute"]

_READ_SIZE = 64 * 1024
# Exit is detected by Popen.wait's own polling (<= 50 ms); the tree scan between waits only
# needs to catch processes before they disappear, so it backs off for long runs.
_SCAN_FIRST = 0.1
_SCAN_MAX = 2.0
_POLL = 0.02
# How long the output pump may lag behind the end of the process tree before we stop reading:
# only a process outside our reach (no subreaper, cookie scrubbed) can hold the pipes longer.
_PUMP_DRAIN = 2.0
_CLEANUP_GRACE_MAX = 1.0


class Invocation(Struct):
    """One command to run.

    ``env`` is the complete environment of the child (nothing is inherited from ours), except
    for ``RUNNER_EXECUTION_ID`` which `execute` adds to track the child's descendants.
    """

    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str]
    log_path: Path
    timeout: float | None = None
    echo: TextIO | None = None
    grace: float = 5.0
    # Set by another thread (a pipeline's scheduler on Ctrl-C) to stop this run as if it had
    # been interrupted: signals reach only the main thread, commands run in worker threads.
    cancel: threading.Event | None = None
    stdin: bool = False  # the child reads our stdin (else /dev/null)

    def __post_init__(self) -> None:
        check_invocation(self, strings_only=True)


class _Checked(Protocol):
    @property
    def argv(self) -> tuple[str, ...]: ...
    @property
    def timeout(self) -> float | None: ...
    @property
    def grace(self) -> float: ...


def check_invocation(invocation: _Checked, *, strings_only: bool = False) -> None:
    """The checks every invocation (process or container) makes in its ``__post_init__``.

    Makes ``argv`` a tuple (a list slips through easily; a tuple keeps the frozen value really
    immutable), then rejects an empty argv (and, with `strings_only`, one holding anything but
    str), a timeout that is not positive and a negative grace period.
    """
    kind = type(invocation).__name__
    object.__setattr__(invocation, "argv", tuple(invocation.argv))
    if not invocation.argv:
        raise ValueError(f"{kind}.argv must not be empty")
    if strings_only and not all(isinstance(a, str) for a in invocation.argv):
        raise TypeError(f"{kind}.argv must hold only str")
    if invocation.timeout is not None and invocation.timeout <= 0:
        raise ValueError(f"{kind}.timeout must be positive, got {invocation.timeout}")
    if invocation.grace < 0:
        raise ValueError(f"{kind}.grace must not be negative, got {invocation.grace}")


class Outcome(Struct):
    """What happened.

    ``exit_code`` is -N when the child was killed by signal N, None when it never started (then
    ``start_error`` says why). ``ended_at`` is when the child itself ended (leftover
    descendants are cleaned up after). ``interrupted`` is True when SIGINT or SIGTERM reached
    us during the call; the caller must stop as for a Ctrl-C. ``containment`` says what held
    the command's processes: "cgroup", "subreaper" or "container".
    """

    exit_code: int | None
    started_at: datetime
    ended_at: datetime
    timed_out: bool
    interrupted: bool
    start_error: str | None = None
    containment: str = ""
    log_lost: str | None = None  # why the log stops short (a full disk), if it does

    @property
    def duration(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


def execute(invocation: Invocation) -> Outcome:
    """Run the invocation to completion and return its outcome (see the module docstring)."""
    with open_log(invocation.log_path, invocation.echo) as log:
        outcome = _Execution(invocation, log).run()
    return replace(outcome, log_lost=log.lost) if log.lost else outcome


# --- the output ---------------------------------------------------------------------------


class _Pump(threading.Thread):
    """Reads stdout and stderr concurrently until both reach EOF, or `finish` gives up."""

    def __init__(self, pipes: list[tuple[IO[bytes], str]], log: LogWriter) -> None:
        super().__init__(name="runner-execute-pump", daemon=True)
        self._pipes = pipes
        self._log = log
        self._stopping = threading.Event()

    def run(self) -> None:
        with selectors.DefaultSelector() as selector:
            for pipe, tag in self._pipes:
                selector.register(pipe.fileno(), selectors.EVENT_READ, LineSplitter(tag, self._log))
            drain_reads = 64
            while selector.get_map():
                stopping = self._stopping.is_set()
                if stopping:
                    # Take what is already in the pipes, bounded: a stray writer may never stop.
                    drain_reads -= 1
                events = selector.select(timeout=0 if stopping else 0.1)
                if stopping and (not events or drain_reads < 0):
                    break
                for key, _ in events:
                    stream: LineSplitter = key.data
                    data = os.read(key.fd, _READ_SIZE)
                    if data:
                        stream.feed(data)
                    else:
                        selector.unregister(key.fd)
                        stream.close()
            for key in list(selector.get_map().values()):
                key.data.close()

    def finish(self, drain: float) -> None:
        self.join(drain)
        if self.is_alive():
            self._stopping.set()
            self.join()


# --- one execution -------------------------------------------------------------------------


class _Execution:
    def __init__(self, invocation: Invocation, log: LogWriter) -> None:
        self.inv = invocation
        self.log = log

    def run(self) -> Outcome:
        inv = self.inv
        started_at = self.log.header(inv.argv, f"cwd: {inv.cwd}")

        cookie = os.urandom(16).hex()
        env = dict(inv.env)
        # Appended, not replaced: a runner running inside a module run keeps the outer
        # execution able to recognise its processes.
        outer = env.get(EXECUTION_ID_VAR)
        env[EXECUTION_ID_VAR] = f"{outer} {cookie}" if outer else cookie
        slot = CONTAINMENT.prepare(cookie)
        try:
            proc = slot.popen(inv.argv, inv.cwd, env, inv.stdin)
        except (OSError, ValueError) as error:
            slot.cancel()
            message = self._start_error(error)
            self.log.note(f"start failed: {message}")
            ended_at = now()
            return Outcome(None, started_at, ended_at, False, False, message)

        tree = CONTAINMENT.adopt(proc.pid, cookie, slot)
        self.log.note(f"containment: {tree.describe()}")
        assert proc.stdout is not None and proc.stderr is not None
        pump = _Pump([(proc.stdout, "stdout"), (proc.stderr, "stderr")], self.log)
        pump.start()
        signals = Signals()
        settled = False
        try:
            timed_out, interrupted = signals.waiting(
                lambda: self._wait(proc, tree, time.monotonic())
            )
            if timed_out:
                self.log.note(f"timeout after {inv.timeout} s: stopping the process tree")
            elif interrupted:
                self.log.note("interrupted: stopping the process tree")
            if proc.returncode is None:
                self._escalate(proc, tree, signals.hurry)
            ended_at = now()
            self._cleanup(tree, signals.hurry)
            failed = slot.start_failure()
            settled = True
        finally:
            if not settled:
                # Something unexpected is propagating: never leave the tree behind.
                signals.hurry.set()
                with contextlib.suppress(Exception):
                    tree.signal(_sigkill(), root_alive=proc.returncode is None)
                    proc.wait()
                    self._cleanup(tree, signals.hurry)
            if proc.returncode is not None:
                tree.close()
            pump.finish(_PUMP_DRAIN)
            proc.stdout.close()
            proc.stderr.close()
            # Last: from here on a Ctrl-C is the caller's again.
            signals.restore()

        interrupted = interrupted or signals.hurry.is_set()
        if failed is not None:
            message = self._start_error(failed)
            self.log.note(f"start failed: {message}")
            return Outcome(None, started_at, ended_at, False, interrupted, message, tree.mode)
        outcome = Outcome(
            proc.returncode, started_at, ended_at, timed_out, interrupted, None, tree.mode
        )
        self.log.note(end_note(outcome))
        return outcome

    def _start_error(self, error: OSError | ValueError) -> str:
        cwd = str(self.inv.cwd)
        program = shown(self.inv.argv[0])
        if isinstance(error, ValueError):
            # e.g. an embedded NUL byte: no argv element can carry one.
            return f"cannot start {program}: {error}"
        if error.filename is not None and str(error.filename) == cwd:
            if isinstance(error, NotADirectoryError):
                return f"working directory is not a directory: {cwd}"
            if isinstance(error, FileNotFoundError):
                return f"working directory not found: {cwd}"
            return f"cannot enter working directory {cwd}: {error.strerror}"
        if isinstance(error, FileNotFoundError):
            return f"command not found: {program}"
        if isinstance(error, PermissionError):
            return f"permission denied: {program}"
        return f"cannot start {program}: {error.strerror or error}"

    def _wait(self, proc: subprocess.Popen[bytes], tree: Tree, start: float) -> bool:
        """Wait for the child to exit; True if the timeout came first."""
        timeout = self.inv.timeout
        deadline = None if timeout is None else start + timeout
        interval = _SCAN_FIRST
        cancel = self.inv.cancel
        with _ExitWatch(proc) as exited:
            while True:
                step = interval if cancel is None else min(interval, _CANCEL_POLL)
                if cancel is not None and cancel.is_set():
                    raise Cancelled
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return True
                    step = min(step, left)
                if exited(step):
                    return False
                tree.scan(root_alive=True)
                interval = min(interval * 1.5, _SCAN_MAX)

    def _escalate(self, proc: subprocess.Popen[bytes], tree: Tree, hurry: threading.Event) -> None:
        """SIGINT, then SIGTERM, then SIGKILL to the whole tree until the child exits."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            if hurry.is_set():
                break
            self.log.note(f"sending {signal.Signals(signum).name} to the process tree")
            tree.signal(signum, root_alive=True)
            if _wait_until(lambda: proc.poll() is not None, self.inv.grace, hurry):
                return
        self.log.note("sending SIGKILL to the process tree")
        tree.signal(_sigkill(), root_alive=True)
        proc.wait()

    def _cleanup(self, tree: Tree, hurry: threading.Event) -> None:
        """Kill and reap whatever of the tree outlived the child: TERM, then KILL."""
        grace = min(self.inv.grace, _CLEANUP_GRACE_MAX)
        signum: int = signal.SIGTERM
        # Bounded: a fork bomb could otherwise keep us here forever.
        for _ in range(10):
            if tree.quiet():
                break
            if hurry.is_set():
                signum = _sigkill()
            members = tree.signal(signum, root_alive=False)
            pids = ", ".join(str(pid) for pid in members) or "its process group"
            self.log.note(f"sent {signal.Signals(signum).name} to leftovers: {pids}")
            if signum == signal.SIGTERM:
                _wait_until(tree.quiet, grace, hurry)
            else:
                _wait_until(tree.quiet, 1.0, None)
            signum = _sigkill()
        else:
            self.log.note("some processes of the tree could not be stopped")
        if not _wait_until(tree.settled, 1.0, None):
            self.log.note("some processes of the tree could not be reaped")


_CANCEL_POLL = 0.1  # seconds: how soon a cancelled run starts stopping


class _ExitWatch:
    """Waits for a child's exit and wakes the moment it happens.

    `Popen.wait(timeout)` polls with sleeps that grow to 50 ms, which adds tens of milliseconds
    to every short command; a pidfd (Linux 5.3+) becomes readable at the exit itself.
    """

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc
        self._fd: int | None = None

    def __enter__(self) -> Callable[[float], bool]:
        opener = getattr(os, "pidfd_open", None)
        if opener is not None:
            with contextlib.suppress(OSError):
                self._fd = opener(self._proc.pid)
        return self._wait

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)

    def _wait(self, seconds: float) -> bool:
        """True once the child has exited (and was reaped); False after `seconds`."""
        if self._fd is not None:
            ready, _, _ = select.select([self._fd], [], [], seconds)
            if not ready:
                return self._proc.poll() is not None
            self._proc.wait()
            return True
        try:
            self._proc.wait(seconds)
        except subprocess.TimeoutExpired:
            return False
        return True


def _wait_until(done: Callable[[], bool], seconds: float, hurry: threading.Event | None) -> bool:
    """Poll `done` for up to `seconds`; stop early (False) when `hurry` is set."""
    deadline = time.monotonic() + seconds
    while True:
        if done():
            return True
        if hurry is not None and hurry.is_set():
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(_POLL, left))


def _sigkill() -> int:
    # Looked up at call time: the module must import where SIGKILL does not exist.
    return int(getattr(signal, "SIGKILL", signal.SIGTERM))
