"""The execution log's format, shared by every way of running a command (process, container).

One record a line: ``<UTC time, ms> <stdout|stderr|runner> <text>``; ``runner`` records are the
header (command, cwd, start), escalation steps and the ``end:`` footer (`end_note`). The echo
stream gets the command's output unchanged, a whole line at a time, as lines end.
"""

from __future__ import annotations

import codecs
import contextlib
import shlex
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol, TextIO

from runner.files import storage_problem

__all__ = ["LineSplitter", "LogWriter", "end_note", "now", "open_log", "stamp"]

# A line longer than this is logged in pieces: a command printing megabytes without a newline
# must not grow our memory without bound.
MAX_LINE = 64 * 1024
PROMPT_WAIT_S = 0.25  # a partial line unchanged this long is shown as it is


def now() -> datetime:
    return datetime.now(timezone.utc)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@contextlib.contextmanager
def open_log(path: Path, echo: TextIO | None) -> Iterator[LogWriter]:
    """The log at `path`, appended to (its folder made first), echoing to `echo`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    file = open(path, "a", encoding="utf-8", errors="backslashreplace", buffering=1)  # noqa: SIM115
    try:
        yield LogWriter(file, echo, path)
    finally:
        with contextlib.suppress(OSError):  # a full disk: `LogWriter.lost` says so already
            file.close()


class LogWriter:
    """The timestamped log file and the live echo, shared by pump threads and the caller.

    A write the disk refuses (full) ends the log there, never the run: the command's output
    is still drained (and echoed), so it cannot block on a full pipe; `lost` says why the log
    stops short."""

    def __init__(self, file: TextIO, echo: TextIO | None, path: Path) -> None:
        self._file = file
        self._echo = echo
        self._path = path
        self._lock = threading.Lock()
        self.lost: str | None = None

    def line(self, tag: str, text: str) -> None:
        with self._lock:
            if self.lost is not None:
                return
            try:
                self._file.write(f"{stamp(now())} {tag} {text}\n")
            except OSError as exc:
                self.lost = storage_problem(exc, self._path.parent) or exc.strerror or str(exc)

    def header(self, argv: Sequence[str], *details: str) -> datetime:
        """The run's first records: its command, `details` (cwd, ...), then its start time,
        which is returned."""
        self.note(f"command: {shlex.join(argv)}")
        for detail in details:
            self.note(detail)
        started_at = now()
        self.note(f"start: {started_at.isoformat(timespec='milliseconds')}")
        return started_at

    def note(self, text: str) -> None:
        # One record per line: an argv holding newlines must not break the log's format.
        for part in text.split("\n"):
            self.line("runner", part)

    def echo(self, text: str) -> None:
        echo = self._echo
        if echo is None or not text:
            return
        with self._lock:
            try:
                try:
                    echo.write(text)
                except UnicodeEncodeError:
                    encoding = getattr(echo, "encoding", None) or "ascii"
                    echo.write(text.encode(encoding, "replace").decode(encoding, "replace"))
                echo.flush()
            except (OSError, ValueError):
                # A closed or broken echo stream must not cost the run; the log keeps it all.
                self._echo = None


class LineSplitter:
    """Splits one stream's bytes into log lines; echoes them as they come, a whole line (or a
    `\r`-ended progress segment) at a time, so that the other stream's output, echoed by
    another thread, never lands inside one of its lines. A partial line waits for its end (or
    for MAX_LINE bytes, or the stream's close), but not longer than PROMPT_WAIT_S: a line that
    stays unfinished is a prompt (`(Pdb) `, `input("name: ")`), which must show."""

    def __init__(self, tag: str, log: LogWriter) -> None:
        self._tag = tag
        self._log = log
        self._pending = bytearray()
        self._unechoed = bytearray()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._echo_lock = threading.Lock()
        self._fed_at = 0.0
        self._timer: threading.Timer | None = None  # at most one, re-armed while data comes

    def feed(self, data: bytes) -> None:
        with self._echo_lock:
            self._unechoed += data
            cut = max(self._unechoed.rfind(b"\n"), self._unechoed.rfind(b"\r")) + 1
            if len(self._unechoed) >= MAX_LINE:
                cut = len(self._unechoed)
            if cut:
                self._log.echo(self._decoder.decode(bytes(self._unechoed[:cut])))
                del self._unechoed[:cut]
            self._fed_at = time.monotonic()
            if self._unechoed and self._timer is None:
                self._arm(PROMPT_WAIT_S)
        self._pending += data
        while True:
            end = self._pending.find(b"\n")
            if end < 0:
                break
            self._emit(bytes(self._pending[:end]))
            del self._pending[: end + 1]
        while len(self._pending) >= MAX_LINE:
            self._emit(bytes(self._pending[:MAX_LINE]))
            del self._pending[:MAX_LINE]

    def _arm(self, delay: float) -> None:
        self._timer = threading.Timer(delay, self._show_unfinished)
        self._timer.daemon = True
        self._timer.start()

    def _show_unfinished(self) -> None:
        with self._echo_lock:
            self._timer = None
            if not self._unechoed:
                return
            waited = time.monotonic() - self._fed_at
            if waited < PROMPT_WAIT_S:  # more came meanwhile: wait for it to settle
                self._arm(PROMPT_WAIT_S - waited)
                return
            self._log.echo(self._decoder.decode(bytes(self._unechoed)))
            self._unechoed.clear()

    def close(self) -> None:
        with self._echo_lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._log.echo(self._decoder.decode(bytes(self._unechoed), final=True))
            self._unechoed.clear()
        if self._pending:
            self._emit(bytes(self._pending))
            self._pending.clear()

    def _emit(self, raw: bytes) -> None:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        self._log.line(self._tag, raw.decode("utf-8", errors="replace"))


class _Ended(Protocol):
    """What the ``end:`` footer reports (`runner.process.local.Outcome`)."""

    @property
    def exit_code(self) -> int | None: ...
    @property
    def duration(self) -> float: ...
    @property
    def timed_out(self) -> bool: ...
    @property
    def interrupted(self) -> bool: ...


def end_note(outcome: _Ended) -> str:
    """The log's last record: ``end: exit code N, duration S s[, timed out][, interrupted]``."""
    parts = [f"exit code {outcome.exit_code}", f"duration {outcome.duration:.3f} s"]
    if outcome.timed_out:
        parts.append("timed out")
    if outcome.interrupted:
        parts.append("interrupted")
    return "end: " + ", ".join(parts)
