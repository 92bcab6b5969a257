"""How this process contains the command trees it runs: a cgroup v2 per execution where the
system allows one, the subreaper and a scan of /proc otherwise; decided on the first execution
and the same for the rest of the process. Every execution is also told to the watch, which
kills what is left of it if runner itself dies (`runner.process.watch`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path
from typing import Protocol

from runner.process.cgroup import CgroupHome, CgroupTree, find_home, place
from runner.process.tree import SPAWNED, ScanTree, become_subreaper
from runner.process.watch import WATCH

log = logging.getLogger(__name__)

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

    def _setup(self) -> None:
        """Once per process (again in a forked child): the subreaper, and our cgroup home."""
        if self._pid == os.getpid():
            return
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

    def prepare(self, cookie: str) -> Slot:
        """Where the next child will be held, told to the watch before the child exists."""
        with self._lock:
            self._setup()
            cgroup = None
            if self._home is not None:
                try:
                    cgroup = self._home.execution(cookie)
                except OSError as exc:
                    self._give_up_locked(f"cannot make a cgroup: {exc.strerror or exc}")
        slot = Slot(cookie, cgroup, self._home)
        slot.hold(("cgroup", str(cgroup)) if cgroup is not None else ("cookie", cookie))
        return slot

    def adopt(self, root: int, slot: Slot) -> Tree:
        """Take the just-started child in: into its cgroup, else into the scanned tree."""
        SPAWNED.add(root)
        if slot.cgroup is not None and slot.home is not None:
            try:
                place(root, slot.cgroup)
            except OSError as exc:
                self._give_up(f"cannot move a process into {slot.cgroup}: {exc.strerror or exc}")
            else:
                return _Held(CgroupTree(root, slot.cgroup, slot.home), slot)
            slot.cancel()
            slot = Slot(slot.cookie, None, None)
            slot.hold(("cookie", slot.cookie))
        slot.hold(("group", str(root)))
        return _Held(ScanTree(root, slot.cookie, slot.hold), slot)

    def _give_up(self, why: str) -> None:
        with self._lock:
            self._give_up_locked(why)

    def _give_up_locked(self, why: str) -> None:
        if self._home is not None:
            log.info("containment: %s; falling back on the subreaper", why)
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
    """What one execution holds with the watch (its cgroup, or its cookie and group)."""

    def __init__(self, cookie: str, cgroup: Path | None, home: CgroupHome | None) -> None:
        self.cookie = cookie
        self.cgroup = cgroup
        self.home = home
        self._held: list[tuple[str, ...]] = []

    def hold(self, item: tuple[str, ...]) -> None:
        WATCH.hold(*item)
        self._held.append(item)

    def cancel(self) -> None:
        """Release everything (also: the child never started)."""
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


def _rmdir(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()


CONTAINMENT = Containment()
