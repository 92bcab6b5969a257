"""The process tree of one execution: who belongs to it, signalling and reaping it.

Containment (POSIX; Linux is the target):

- the child starts a new session, so it is the leader of its own process group and the
  terminal's Ctrl-C reaches only us; we forward it deliberately;
- on Linux the calling process becomes a child subreaper (once, on first use): descendants
  that leave the group (``setsid`` and double fork) are reparented to us instead of init, where
  we can still find, kill and reap them;
- every descendant inherits an execution cookie in its environment (``RUNNER_EXECUTION_ID``,
  the one variable added to ``Invocation.env``): a process is only ever signalled if it
  descends from the child, carries this execution's cookie, or (environment unreadable) is in
  the child's session. Children of the calling process that belong to someone else (other
  threads, other executions, anything that existed before) are never touched.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

import psutil

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


def our_children() -> set[psutil.Process]:
    try:
        return set(psutil.Process().children())
    except psutil.Error:
        return set()


class ProcessTree:
    """The child and every process we can attribute to it (see the module docstring).

    Members are remembered from scan to scan (by pid and creation time, so a reused pid is
    never mistaken for a member) until they are reaped or gone.
    """

    def __init__(self, root: int, cookie: str, preexisting: set[psutil.Process]) -> None:
        self.root = root
        self._cookie = cookie
        self._preexisting = preexisting
        self._ours: set[psutil.Process] = set()
        self._strangers: set[psutil.Process] = set()
        try:
            self._root_process: psutil.Process | None = psutil.Process(root)
        except psutil.Error:
            self._root_process = None

    def _belongs(self, process: psutil.Process) -> bool:
        if process in self._ours:
            return True
        if process in self._strangers or process in self._preexisting:
            return False
        try:
            cookies = process.environ().get(EXECUTION_ID_VAR)
        except psutil.Error:
            # A zombie's environment is unreadable: fall back on the session alone.
            cookies = None
        else:
            if cookies is not None:
                if self._cookie in cookies.split():
                    return True
                # Another execution's process, even if its session id happens to match ours.
                self._strangers.add(process)
                return False
        try:
            return os.getsid(process.pid) == self.root
        except OSError:
            return False

    def scan(self, root_alive: bool) -> list[psutil.Process]:
        """Refresh the members; return the live ones (not zombies), the root excepted."""
        if root_alive and self._root_process is not None:
            with contextlib.suppress(psutil.Error):
                self._ours.update(self._root_process.children(recursive=True))
        for child in our_children():
            if child.pid == self.root or not self._belongs(child):
                continue
            self._ours.add(child)
            with contextlib.suppress(psutil.Error):
                self._ours.update(child.children(recursive=True))
        self._ours = {p for p in self._ours if p.pid != self.root and _exists(p)}
        return [p for p in self._ours if not _is_zombie(p)]

    def signal(self, signum: int, root_alive: bool) -> list[psutil.Process]:
        """Send `signum` to the child's group and to every member outside it, once each.

        Returns the live members found just before signalling.
        """
        members = self.scan(root_alive)
        with contextlib.suppress(OSError):
            os.killpg(self.root, signum)
        for process in members:
            try:
                if os.getpgid(process.pid) == self.root:
                    continue
            except OSError:
                continue
            with contextlib.suppress(psutil.Error):
                process.send_signal(signum)
        return members

    def group_exists(self) -> bool:
        try:
            os.killpg(self.root, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True

    def reap(self) -> None:
        """Collect the exit status of every member that is our direct child."""
        me = os.getpid()
        for process in list(self._ours):
            try:
                if process.ppid() != me:
                    continue
            except psutil.Error:
                continue
            try:
                pid, _ = os.waitpid(process.pid, os.WNOHANG)
            except ChildProcessError:
                pid = process.pid
            if pid:
                self._ours.discard(process)

    def quiet(self) -> bool:
        """No live member and nothing left in the group (zombies aside)."""
        self.reap()
        return not self.scan(root_alive=False) and not self.group_exists()

    def settled(self) -> bool:
        """Nothing left at all: every member is gone and reaped."""
        self.reap()
        self.scan(root_alive=False)
        return not self._ours and not self.group_exists()


def _exists(process: psutil.Process) -> bool:
    try:
        return process.is_running()
    except psutil.Error:
        return False


def _is_zombie(process: psutil.Process) -> bool:
    try:
        return bool(process.status() == psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return True
