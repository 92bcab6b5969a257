"""The process tree of one execution held in a cgroup v2: nothing escapes it, and nothing has to
be searched for.

Where the system lets this process manage the cgroup it lives in (root, or a user session that
systemd delegates), runner makes one folder below its own, `runner-<pid>-<random>`, and one
cgroup in it per execution. The command is born inside its cgroup: started ahead by a
trampoline already in it (`runner.process.spawn`), or held at a gate until it has been moved
(`runner.process.contain.Gate`); every process it forks is born inside, whatever it does with
its session, its parent or its environment. The
members are the `cgroup.procs` of the cgroup and those below it; `cgroup.events` says when none
is left; `cgroup.kill` (Linux 5.14+) kills them all at once. Orphans are reparented to us (we
stay a subreaper) and reaped here once they are zombies.
"""

# ruff: noqa: PTH106 -- plain str paths: cgroup files are read on every check

from __future__ import annotations

import contextlib
import itertools
import os
import signal
from pathlib import Path

from runner.process.procfs import HAVE_PROC, PROC, cgroup_of
from runner.process.tree import SPAWNED, group_exists


class CgroupHome:
    """This process's folder of execution cgroups, made on first use."""

    def __init__(self, parent: Path, relative: str) -> None:
        name = f"runner-{os.getpid()}-{os.urandom(3).hex()}"
        self.path = parent / name
        self.relative = f"{relative.rstrip('/')}/{name}"  # as /proc/PID/cgroup names it
        self.path.mkdir()
        self._count = itertools.count(1)

    def execution(self) -> Path:
        """A new, empty cgroup for one execution."""
        path = self.path / f"exec-{next(self._count)}"
        path.mkdir()
        return path

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.rmdir()


def find_home() -> tuple[Path, str] | None:
    """Our own cgroup v2 folder and its path within the hierarchy, or None (no cgroup v2,
    not mounted, or a path outside our namespace)."""
    if not HAVE_PROC:
        return None
    try:
        with open(f"{PROC}/self/cgroup", encoding="utf-8") as stream:
            relative = next((line[3:].strip() for line in stream if line.startswith("0::")), None)
        with open(f"{PROC}/self/mountinfo", encoding="utf-8") as stream:
            mounts = [line.split() for line in stream]
    except OSError:
        return None
    if relative is None or ".." in relative.split("/"):
        return None
    for fields in mounts:
        dash = fields.index("-") if "-" in fields else -1
        if dash < 0 or fields[dash + 1] != "cgroup2":
            continue
        root, mountpoint = fields[3], fields[4]
        if relative != root and not relative.startswith(root.rstrip("/") + "/"):
            continue
        inside = relative[len(root.rstrip("/")) :].lstrip("/")
        return Path(mountpoint, inside), relative
    return None


def place(pid: int, cgroup: Path) -> None:
    """Move a process into `cgroup`; raises OSError when the system does not let us."""
    with open(cgroup / "cgroup.procs", "w", encoding="ascii") as stream:
        stream.write(str(pid))


class CgroupTree:
    """The members of one execution: everything in its cgroup and the cgroups below it."""

    mode = "cgroup"

    def __init__(self, root: int, path: Path, home: CgroupHome) -> None:
        self.root = root
        self.path = path
        self._home = home
        self._seen: set[int] = set()  # members met alive: reaped by pid once they are zombies

    def describe(self) -> str:
        return f"cgroup v2 {self.path}"

    def members(self) -> list[int]:
        pids: list[int] = []
        for folder, _, _ in os.walk(self.path):
            with contextlib.suppress(OSError), open(f"{folder}/cgroup.procs", "rb") as stream:
                pids += [int(pid) for pid in stream.read().split()]
        return pids

    def scan(self, root_alive: bool) -> list[int]:
        """The live members, the root excepted (the cgroup keeps them: nothing to refresh)."""
        found = [pid for pid in self.members() if pid != self.root]
        self._seen.update(found)
        return found

    def populated(self) -> bool:
        try:
            with open(self.path / "cgroup.events", "rb") as stream:
                return b"populated 1" in stream.read()
        except OSError:
            return False

    def signal(self, signum: int, root_alive: bool) -> list[int]:
        """Send `signum` to the child's group and to every member outside it, once each;
        SIGKILL goes to the whole cgroup at once. Returns the members signalled."""
        members = self.scan(root_alive)
        with contextlib.suppress(OSError):
            os.killpg(self.root, signum)
        if signum == signal.SIGKILL and self._kill_all():
            return members
        for pid in members:
            with contextlib.suppress(OSError):
                if os.getpgid(pid) != self.root:
                    os.kill(pid, signum)
        return members

    def _kill_all(self) -> bool:
        try:
            with open(self.path / "cgroup.kill", "w", encoding="ascii") as stream:
                stream.write("1")
        except OSError:  # before Linux 5.14
            return False
        return True

    def group_exists(self) -> bool:
        return group_exists(self.root)

    def reap(self) -> None:
        """Reap the zombies of module processes that were reparented to us: those met alive,
        by pid; then any other, as far as the kernel shows them (it shows one waitable child
        at a time: stop at the first that is not an orphan of ours, which its owner waits for)."""
        for pid in list(self._seen):
            if self._reap(pid, os.P_PID) is not False:
                self._seen.discard(pid)
        while self._reap(0, os.P_ALL):
            pass

    def _reap(self, pid: int, which: int) -> bool | None:
        """True: reaped an orphan; False: none to reap now; None: `pid` is not our child."""
        try:
            info = os.waitid(which, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return None
        if info is None or info.si_pid == 0 or info.si_pid in SPAWNED:
            return False
        where = cgroup_of(info.si_pid)
        if where is None or not where.startswith(self._home.relative + "/"):
            return False
        with contextlib.suppress(ChildProcessError):
            os.waitpid(info.si_pid, os.WNOHANG)
        return True

    def quiet(self) -> bool:
        """No live member and nothing left in the child's group."""
        self.reap()
        return not self.populated() and not self.group_exists()

    def settled(self) -> bool:
        return self.quiet()

    def close(self) -> None:
        """Remove the execution's cgroups (bottom up; one still in use stays)."""
        for folder, _, _ in sorted(os.walk(self.path), key=lambda item: -len(item[0])):
            with contextlib.suppress(OSError):
                os.rmdir(folder)
