"""The error taxonomy: every failure a user can cause or meet, with its fixed exit code."""

from __future__ import annotations

from pathlib import Path

from runner.struct import Struct

EXIT_OK = 0
EXIT_MODULE_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

# How much of a user's value a message quotes: enough to recognise it, never a whole 30 MB blob.
QUOTE_LIMIT = 80


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A value given by a user (a spec field, a flag, a parameter) as a message quotes it:
    repr-quoted (so a newline or a space at an end is visible) and cut after `limit`
    characters, saying how long it was. Every message that echoes a user's value uses this."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        head = repr(value[:limit])
        return f"{head[:-1]}...{head[-1]} ({len(value):,} characters)"
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def shown(text: str) -> str:
    """`text` as it is where a message shows it bare (a program, a module's identity), unless it
    is too long: then as `quote` cuts it."""
    return text if len(text) <= QUOTE_LIMIT else quote(text)


class RunnerError(Exception):
    """A failure explained to the user: a message and an optional hint on how to fix it."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class Location(Struct):
    """Where in a spec file something is: file, 1-based line and column, and the field path."""

    file: Path
    line: int | None = None
    column: int | None = None
    field: str = ""

    def __str__(self) -> str:
        where = str(self.file)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        if self.field:
            where += f": {self.field}"
        return where


class UsageError(RunnerError):
    """A command line that cannot be understood."""


class SpecError(RunnerError):
    """A spec file that cannot be read, parsed or understood."""

    def __init__(self, location: Location, message: str, hint: str | None = None) -> None:
        super().__init__(f"{location}: {message}", hint)
        self.location = location
        self.reason = message


class BindingError(RunnerError):
    """A value given for an input, parameter or output that does not fit the spec."""


class SnapshotError(RunnerError):
    """The code snapshot cannot be assembled (missing, absolute or colliding includes...)."""


class UnsupportedError(RunnerError):
    """The spec asks for something that cannot run locally (hdinsight, mpi without mpiexec...)."""


class EnvironmentBuildError(RunnerError):
    """An environment (venv, conda, docker image) could not be created."""


class NotCachedError(RunnerError):
    """A run that had to come from the cache (a pipeline step outside --only/--from) did not."""


class PipelineError(RunnerError):
    """A pipeline graph that cannot run: unknown steps, ports or inputs, cycles, type mismatches.

    `problems` holds every problem found, one line each; the message lists them all.
    """

    def __init__(
        self, message: str, hint: str | None = None, problems: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, hint)
        self.problems = problems or (message,)


class StorageError(RunnerError):
    """A write the storage refused (a full disk, a read-only folder) before a module ran or
    while a cached result was placed: exit 1, as for a failure of the run itself."""

    exit_code = EXIT_MODULE_FAILED


class InterruptedRun(RunnerError):
    """The user interrupted the run (Ctrl-C)."""

    exit_code = EXIT_INTERRUPTED
