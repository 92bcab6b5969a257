"""Parameter values: `coerce` (type, range, enum options), defaults, and the `label` of a name."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable
from typing import Protocol

from runner.errors import QUOTE_LIMIT, BindingError, quote
from runner.spec.model import Parameter, ParamType, ParamValue


class Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def python_name(self) -> str: ...


def label(item: Named) -> str:
    """`'Top k' (top_k)`, or just `'top_k'` when both names are the same."""
    if item.name == item.python_name:
        return repr(item.name)
    return f"{item.name!r} ({item.python_name})"


def normalise_default(param: Parameter, default: ParamValue) -> ParamValue:
    # A Float default written `1` renders as given values do (`1.0`), so both hash alike.
    if param.type is ParamType.FLOAT and isinstance(default, int) and not isinstance(default, bool):
        return float(default)
    return default


def coerce(param: Parameter, raw: object) -> ParamValue:
    """A given value as the parameter's type: strings (from a CLI) are parsed, typed values
    checked; then the range and enum membership are checked."""
    value = _COERCERS[param.type](param, raw)
    _check_range(param, value)
    return value


def _bad_value(param: Parameter, expected: str, raw: object) -> BindingError:
    return BindingError(f"parameter {label(param)}: expected {expected}, got {quote(raw)}")


def _to_integer(param: Parameter, raw: object) -> ParamValue:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            pass
    raise _bad_value(param, "an integer", raw)


def _to_float(param: Parameter, raw: object) -> ParamValue:
    value: float | None = None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str):
        with contextlib.suppress(ValueError):
            value = float(raw.strip())
    if value is None or not math.isfinite(value):
        raise _bad_value(param, "a finite number", raw)
    return value


def _to_boolean(param: Parameter, raw: object) -> ParamValue:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise _bad_value(param, "true or false", raw)


def _to_string(param: Parameter, raw: object) -> ParamValue:
    # Numbers are unambiguous as text; booleans are not (True or true?), so they are refused.
    if isinstance(raw, str):
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, os.PathLike):
        return os.fsdecode(raw)
    raise _bad_value(param, "a string", raw)


def _to_enum(param: Parameter, raw: object) -> ParamValue:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise _bad_value(param, "one of its options", raw)
    text = str(raw)
    options = param.option_values
    if not options or text in options:
        return text
    folded = [option for option in options if option.casefold() == text.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    shown = ", ".join(repr(option) for option in options)
    import difflib  # here: about 1 ms to import, for error messages only

    # A value longer than any message quotes is no typo, and difflib would take seconds on it.
    close = difflib.get_close_matches(text, options, n=1) if len(text) <= QUOTE_LIMIT else []
    raise BindingError(
        f"parameter {label(param)}: {quote(text)} is not one of {shown}",
        f"did you mean {close[0]!r}?" if close else None,
    )


_COERCERS: dict[ParamType, Callable[[Parameter, object], ParamValue]] = {
    ParamType.INTEGER: _to_integer,
    ParamType.FLOAT: _to_float,
    ParamType.BOOLEAN: _to_boolean,
    ParamType.STRING: _to_string,
    ParamType.ENUM: _to_enum,
}


def _check_range(param: Parameter, value: ParamValue) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if param.min is not None and value < param.min:
        raise BindingError(
            f"parameter {label(param)}: {value} is below the minimum {param.min}",
            _range_hint(param),
        )
    if param.max is not None and value > param.max:
        raise BindingError(
            f"parameter {label(param)}: {value} is above the maximum {param.max}",
            _range_hint(param),
        )


def _range_hint(param: Parameter) -> str:
    if param.min is not None and param.max is not None:
        return f"give a value from {param.min} to {param.max}"
    if param.min is not None:
        return f"give a value of at least {param.min}"
    return f"give a value of at most {param.max}"
