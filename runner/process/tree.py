"""The process tree of one execution when no cgroup can hold it: the subreaper fallback.

Containment without a cgroup (POSIX; Linux is the target):

- the child starts a new session, so it is the leader of its own process group and the
  terminal's Ctrl-C reaches only us; we forward it deliberately;
- on Linux the calling process is a child subreaper (`become_subreaper`): descendants that
  leave the group (``setsid`` and double fork) are reparented to us instead of init, where we
  can still find, kill and reap them;
- every descendant inherits an execution cookie in its environment (``RUNNER_EXECUTION_ID``):
  a process belongs to the execution if it descends from the child, carries this execution's
  cookie, is in the child's session, or (environment cleared, session left) was reparented to
  us while this execution was the only one running. Processes older than the
  child, other executions' processes and children of ours we started ourselves are never
  touched.

Finding them takes one pass over /proc per scan (`runner.process.procfs`): the kernel gives no
cheaper list of a subreaper's children here. A cgroup (`runner.process.cgroup`) needs none.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable

from runner.process.procfs import ProcStat, all_stats, environ_value, read_stat

EXECUTION_ID_VAR = "RUNNER_EXECUTION_ID"

_subreaper_lock = threading.Lock()
_subreaper_tried = False


def become_subreaper() -> None:
    global _subreaper_tried
    if not sys.platform.startswith("linux"):
        return
    with _subreaper_lock:
        if _subreaper_tried:
            return
        _subreaper_tried = True
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_child_subreaper = 36
            libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0)
        except (OSError, AttributeError):
            # Without it, escaped daemons reparent to init: we lose them, the run still works.
            pass


class Spawned:
    """The children this process started on purpose and waits for itself (execution roots,
    the watch): never taken for an orphan of a module, never reaped by a tree."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._roots: set[int] = set()
        self._others: set[int] = set()

    def add(self, pid: int, *, root: bool = True) -> None:
        with self._lock:
            (self._roots if root else self._others).add(pid)

    def discard(self, pid: int) -> None:
        with self._lock:
            self._roots.discard(pid)
            self._others.discard(pid)

    def __contains__(self, pid: object) -> bool:
        with self._lock:
            return pid in self._roots or pid in self._others

    @property
    def executions(self) -> int:
        with self._lock:
            return len(self._roots)


SPAWNED = Spawned()

_Identity = tuple[int, int]  # pid, start time: a reused pid is another process


class ScanTree:
    """The child and every process attributable to it (see the module docstring), found by
    scanning /proc. Members are remembered from scan to scan until they are reaped or gone."""

    mode = "subreaper"

    def __init__(
        self, root: int, cookie: str, announce: Callable[[tuple[str, ...]], None] | None = None
    ) -> None:
        self.root = root
        self._cookie = cookie
        # Told each member found outside the child's group: what the watch kills if we die.
        self._announce = announce
        self._me = os.getpid()
        self._sid = os.getsid(0)
        st = read_stat(root)
        self._root_start = st.start if st is not None else 0
        self._ours: dict[_Identity, ProcStat] = {}
        self._strangers: set[_Identity] = set()

    def describe(self) -> str:
        return "subreaper (no cgroup available: the tree is found by scanning /proc)"

    def _belongs(self, st: ProcStat) -> bool:
        identity = (st.pid, st.start)
        if identity in self._ours:
            return True
        if identity in self._strangers or st.start < self._root_start or st.pid in SPAWNED:
            return False
        try:
            cookies = environ_value(st.pid, EXECUTION_ID_VAR)
        except OSError:
            cookies = None  # a zombie or gone: its session is all there is to go by
        else:
            if cookies is not None:
                if self._cookie in cookies.split():
                    return True
                self._strangers.add(identity)  # another execution's, whatever its session
                return False
        if st.sid == self.root:
            return True
        # Environment cleared and session left: only its reparenting to us tells where it
        # came from, which is unambiguous while a single execution runs. (What we fork
        # ourselves stays in our session; what we start in a new one is SPAWNED.)
        return st.ppid == self._me and st.sid != self._sid and SPAWNED.executions == 1

    def scan(self, root_alive: bool) -> list[ProcStat]:
        """Refresh the members; return the live ones (not zombies), the root excepted."""
        stats = all_stats()
        present = {(st.pid, st.start): st for st in stats}
        children: dict[int, list[ProcStat]] = {}
        for st in stats:
            children.setdefault(st.ppid, []).append(st)
        stack = [st for identity, st in present.items() if identity in self._ours]
        if root_alive:  # after the root is reaped its pid may be someone else's
            stack += children.get(self.root, [])
        stack += [st for st in children.get(self._me, []) if self._belongs(st)]
        found: dict[_Identity, ProcStat] = {}
        while stack:
            st = stack.pop()
            identity = (st.pid, st.start)
            if identity in found or st.pid == self.root:
                continue
            found[identity] = st
            stack.extend(children.get(st.pid, []))
            if self._announce and identity not in self._ours and st.pgid != self.root:
                self._announce(("pid", str(st.pid), str(st.start)))
        self._ours = found
        return [st for st in found.values() if not st.zombie]

    def signal(self, signum: int, root_alive: bool) -> list[int]:
        """Send `signum` to the child's group and to every member outside it, once each.
        Returns the live members found just before signalling."""
        members = self.scan(root_alive)
        with contextlib.suppress(OSError):
            os.killpg(self.root, signum)
        for st in members:
            if st.pgid != self.root:
                with contextlib.suppress(OSError):
                    os.kill(st.pid, signum)
        return [st.pid for st in members]

    def group_exists(self) -> bool:
        return group_exists(self.root)

    def reap(self) -> None:
        """Collect the exit status of every member that is our direct child."""
        for identity, st in list(self._ours.items()):
            if st.ppid != self._me:
                continue
            try:
                pid, _ = os.waitpid(st.pid, os.WNOHANG)
            except ChildProcessError:
                pid = st.pid
            if pid:
                del self._ours[identity]

    def quiet(self) -> bool:
        """No live member and nothing left in the group (zombies aside)."""
        self.reap()
        return not self.scan(root_alive=False) and not self.group_exists()

    def settled(self) -> bool:
        """Nothing left at all: every member is gone and reaped."""
        self.reap()
        self.scan(root_alive=False)
        self.reap()
        return not self._ours and not self.group_exists()

    def close(self) -> None:
        pass


def group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
