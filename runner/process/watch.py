"""The watch: a small process that outlives runner to kill what runner was still running when
it ended, however it ended (SIGKILL included). See `runner/resources/watchdog.py`.

Started on the first execution of a process (about 10 ms, beside the command's own start-up),
in its own session. Runner tells it, through a pipe only runner can write to, what each
execution holds (its cgroup, or its process group and cookie, or its container) and when that
is released; the end of the pipe is runner's end.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path

from runner.log import logger
from runner.process.tree import SPAWNED

WATCHDOG = Path(__file__).resolve().parent.parent / "resources" / "watchdog.py"
# Below the command's priority (its start-up must not slow the command's), not so far below that
# a busy machine starves it for long when runner dies.
_NICE = 10


class Watch:
    """The client side: one per process, started on first use, written to under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._failed = False
        # Kept for as long as we live: it runs until our end (and outlives us).
        self._child: subprocess.Popen[bytes] | None = None
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        # A forked child must not hold our pipe open (runner's end would go unnoticed) nor
        # write to a watch that is not its own: it starts its own when it needs one.
        if self._fd is not None:
            os.close(self._fd)
        self._lock = threading.Lock()
        self._fd, self._failed, self._child = None, False, None

    def _start(self) -> int | None:
        if self._fd is not None or self._failed:
            return self._fd
        if not sys.executable:
            self._failed = True
            return None
        read, write = os.pipe()
        try:
            child = subprocess.Popen(
                [sys.executable, "-I", "-S", str(WATCHDOG)],
                stdin=read,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            os.close(write)
            self._failed = True
            logger(__name__).warning(
                "no watch for runner's end (%s): a SIGKILL may leave commands running", exc
            )
            return None
        finally:
            os.close(read)
        SPAWNED.add(child.pid, root=False)
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, child.pid, _NICE)
        self._child = child
        self._fd = write
        return write

    def tell(self, *fields: str) -> None:
        """One line to the watch (see the watchdog's docstring for the words)."""
        line = "\t".join(fields).encode(errors="surrogateescape") + b"\n"
        with self._lock:
            fd = self._start()
            if fd is None:
                return
            try:
                os.write(fd, line)
            except OSError as exc:
                logger(__name__).warning(
                    "the watch is gone (%s): a SIGKILL may leave commands running", exc
                )
                os.close(fd)
                self._fd, self._failed = None, True

    def hold(self, kind: str, *args: str) -> None:
        self.tell("+", kind, *args)

    def release(self, kind: str, *args: str) -> None:
        self.tell("-", kind, *args)

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None


WATCH = Watch()
