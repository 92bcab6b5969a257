"""From the run's copy back to the files the user edits.

A run executes a snapshot copy (in a container: its mount), so a traceback names files under
the run folder. The (source folder, run folder) pairs of a snapshot plan map them back: the
debug server is given them (`runner.run.debug`), and a failed run's record keeps them with
the innermost frame of its traceback in the user's own sources (`error_at`), so that failure
summaries, the log tails runner shows and `--json` name the user's file and line.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO, cast

from runner.snapshot.model import SnapshotPlan

CONTAINER_SNAPSHOT = "/mnt/runner/snapshot"  # where a container sees the snapshot
Pairs = Sequence[tuple[str, str]]  # (source folder, run folder), most specific first
_FRAME = re.compile(r'File "([^"\n]+)", line (\d+)')
_PDB_FRAME = re.compile(r"^> ([^\n(]+)\((\d+)\)", re.MULTILINE)  # pdb's `> FILE(LINE)func()`
_TAIL_BYTES = 64 * 1024  # a traceback is at the end of a log; a huge log is not read whole


def source_mappings(plan: SnapshotPlan | None, run_root: str) -> tuple[tuple[str, str], ...]:
    """(source folder, run folder) pairs covering every file of the snapshot: the snapshot's
    own folder and each additional include's origin, most specific first (the debug server
    and the traceback rewriting both take the first pair that matches)."""
    if plan is None:
        return ()
    pairs: dict[str, str] = {}
    for entry in plan.entries:
        if entry.source is None or entry.kind == "zip":
            continue
        folder = entry.relpath.rpartition("/")[0]
        run_dir = f"{run_root.rstrip('/')}/{folder}" if folder else run_root.rstrip("/")
        pairs.setdefault(run_dir, str(entry.source.parent))
    kept = {run: src for run, src in pairs.items() if not _implied(run, src, pairs)}
    ordered = sorted(kept.items(), key=lambda item: len(item[0]), reverse=True)
    return tuple((src, run) for run, src in ordered)


def _implied(run: str, source: str, pairs: Mapping[str, str]) -> bool:
    """A pair that a shallower pair already maps the same way."""
    parent, _, name = run.rpartition("/")
    while parent:
        above = pairs.get(parent)
        if above is not None:
            return str(Path(above) / name) == source
        parent, _, more = parent.rpartition("/")
        name = f"{more}/{name}"
    return False


def run_mappings(
    plan: SnapshotPlan | None, snapshot: Path, in_container: bool
) -> list[tuple[str, str]]:
    """The pairs for a run's snapshot, and for its mount when it ran in a container."""
    pairs = list(source_mappings(plan, str(snapshot)))
    if in_container:
        pairs += source_mappings(plan, CONTAINER_SNAPSHOT)
    return pairs


def map_path(path: str, pairs: Pairs) -> str | None:
    """The user's file for a path under the run's copy; None for any other path."""
    for source, run in pairs:
        if _under(path, run):
            return source + path[len(run) :]
    return None


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def failure_sources(
    plan: SnapshotPlan | None, snapshot: Path, log: Path, in_container: bool
) -> tuple[list[tuple[str, str]], str | None]:
    """For a failed run's record: the pairs (for whoever shows its log later), and where in
    the user's files its traceback ended (None: no such frame)."""
    pairs = run_mappings(plan, snapshot, in_container)
    return pairs, error_location(read_tail(log), pairs)


def map_traceback(text: str, pairs: Pairs) -> str:
    """Traceback frames (`File "..."`) and pdb's locations (`> FILE(LINE)`) naming the run's
    copy rewritten to name the user's files."""

    def mapped(match: re.Match[str]) -> str:
        found = map_path(match[1], pairs)
        return match[0] if found is None else f'File "{found}", line {match[2]}'

    def mapped_pdb(match: re.Match[str]) -> str:
        found = map_path(match[1], pairs)
        return match[0] if found is None else f"> {found}({match[2]})"

    if not pairs:
        return text
    return _PDB_FRAME.sub(mapped_pdb, _FRAME.sub(mapped, text))


class _MappedEcho(io.TextIOBase):
    """The live echo of a run, its traceback frames naming the user's files (the log keeps
    what the module wrote). A frame line comes in one write of the module's, and so in one
    chunk but at a pipe read's boundary, where it would be shown as written."""

    def __init__(self, stream: TextIO, pairs: Pairs) -> None:
        self._stream = stream
        self._pairs = pairs

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", None) or "utf-8"

    def write(self, text: str) -> int:
        self._stream.write(map_traceback(text, self._pairs))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()


def mapped_echo(
    echo: TextIO | None, plan: SnapshotPlan | None, snapshot: Path, in_container: bool
) -> TextIO | None:
    pairs = run_mappings(plan, snapshot, in_container) if echo is not None else []
    if echo is None or not pairs:
        return echo
    return cast(TextIO, _MappedEcho(echo, pairs))  # the part of TextIO an echo is used for


def error_location(text: str, pairs: Pairs) -> str | None:
    """`FILE:LINE` of the last frame that is in the user's files (a traceback ends with the
    innermost frame, and the last traceback of a log is the one that ended the run)."""
    found = None
    sources = [source for source, _ in pairs]
    for match in _FRAME.finditer(text):
        path = map_path(match[1], pairs)
        if path is None and any(_under(match[1], source) for source in sources):
            path = match[1]  # already the user's (an in-process run compiles the sources)
        if path is not None:
            found = f"{path}:{match[2]}"
    return found


def read_tail(log: Path) -> str:
    try:
        with log.open("rb") as stream:
            size = stream.seek(0, 2)
            stream.seek(max(0, size - _TAIL_BYTES))
            return stream.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def mapped_log_tail(log: Path, lines: int) -> list[str]:
    """The last lines of a run's log, frames mapped with the pairs its run.json keeps."""
    text = "\n".join(read_tail(log).splitlines()[-lines:])
    return map_traceback(text, recorded_mappings(log.with_name("run.json"))).splitlines()


def recorded_mappings(record: Path) -> list[tuple[str, str]]:
    try:
        pairs = json.loads(record.read_text(encoding="utf-8")).get("source_mappings") or []
    except (OSError, ValueError, AttributeError):
        return []
    return [(str(pair[0]), str(pair[1])) for pair in pairs if len(pair) == 2]
