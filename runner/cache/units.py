"""Sizes and ages as users write them on the command line (`runner cache gc --max-size 10G`)."""

from __future__ import annotations

import re

# As in ccache and most disk tools' SI mode: k/M/G/T are powers of 1000, the "i" forms of 1024.
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    **{prefix: 1000**power for power, prefix in enumerate("kmgt", start=1)},
    **{prefix + "b": 1000**power for power, prefix in enumerate("kmgt", start=1)},
    **{prefix + "i": 1024**power for power, prefix in enumerate("kmgt", start=1)},
    **{prefix + "ib": 1024**power for power, prefix in enumerate("kmgt", start=1)},
}
# Patterns, not compiled ones: `re` compiles them on first use (only `cache` and `env` commands
# parse sizes and ages), and `decimal` is imported there too.
_SIZE = r"(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)"
_SIZE_HELP = (
    "expected a number of bytes, optionally with a unit: k, M, G, T (powers of 1000) or "
    "KiB, MiB, GiB, TiB (powers of 1024), e.g. 10G, 500M or 1.5GiB"
)

_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGE_PART = r"(\d+(?:\.\d*)?|\.\d+)([smhdw])"
_AGE = rf"(?:{_AGE_PART})+"
_AGE_HELP = "expected a number with a unit: s, m, h, d or w (e.g. 90s, 30m, 12h, 7d, 1h30m)"


def parse_size(value: str | int) -> int:
    """Bytes from "10G", "500M", "1.5GiB", "123" or an int. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"invalid size {value!r}: {_SIZE_HELP}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"invalid size {value}: a size cannot be negative")
        return value
    from decimal import Decimal

    match = re.fullmatch(_SIZE, value.strip().lower())
    if match is None or match.group(2) not in _SIZE_UNITS:
        raise ValueError(f"invalid size {value!r}: {_SIZE_HELP}")
    # Decimal: 1.5GiB is exactly 1610612736 bytes, with no float rounding on the way.
    return int(Decimal(match.group(1)) * _SIZE_UNITS[match.group(2)])


def parse_age(value: str | float) -> float:
    """Seconds from "7d", "12h", "30m", "90s" or "1h30m" (a number is taken as seconds).
    Raises ValueError; a bare number in a string is refused, since "7" might mean days."""
    if isinstance(value, bool):
        raise ValueError(f"invalid age {value!r}: {_AGE_HELP}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"invalid age {value}: an age cannot be negative")
        return float(value)
    from decimal import Decimal

    text = value.strip().lower()
    if re.fullmatch(_AGE, text) is None:
        hint = " (a unit is required)" if re.fullmatch(_NUMBER, text) else ""
        raise ValueError(f"invalid age {value!r}: {_AGE_HELP}{hint}")
    return float(
        sum(Decimal(number) * _AGE_UNITS[unit] for number, unit in re.findall(_AGE_PART, text))
    )
