"""The one timestamp format."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from runner.clock import iso, now_iso, parse_iso


def test_epoch_seconds_and_datetimes_agree() -> None:
    moment = datetime(2026, 12, 4, 15, 20, 31, 42_000, tzinfo=timezone.utc)
    assert iso(moment) == "2026-12-04T15:20:31.042+00:00"
    assert iso(moment.timestamp()) == "2026-12-04T15:20:31.042+00:00"


def test_other_zones_are_written_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    assert iso(datetime(2026, 12, 4, 16, 0, tzinfo=paris)) == "2026-12-04T15:00:00.000+00:00"


def test_round_trip() -> None:
    text = now_iso()
    assert iso(parse_iso(text)) == text


def test_a_timestamp_without_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="without a zone"):
        parse_iso("2026-12-04T15:00:00")
