"""Starting a command inside its execution's cgroup without waiting for the move.

Moving a process into a cgroup waits for an RCU grace period on many kernels: 10 ms typically
and up to 70 ms measured here, which would be most of a short step's cost. So while one command
runs, the next one's process is started ahead of time (`resources/trampoline.py`) and moved
into a fresh cgroup; the next execution hands it its command, which it execs: born inside its
cgroup, our own child (waited for as any Popen), started in about a millisecond. The first
execution of a process, or one that finds no trampoline ready, starts the command directly and
moves it (see `runner.process.cgroup` for the window that leaves).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

TRAMPOLINE = Path(__file__).resolve().parent.parent / "resources" / "trampoline.py"


class Trampoline:
    """A started trampoline and the pipes that become its command's stdout and stderr."""

    def __init__(self, cgroup: Path, place: Callable[[int, Path], None]) -> None:
        self.cgroup = cgroup
        errors_read, errors_write = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", str(TRAMPOLINE), str(errors_write)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,
                cwd="/",
                env={},
                start_new_session=True,
                close_fds=True,
                pass_fds=(errors_write,),
            )
        except BaseException:
            os.close(errors_read)
            raise
        finally:
            os.close(errors_write)
        self._errors: int | None = errors_read
        self._argv0, self._cwd = "", ""
        try:
            place(self.proc.pid, cgroup)
        except BaseException:
            self.discard()
            raise

    def launch(
        self, argv: Sequence[str], cwd: Path, env: Mapping[str, str]
    ) -> subprocess.Popen[bytes]:
        """Hand over the command, without waiting for its exec: whether that failed is known
        once the process has ended (`failure`). Raises ValueError as Popen would for a NUL."""
        request = [os.fsencode(cwd), str(len(argv)).encode(), *map(os.fsencode, argv)]
        request += [os.fsencode(f"{key}={value}") for key, value in env.items()]
        if any(b"\0" in field for field in request):
            self.discard()
            raise ValueError("embedded null byte")
        self._argv0, self._cwd = argv[0], str(cwd)
        stdin, self.proc.stdin = self.proc.stdin, None  # as with stdin=DEVNULL from now on
        assert stdin is not None
        with contextlib.suppress(BrokenPipeError):
            stdin.write(b"\0".join(request))
        stdin.close()
        return self.proc

    def failure(self) -> OSError | None:
        """After the process ended: the OSError Popen would have raised if the command could
        not start (the trampoline then exited 127 and said why), else None."""
        if self._errors is None:
            return None
        with os.fdopen(self._errors, "rb") as errors:
            said = errors.read()  # the writers are gone: nothing (the exec closed it) or why
        self._errors = None
        if not said:
            return None
        code, where, _ = said.split(b"\0", 2)
        number = int(code)
        filename = self._cwd if where == b"cwd" else self._argv0
        return OSError(number, os.strerror(number), filename)

    def _close_pipes(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def forget(self) -> None:
        """Done with it (its command ended, or it is being discarded)."""
        if self._errors is not None:
            os.close(self._errors)
            self._errors = None

    def discard(self) -> None:
        """Not needed after all: it ends on the end of its stdin."""
        self.forget()
        self._close_pipes()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.proc.wait(5)


class Ready:
    """At most one trampoline waiting in its cgroup, refilled in the background."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._ready: Trampoline | None = None
        self._filling = False

    def take(self) -> Trampoline | None:
        """The waiting trampoline (waiting for one being made), or None."""
        with self._lock:
            while self._filling:
                self._lock.wait()
            ready, self._ready = self._ready, None
            return ready

    def refill(self, make: Callable[[], Trampoline]) -> None:
        """Start making the next one, unless one is ready or on its way."""
        with self._lock:
            if self._ready is not None or self._filling:
                return
            self._filling = True
        threading.Thread(target=self._fill, args=(make,), daemon=True).start()

    def _fill(self, make: Callable[[], Trampoline]) -> None:
        made = None
        try:
            made = make()
        except (OSError, ValueError):
            pass  # the next execution starts its command directly
        finally:
            with self._lock:
                self._ready, self._filling = made, False
                self._lock.notify_all()

    def drain(self) -> Trampoline | None:
        """The waiting trampoline, taken out for good (or None)."""
        return self.take()
