"""The one timestamp format of every record and `--json` object: ISO 8601 in UTC, with its zone.

`2026-12-04T15:20:31.042+00:00`: milliseconds, and the offset written out, so that any
ISO 8601 parser (Python's `datetime.fromisoformat`, JavaScript's `Date`, jq) reads it back.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone


def iso(moment: datetime | float) -> str:
    """`moment` (an aware datetime, or seconds since the epoch) in the one format."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def now_iso() -> str:
    return iso(time.time())


def parse_iso(text: str) -> float:
    """Seconds since the epoch of a timestamp written by `iso`; ValueError when it is not one."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without a zone: {text!r}")
    return moment.timestamp()
