"""Where built environments live, keyed by fingerprint, built once and published atomically.

Layout under the root (`<cache>/envs`):

    <backend>/<fingerprint>/        the environment (a venv, a conda prefix; empty for docker)
    <backend>/<fingerprint>.json    its record, written LAST: an environment without a record
                                    is unfinished and is never used
    logs/<backend>-<fingerprint>.log  the build log, kept (and shown when a build fails)
    locks/<backend>-<fingerprint>.lock  one builder per fingerprint, across processes
    tmp/                            relocatable builds happen here, then move into place
    memo/                           small memos backends keep (interpreter discovery...)

A relocatable environment (a venv made with `uv venv --relocatable`) is built in `tmp/` and
renamed into place. One that hard-codes its own path (a conda prefix) is built in place, and a
leftover from a killed build (a folder without a record) is removed before the next attempt.
Either way a half-built environment is never used.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from runner.errors import EnvironmentBuildError
from runner.struct import Struct, field

if TYPE_CHECKING:
    from filelock import FileLock
from runner.files import make_folder, modes_of, write_json_atomic

LOG_TAIL_LINES = 25


class EnvRecord(Struct):
    backend: str
    fingerprint: str
    path: Path
    log: Path
    created_at: float
    description: str = ""  # one line for `runner env ls`
    meta: Mapping[str, object] = field(default_factory=dict)


class BuildLog(Protocol):
    def write(self, text: str) -> int: ...

    def flush(self) -> None: ...


# Builds into the folder it is given, writing progress to the log; returns a one-line
# description for `runner env ls` and JSON-able metadata to keep with the record.
Builder = Callable[[Path, BuildLog], tuple[str, Mapping[str, object]]]
HealthCheck = Callable[[EnvRecord], bool]


class EnvStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def memo_dir(self) -> Path:
        return self.root / "memo"

    def location(self, backend: str, fingerprint: str) -> Path:
        return self.root / backend / fingerprint

    def log_path(self, backend: str, fingerprint: str) -> Path:
        return self.root / "logs" / f"{backend}-{fingerprint}.log"

    def _record_path(self, backend: str, fingerprint: str) -> Path:
        return self.root / backend / f"{fingerprint}.json"

    def _lock(self, backend: str, fingerprint: str) -> FileLock:
        from filelock import FileLock  # only to build or remove: reuse takes no lock

        locks = self.root / "locks"
        make_folder(locks, parents=True)  # private, or shared alike in a shared cache
        return FileLock(str(locks / f"{backend}-{fingerprint}.lock"), mode=modes_of(locks).file)

    def record(self, backend: str, fingerprint: str) -> EnvRecord | None:
        try:
            data = json.loads(self._record_path(backend, fingerprint).read_text(encoding="utf-8"))
            return EnvRecord(
                backend=backend,
                fingerprint=fingerprint,
                path=self.location(backend, fingerprint),
                log=self.log_path(backend, fingerprint),
                created_at=float(data["created_at"]),
                description=str(data.get("description", "")),
                meta=dict(data.get("meta", {})),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def records(self) -> list[EnvRecord]:
        found = []
        for backend_dir in sorted(self.root.glob("*/")):
            for record_file in sorted(backend_dir.glob("*.json")):
                record = self.record(backend_dir.name, record_file.stem)
                if record is not None:
                    found.append(record)
        return found

    def ensure(
        self,
        backend: str,
        fingerprint: str,
        build: Builder,
        *,
        healthy: HealthCheck,
        relocatable: bool,
        echo: TextIO | None = None,
    ) -> EnvRecord:
        """The environment for `fingerprint`: reused when recorded and healthy, else built.

        Checks, locks, checks again, builds: of several processes needing the same new
        environment, one builds it and the others reuse it. A broken one is rebuilt.
        """
        record = self.record(backend, fingerprint)
        if record is not None and healthy(record):
            self._touch(backend, fingerprint)
            return record
        with self._lock(backend, fingerprint):
            record = self.record(backend, fingerprint)
            if record is not None and healthy(record):
                return record
            return self._build(backend, fingerprint, build, relocatable, echo)

    def _build(
        self, backend: str, fingerprint: str, build: Builder, relocatable: bool, echo: TextIO | None
    ) -> EnvRecord:
        final = self.location(backend, fingerprint)
        self._record_path(backend, fingerprint).unlink(missing_ok=True)
        shutil.rmtree(final, ignore_errors=True)  # a broken or half-built one
        make_folder(final.parent, parents=True)
        log_path = self.log_path(backend, fingerprint)
        make_folder(log_path.parent, parents=True)
        target = final
        if relocatable:
            import tempfile  # here, as subprocess below: a cache hit builds nothing

            make_folder(self.root / "tmp", parents=True)
            target = Path(
                tempfile.mkdtemp(prefix=f"{backend}-{fingerprint}-", dir=self.root / "tmp")
            )
        else:
            final.mkdir()
        with log_path.open("w", encoding="utf-8") as log:
            try:
                description, meta = build(target, _Tee(log, echo))
            except BaseException as exc:
                shutil.rmtree(target, ignore_errors=True)
                if isinstance(exc, EnvironmentBuildError):
                    raise EnvironmentBuildError(
                        f"{exc.message}\n{_tail(log_path)}", exc.hint or f"full log: {log_path}"
                    ) from None
                raise
        if relocatable:
            target.rename(final)
        write_json_atomic(
            self._record_path(backend, fingerprint),
            {"created_at": time.time(), "description": description, "meta": dict(meta)},
        )
        record = self.record(backend, fingerprint)
        assert record is not None
        return record

    def _touch(self, backend: str, fingerprint: str) -> None:
        """Mark as used now, for `prune` (the record's mtime is the last use)."""
        with contextlib.suppress(OSError):
            os.utime(self._record_path(backend, fingerprint))

    def last_used(self, record: EnvRecord) -> float:
        try:
            return self._record_path(record.backend, record.fingerprint).stat().st_mtime
        except OSError:
            return record.created_at

    def remove(self, backend: str, fingerprint: str) -> bool:
        with self._lock(backend, fingerprint):
            record_path = self._record_path(backend, fingerprint)
            existed = record_path.exists() or self.location(backend, fingerprint).exists()
            record_path.unlink(missing_ok=True)  # first: from here on it is not usable
            shutil.rmtree(self.location(backend, fingerprint), ignore_errors=True)
            self.log_path(backend, fingerprint).unlink(missing_ok=True)
            return existed

    def clean_tmp(self, older_than: float = 3600.0) -> int:
        """Leftovers of killed relocatable builds (a live build's folder is fresh)."""
        removed = 0
        now = time.time()
        for leftover in (self.root / "tmp").glob("*"):
            if now - leftover.stat().st_mtime > older_than:
                shutil.rmtree(leftover, ignore_errors=True)
                removed += 1
        return removed


def run_logged(
    argv: Sequence[str], log: BuildLog, *, env: Mapping[str, str], cwd: Path | None = None
) -> None:
    """Run one build step, its output going to the build log; failure is an
    EnvironmentBuildError naming the step (the store adds the log's last lines)."""
    import subprocess  # here, not at the top: about 3 ms, and only builds run processes

    log.write(f"$ {' '.join(argv)}\n")
    try:
        process = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env),
            cwd=cwd,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise EnvironmentBuildError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    assert process.stdout is not None
    with process:
        for line in process.stdout:
            log.write(line)
    if process.returncode != 0:
        raise EnvironmentBuildError(
            f"environment build step failed (exit code {process.returncode}): {' '.join(argv)}"
        )


class _Tee:
    """A text stream writing to the build log and, live, to the user's terminal."""

    def __init__(self, log: TextIO, echo: TextIO | None) -> None:
        self._log, self._echo = log, echo

    def write(self, text: str) -> int:
        self._log.write(text)
        self._log.flush()
        if self._echo is not None:
            self._echo.write(text)
            self._echo.flush()
        return len(text)

    def flush(self) -> None:
        self._log.flush()


def _tail(log_path: Path) -> str:
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    shown = lines[-LOG_TAIL_LINES:]
    return "  last lines of the build log:\n" + "\n".join(f"    {line}" for line in shown)
