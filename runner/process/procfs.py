"""What the kernel says about processes, read from /proc directly (Linux): cheaper than psutil,
which a run would otherwise import (about 20 ms) and which walks /proc for every question.

Elsewhere (no /proc) the few questions the subreaper fallback asks go to psutil.
"""

# ruff: noqa: PTH208 -- plain str paths: this runs per process, often

from __future__ import annotations

import os
from typing import NamedTuple

PROC = "/proc"
HAVE_PROC = os.path.isdir(f"{PROC}/self")  # noqa: PTH112 -- once, at import


class ProcStat(NamedTuple):
    """The fields of /proc/PID/stat that tell who a process is and where it belongs.
    `start` (clock ticks after boot) tells a process from a later one with the same pid."""

    pid: int
    state: str  # R, S, D, Z (zombie), T, ...
    ppid: int
    pgid: int
    sid: int
    start: int

    @property
    def zombie(self) -> bool:
        return self.state in ("Z", "X")


def read_stat(pid: int) -> ProcStat | None:
    """The process's stat, or None when it is gone (or unreadable)."""
    if not HAVE_PROC:
        return _psutil_stat(pid)
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as stream:
            data = stream.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: the fields follow the last ")".
    fields = data[data.rfind(b")") + 2 :].split()
    try:
        return ProcStat(
            pid, fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19])
        )
    except (IndexError, ValueError):
        return None


def all_stats() -> list[ProcStat]:
    """Every process on the machine: the scan the subreaper fallback needs (one pass)."""
    if not HAVE_PROC:
        return _psutil_all()
    found = []
    for name in os.listdir(PROC):
        if name.isdigit():
            st = read_stat(int(name))
            if st is not None:
                found.append(st)
    return found


def environ_value(pid: int, name: str) -> str | None:
    """One variable of a process's environment as it was at exec; None when it has none.
    Raises OSError when the environment cannot be read (gone, a zombie, another user's)."""
    if not HAVE_PROC:
        return _psutil_environ(pid, name)
    with open(f"{PROC}/{pid}/environ", "rb") as stream:
        data = stream.read()
    if not data:  # a zombie or a kernel thread: nothing to go by
        raise ProcessLookupError(pid)
    prefix = name.encode() + b"="
    for item in data.split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix) :].decode(errors="replace")
    return None


def cgroup_of(pid: int) -> str | None:
    """The process's cgroup v2 path (relative to the hierarchy's root), even for a zombie."""
    try:
        with open(f"{PROC}/{pid}/cgroup", "rb") as stream:
            for line in stream.read().splitlines():
                if line.startswith(b"0::"):
                    return line[3:].decode(errors="replace")
    except OSError:
        return None
    return None


def _psutil_stat(pid: int) -> ProcStat | None:
    import psutil

    try:
        process = psutil.Process(pid)
        with process.oneshot():
            state = "Z" if process.status() == psutil.STATUS_ZOMBIE else "S"
            return ProcStat(
                pid, state, process.ppid(), os.getpgid(pid), os.getsid(pid),
                int(process.create_time() * 100),
            )  # fmt: skip
    except (psutil.Error, OSError):
        return None


def _psutil_all() -> list[ProcStat]:
    import psutil

    return [st for pid in psutil.pids() if (st := _psutil_stat(pid)) is not None]


def _psutil_environ(pid: int, name: str) -> str | None:
    import psutil

    try:
        return psutil.Process(pid).environ().get(name)
    except psutil.Error as exc:
        raise ProcessLookupError(pid) from exc
