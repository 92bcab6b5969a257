"""The threads around one container run (see `runner.env.container`).

The engine's wait call blocks, so it runs in a thread (`Waiter`) and the main thread waits for
it in short steps, where Ctrl-C and SIGTERM can reach it (`runner.process.signals`). It waits on
an Event, never on `Thread.join`: a KeyboardInterrupt inside `join` leaves the thread marked as
stopped while it still runs (CPython's bpo-45274 handling), which lost the exit status and the
duration of every interrupted container run. The attached output is read by another thread
(`Pump`) into the log.
"""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import datetime
from typing import Any

import docker

from runner.process.logfile import LineSplitter, LogWriter, now

POLL = 0.1
_HEAD = 4096


class Waiter(threading.Thread):
    """Blocks in the engine's wait call so that the main thread stays interruptible."""

    def __init__(self, client: docker.DockerClient, container: str) -> None:
        super().__init__(name="runner-container-wait", daemon=True)
        self._client = client
        self._container = container
        self.status: int | None = None
        self.error: str | None = None
        self.ended_at: datetime | None = None
        self._done = threading.Event()

    def run(self) -> None:
        try:
            result = self._client.api.wait(self._container, timeout=None)
            self.status = int(result["StatusCode"])
        except Exception as exc:  # reported in the log; the exit code stays unknown
            self.error = str(exc)
        finally:
            self.ended_at = now()
            self._done.set()

    @property
    def waiting(self) -> bool:
        """The container has not ended yet (as far as the engine said)."""
        return not self._done.is_set()

    def wait_for(self, seconds: float) -> bool:
        """True once the engine said the container ended; False after `seconds`."""
        return self._done.wait(seconds)


class Pump(threading.Thread):
    """Feeds the attached output (stdout and stderr frames) into the log until it ends."""

    def __init__(self, frames: Any, log: LogWriter) -> None:
        super().__init__(name="runner-container-pump", daemon=True)
        self._frames = frames
        self._out = LineSplitter("stdout", log)
        self._err = LineSplitter("stderr", log)
        self.stderr_head = bytearray()  # where docker's init says why the command did not start

    def run(self) -> None:
        try:
            for out, err in self._frames:
                if out:
                    self._out.feed(out)
                if err:
                    self._err.feed(err)
                    if len(self.stderr_head) < _HEAD:
                        self.stderr_head += err[: _HEAD - len(self.stderr_head)]
        except Exception:  # the stream closed under us (finish): keep what arrived
            pass
        finally:
            self._out.close()
            self._err.close()
            self._close()

    def _close(self) -> None:
        # The attach connection, not left to the collector. The stream's close() shuts the
        # socket but not the response's file object holding it: both are closed here.
        with contextlib.suppress(Exception):
            self._frames.close()
        response = getattr(self._frames, "_response", None)
        if response is not None:
            with contextlib.suppress(Exception):
                response.close()

    def finish(self, drain: float) -> None:
        self.join(drain)
        if self.is_alive():
            self._close()
            self.join(drain)


def wait_until(waiter: Waiter, seconds: float, hurry: threading.Event) -> bool:
    """Wait up to `seconds` for the container to end; stop early (False) when `hurry` is set."""
    deadline = time.monotonic() + seconds
    while waiter.waiting:
        left = deadline - time.monotonic()
        if left <= 0 or hurry.is_set():
            return False
        waiter.wait_for(min(POLL, left))
    return True
