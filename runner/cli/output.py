"""How results are printed: one JSON object, tables with headers, sizes and times for people."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TextIO

from runner.files import size_text

__all__ = ["emit_json", "local_time", "plural", "size_text", "table"]


def emit_json(stdout: TextIO, data: Mapping[str, object]) -> None:
    """The result of a command under --json: one object, and nothing else on stdout."""
    json.dump(data, stdout, indent=2)
    stdout.write("\n")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, headers in capitals, the last column free."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = []
    for row in [headers, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row[:-1], widths[:-1], strict=True)]
        lines.append("  ".join([*cells, str(row[-1])]).rstrip())
    return "\n".join(lines)


def local_time(epoch: float) -> str:
    """A moment for people: the local date and time to the minute."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {nouns or noun + 's'}"
