"""What the CLI tests share."""

from __future__ import annotations

from datetime import datetime


def is_iso(value: object) -> bool:
    """A timestamp in the one format: ISO 8601 with its zone."""
    return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
