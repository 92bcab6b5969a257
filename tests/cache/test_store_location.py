"""Where the cache lives, and the sizes and ages users type for gc."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.cache.location import default_cache_root
from runner.cache.units import parse_age, parse_size


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"RUNNER_CACHE_DIR": "/data/cache", "XDG_CACHE_HOME": "/x"}, "/data/cache"),
        ({"RUNNER_CACHE_DIR": "~/c", "HOME": "/home/u"}, "/home/u/c"),
        ({"XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/runner"),
        ({"XDG_CACHE_HOME": "relative", "HOME": "/home/u"}, "/home/u/.cache/runner"),
        ({"XDG_CACHE_HOME": "", "HOME": "/home/u"}, "/home/u/.cache/runner"),
        ({"RUNNER_CACHE_DIR": "", "HOME": "/home/u"}, "/home/u/.cache/runner"),
    ],
)
def test_default_cache_root(environ: dict[str, str], expected: str) -> None:
    assert default_cache_root(environ) == Path(expected)


def test_a_relative_cache_dir_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_cache_root({"RUNNER_CACHE_DIR": "c"}) == tmp_path / "c"


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0", 0),
        ("123", 123),
        (123, 123),
        ("10G", 10 * 1000**3),
        ("10gb", 10 * 1000**3),
        ("500M", 500 * 1000**2),
        ("2k", 2000),
        ("1T", 1000**4),
        ("1.5GiB", 1610612736),
        ("1.5Gi", 1610612736),
        ("64 KiB", 65536),
        (" 3MiB ", 3 * 1024**2),
        ("7B", 7),
        (".5k", 500),
    ],
)
def test_parse_size(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "10X", "-1", "1e3", "ten", "10 G B", "1,5G", True, -5])
def test_parse_size_refuses(text: str | int) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("30m", 1800.0),
        ("12h", 43200.0),
        ("7d", 604800.0),
        ("2w", 1209600.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        (" 7D ", 604800.0),
        (45, 45.0),
        (2.5, 2.5),
    ],
)
def test_parse_age(text: str | float, seconds: float) -> None:
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["", "d", "7", "7y", "-1d", "7 d", "1h 30m", False, -1])
def test_parse_age_refuses(text: str | float) -> None:
    with pytest.raises(ValueError, match="invalid age"):
        parse_age(text)


def test_a_bare_number_gets_a_hint() -> None:
    with pytest.raises(ValueError, match="a unit is required"):
        parse_age("7")
