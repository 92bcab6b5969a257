"""How this process contains the command trees it runs: a cgroup v2 per execution where the
system allows one, the subreaper and a scan of /proc otherwise; decided on the first execution
and the same for the rest of the process. Every execution is also told to the watch, which
kills what is left of it if runner itself dies (`runner.process.watch`).

In the cgroup containment, while a sequence of executions goes on (a pipeline: `keep_ready`),
the next command's process is started ahead of time inside its cgroup (`runner.process.spawn`).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from runner.log import logger
from runner.process.cgroup import CgroupHome, CgroupTree, find_home, place
from runner.process.spawn import Ready, Trampoline
from runner.process.tree import SPAWNED, ScanTree, become_subreaper
from runner.process.watch import WATCH

Popen = subprocess.Popen[bytes]
ENV_PROGRAM = shutil.which("env") or "/usr/bin/env"

# `subreaper` forces the fallback (tests, or a system whose cgroup should not be touched).
MODE_VARIABLE = "RUNNER_CONTAINMENT"


class Tree(Protocol):
    """One execution's processes, however they are held."""

    root: int
    mode: str

    def describe(self) -> str: ...
    def scan(self, root_alive: bool) -> object: ...
    def signal(self, signum: int, root_alive: bool) -> list[int]: ...
    def quiet(self) -> bool: ...
    def settled(self) -> bool: ...
    def close(self) -> None: ...


class Containment:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = -1
        self._home: CgroupHome | None = None
        self._why_not = ""
        self._ready = Ready()
        self._wanted = 0  # sequences of executions going on (`keep_ready`)

    def _setup(self) -> None:
        """Once per process (again in a forked child): the subreaper, and our cgroup home."""
        if self._pid == os.getpid():
            return
        if self._pid != -1:  # a forked child: nothing of the parent's is ours
            self._ready, self._wanted = Ready(), 0
        self._pid = os.getpid()
        self._home = None
        become_subreaper()
        if os.environ.get(MODE_VARIABLE) == "subreaper":
            self._why_not = f"{MODE_VARIABLE}=subreaper"
            return
        found = find_home()
        if found is None:
            self._why_not = "no cgroup v2 hierarchy of our own"
            return
        try:
            self._home = CgroupHome(*found)
        except OSError as exc:
            self._why_not = f"cannot make a cgroup in {found[0]}: {exc.strerror or exc}"
            return
        WATCH.tell("home", str(self._home.path))
        atexit.register(self._home.remove)  # the watch does it too, even after a SIGKILL

    def start(self) -> None:
        """Set up now rather than at the first command (idempotent)."""
        with self._lock:
            self._setup()

    def start_ahead(self) -> None:
        """Set up, and start the coming command's process in its cgroup in the background,
        so that the move overlaps laying out its run rather than delaying its start."""
        with self._lock:
            self._setup()
            home = self._home
        if home is not None:
            self._ready.refill(lambda: self._trampoline(home))

    @contextlib.contextmanager
    def keep_ready(self) -> Iterator[None]:
        """While this lasts, more executions are expected: start each next one ahead."""
        with self._lock:
            self._wanted += 1
        try:
            yield
        finally:
            with self._lock:
                self._wanted -= 1
                done = self._wanted == 0
            if done:
                waiting = self._ready.drain()
                if waiting is not None:
                    held = ("cgroup", str(waiting.cgroup))
                    Slot(waiting.cgroup, waiting, self._home, held).cancel()

    def prepare(self, cookie: str) -> Slot:
        """Where the next child will be held, told to the watch before the child exists."""
        with self._lock:
            self._setup()
            home = self._home
        if home is None:
            slot = Slot(None, None, None)
            slot.hold(("cookie", cookie))
            return slot
        ready = self._ready.take()
        if ready is not None:
            return Slot(ready.cgroup, ready, home, held=("cgroup", str(ready.cgroup)))
        try:
            cgroup = home.execution()
        except OSError as exc:
            self._give_up(f"cannot make a cgroup: {exc.strerror or exc}")
            return self.prepare(cookie)
        slot = Slot(cgroup, None, home)
        slot.hold(("cgroup", str(cgroup)))
        return slot

    def adopt(self, root: int, cookie: str, slot: Slot) -> Tree:
        """Take the just-started child in: into its cgroup, else into the scanned tree."""
        SPAWNED.add(root)
        cgroup, home = slot.cgroup, slot.home
        if cgroup is not None and home is not None:
            try:
                if slot.gate is not None:  # started directly: moved now, then let go
                    place(root, cgroup)
            except OSError as exc:
                self._give_up(f"cannot move a process into {cgroup}: {exc.strerror or exc}")
                gate, slot.gate = slot.gate, None
                slot.cancel()
                slot = Slot(None, None, None)
                slot.hold(("cookie", cookie))
                if gate is not None:
                    gate.open()
            else:
                if slot.gate is not None:
                    slot.gate.open()
                self._refill(home)
                return _Held(CgroupTree(root, cgroup, home), slot)
        slot.hold(("group", str(root)))
        return _Held(ScanTree(root, cookie, slot.hold), slot)

    def _refill(self, home: CgroupHome) -> None:
        if self._wanted > 0:
            self._ready.refill(lambda: self._trampoline(home))

    def _trampoline(self, home: CgroupHome) -> Trampoline:
        cgroup = home.execution()
        WATCH.hold("cgroup", str(cgroup))
        try:
            made = Trampoline(cgroup, place)
        except BaseException:
            WATCH.release("cgroup", str(cgroup))
            _rmdir(cgroup)
            raise
        SPAWNED.add(made.proc.pid, root=False)
        return made

    def _give_up(self, why: str) -> None:
        with self._lock:
            if self._home is not None:
                logger(__name__).info("containment: %s; falling back on the subreaper", why)
                self._home.remove()
                self._home, self._why_not = None, why

    def describe(self) -> str:
        """Which containment is in force (for verbose output)."""
        with self._lock:
            self._setup()
            if self._home is not None:
                return f"cgroup v2 (under {self._home.path})"
            return f"subreaper ({self._why_not})"


