"""Ctrl-C and SIGTERM while a command runs: shared by process and container runs.

Only the main thread can have signal handlers (Python delivers signals there and only there);
elsewhere `Signals` does nothing and a run is stopped through its cancel event instead.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["Cancelled", "Signals", "Terminated"]


class Terminated(BaseException):
    """SIGTERM received while waiting (BaseException: nothing may swallow it)."""


class Cancelled(BaseException):
    """The invocation's cancel event was set while waiting."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


class Signals:
    """Our temporary signal handlers; only the main thread can have any.

    While waiting (`arm`), SIGTERM raises `Terminated` (SIGINT already raises
    KeyboardInterrupt). While stopping the command (`stopping`), both only set `hurry`: a second
    Ctrl-C skips to SIGKILL instead of leaving things half-stopped. `waiting` goes through both
    around one wait; `restore` puts the caller's handlers back.
    """

    def __init__(self) -> None:
        self.hurry = threading.Event()
        self._enabled = threading.current_thread() is threading.main_thread()
        self._saved: dict[int, Any] = {}

    def arm(self) -> None:
        if self._enabled and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            self._saved[signal.SIGTERM] = signal.SIG_DFL
            signal.signal(signal.SIGTERM, _raise_terminated)

    def waiting(self, wait: Callable[[], bool]) -> tuple[bool, bool]:
        """Call `wait` (True when its timeout came first) armed, then switch to stopping.

        Returns (timed_out, interrupted): a Ctrl-C, a SIGTERM or a `Cancelled` raised by `wait`
        is an interruption. `arm` may have been called before (it is idempotent).
        """
        try:
            self.arm()
            timed_out = wait()
            self.stopping()
        except (KeyboardInterrupt, Terminated, Cancelled):
            self.stopping()
            return False, True
        return timed_out, False

    def stopping(self) -> None:
        if not self._enabled:
            return

        def hurry(signum: int, frame: FrameType | None) -> None:
            self.hurry.set()

        # TERM first: once it is replaced, only a SIGINT can still interrupt this method.
        for signum in (signal.SIGTERM, signal.SIGINT):
            current = signal.getsignal(signum)
            if signum in self._saved or current is signal.default_int_handler:
                self._saved.setdefault(signum, current)
                signal.signal(signum, hurry)

    def restore(self) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)
        self._saved.clear()