class Slot:
    """Where one execution's command goes, and what it holds with the watch (its cgroup, or
    its cookie and group) until its tree is closed."""

    def __init__(
        self,
        cgroup: Path | None,
        trampoline: Trampoline | None,
        home: CgroupHome | None,
        held: tuple[str, ...] | None = None,
    ) -> None:
        self.cgroup = cgroup
        self.trampoline = trampoline
        self.home = home
        self.gate: Gate | None = None
        self._held: list[tuple[str, ...]] = [held] if held else []

    def popen(
        self, argv: Sequence[str], cwd: Path, env: Mapping[str, str]
    ) -> subprocess.Popen[bytes]:
        """Start the command: through the trampoline waiting in the cgroup, else directly.
        Raises OSError or ValueError as Popen does when it cannot start."""
        if self.trampoline is not None:
            SPAWNED.discard(self.trampoline.proc.pid)  # from now on: the execution's root
            return self.trampoline.launch(argv, cwd, env)
        if self.cgroup is None:
            return _popen(list(argv), cwd, env)
        # Behind a gate until it is in its cgroup: see `Gate`.
        gate = Gate(argv, cwd, env)
        self.gate = gate
        return gate.proc

    def start_failure(self) -> OSError | None:
        """After the command ended: why it could not start, when a trampoline started it."""
        return self.trampoline.failure() if self.trampoline is not None else None

    def hold(self, item: tuple[str, ...]) -> None:
        WATCH.hold(*item)
        self._held.append(item)

    def cancel(self) -> None:
        """Release everything (also: the command never started)."""
        if self.gate is not None:
            self.gate.close()
        if self.trampoline is not None:
            if self.trampoline.proc.returncode is None:
                self.trampoline.discard()
            else:
                self.trampoline.forget()
        for item in self._held:
            WATCH.release(*item)
        self._held.clear()
        if self.cgroup is not None:
            _rmdir(self.cgroup)


class _Held:
    """A tree, and what it holds with the watch until it is closed."""

    def __init__(self, tree: CgroupTree | ScanTree, slot: Slot) -> None:
        self._tree = tree
        self._slot = slot
        self.root = tree.root
        self.mode = tree.mode

    def describe(self) -> str:
        return self._tree.describe()

    def scan(self, root_alive: bool) -> object:
        return self._tree.scan(root_alive)

    def signal(self, signum: int, root_alive: bool) -> list[int]:
        return self._tree.signal(signum, root_alive)

    def quiet(self) -> bool:
        return self._tree.quiet()

    def settled(self) -> bool:
        return self._tree.settled()

    def close(self) -> None:
        """After the root was reaped: the cgroup removed, the watch released."""
        self._tree.close()
        self._slot.cancel()
        SPAWNED.discard(self.root)


def _popen(argv: list[str], cwd: Path, env: Mapping[str, str], gated: bool = False) -> Popen:
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if gated else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        start_new_session=True,
        close_fds=True,
    )


class Gate:
    """A command started directly, held at a gate until it is in its cgroup.

    Moving a process into a cgroup takes milliseconds (tens under load), and anything the
    command forks before the move is born outside, free to escape. So the command is started
    behind `sh -c 'read _; exec ...'`: the shell waits for a line on its stdin, runner moves
    it, then opens the gate and the shell execs the command, in the cgroup from its first
    instruction. (A SIGSTOP after Popen returns comes too late: by then a command may already
    have forked.) The shell runs with an empty environment and execs `env -i NAME=VALUE...
    COMMAND`, so the command gets exactly the environment it was given, whatever the shell
    would have added (PWD, SHLVL), and /dev/null on stdin. The two cost about a millisecond;
    what Popen would refuse (a missing or non-executable program) is refused here first, with
    the same error.
    """

    SCRIPT = 'read -r _ || exit 125; exec </dev/null "$@"'

    def __init__(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
        found = check_program(argv[0], cwd, env)
        # `env` takes a first word with "=" for one more variable: name such a program by path.
        program = str(found) if "=" in argv[0] else argv[0]
        wrapped = [ENV_PROGRAM, "-i", *(f"{k}={v}" for k, v in env.items()), program, *argv[1:]]
        self.proc = _popen(["/bin/sh", "-c", self.SCRIPT, "runner-gate", *wrapped], cwd, {}, True)

    def open(self) -> None:
        """Let the command run (a shell already gone, e.g. killed, is not an error)."""
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.write(b"\n")
        self.close()

    def close(self) -> None:
        """Without `open`, the shell ends (125) without running the command."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            self.proc.stdin = None


def check_program(program: str, cwd: Path, env: Mapping[str, str]) -> Path:
    """Where `program` is, as exec finds it; else the OSError Popen would raise (not found,
    not executable)."""
    if "/" in program:
        candidates = [cwd / program]
    else:  # a relative folder on PATH is taken from the command's working folder, as exec does
        candidates = [cwd / folder / program for folder in os.get_exec_path(env)]
    denied = False
    for candidate in candidates:
        if candidate.is_file():
            if os.access(candidate, os.X_OK):
                return candidate
            denied = True
    if denied:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), program)
    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)


def _rmdir(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()


CONTAINMENT = Containment()
