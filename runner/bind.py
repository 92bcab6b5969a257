"""Bind user values to a module's interface: names, typed values, ranges, enum children, paths.

Everything a user can get wrong about the values of one run is checked here, before anything
is created or executed, and reported as a `BindingError` naming the input.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import os
import shlex
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from runner.errors import BindingError
from runner.spec.model import (
    FILE_PORT_TYPES,
    Enabler,
    Input,
    InputPort,
    ModuleSpec,
    OutputPort,
    Parameter,
    ParamType,
    ParamValue,
)

# Port types that take either a file or a folder, so a file is fine even without AnyFile.
_EITHER_KIND_PORT_TYPES = frozenset({"path", "custom_model"})
_NOTHING_SEEN: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Bindings:
    """The checked values of one run, keyed by ORIGINAL names. The mappings are read-only."""

    values: Mapping[str, ParamValue] = field(default_factory=dict)  # enabled parameters
    inputs: Mapping[str, Path] = field(default_factory=dict)  # ports with a path: absolute
    outputs: Mapping[str, Path] = field(default_factory=dict)  # outputs placed by the user

    def __post_init__(self) -> None:
        # Copies behind read-only views: callers can neither mutate these nor be mutated.
        for name in ("values", "inputs", "outputs"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))


def bind(
    spec: ModuleSpec,
    values: Mapping[str, object],
    outputs: Mapping[str, object] | None = None,
    *,
    base_dir: Path,
) -> Bindings:
    """Check `values` (inputs and parameters) and `outputs` against `spec`.

    Keys are original names (`Input path`) or python names (`input_path`); a None value means
    "not given". Strings are coerced to the parameter's type; relative paths are taken from
    `base_dir`, port defaults from the spec's folder.
    """
    base = base_dir.absolute()
    given = _resolve_names(
        spec.inputs, values, "input", _other_names(spec.outputs, "an output", "-o")
    )
    placed = _resolve_names(
        spec.outputs, outputs or {}, "output", _other_names(spec.inputs, "an input", "-i")
    )
    parameters = _parameter_values(spec, given)
    enabled = {item.name for item in spec.inputs if _is_enabled(spec, item, parameters)}
    for port in spec.ports:
        if port.name in given and port.name not in enabled and port.enabled_by is not None:
            raise _disabled_error(spec, port, port.enabled_by, parameters)
    _check_required(spec, given, enabled)
    return Bindings(
        values=parameters,
        inputs=_bind_ports(spec, given, enabled, base),
        outputs=_bind_outputs(spec, placed, base),
    )


# ---- names --------------------------------------------------------------------------------


class _Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def python_name(self) -> str: ...


def label(item: _Named) -> str:
    """`'Top k' (top_k)`, or just `'top_k'` when both names are the same."""
    if item.name == item.python_name:
        return repr(item.name)
    return f"{item.name!r} ({item.python_name})"


def _resolve_names(
    items: Sequence[_Named], given: Mapping[str, object], noun: str, elsewhere: Mapping[str, str]
) -> dict[str, object]:
    """Given values keyed by ORIGINAL name; None values dropped. `elsewhere` maps names of the
    other kind (outputs for inputs...) to a hint, for a key given to the wrong side."""
    resolved: dict[str, object] = {}
    written_as: dict[str, str] = {}
    for key, value in given.items():
        item = next((i for i in items if key in (i.name, i.python_name)), None)
        if item is None:
            raise _unknown_name(key, items, noun, elsewhere.get(key))
        if item.name in written_as:
            raise BindingError(
                f"{noun} {label(item)} is given twice: as {written_as[item.name]!r} and as {key!r}",
                "give it once, by either name",
            )
        written_as[item.name] = key
        if value is not None:
            resolved[item.name] = value
    return resolved


def _unknown_name(
    key: str, items: Sequence[_Named], noun: str, elsewhere: str | None
) -> BindingError:
    if not items:
        return BindingError(f"unknown {noun} {key!r}: the module has no {noun}s", elsewhere)
    known = ", ".join(label(item) for item in items)
    message = f"unknown {noun} {key!r}; known {noun}s: {known}"
    if elsewhere is not None:
        return BindingError(message, elsewhere)
    candidates = {n.lower(): n for item in items for n in (item.python_name, item.name)}
    close = difflib.get_close_matches(key.lower(), list(candidates), n=1)
    return BindingError(message, f"did you mean {candidates[close[0]]!r}?" if close else None)


def _other_names(items: Iterable[_Named], noun: str, flag: str) -> dict[str, str]:
    return {
        n: f"{n!r} is {noun}: give it with {flag} {item.python_name}=..."
        for item in items
        for n in (item.name, item.python_name)
    }


# ---- parameters ---------------------------------------------------------------------------


def _parameter_values(spec: ModuleSpec, given: Mapping[str, object]) -> dict[str, ParamValue]:
    """The value of every enabled parameter: the given one, coerced and checked, else its
    default. Parents go first, so a child given while switched off is reported as such rather
    than for its value, which would never be used."""
    values: dict[str, ParamValue] = {}
    for param in sorted(spec.parameters, key=lambda p: _depth(spec, p)):
        if not _is_enabled(spec, param, values):
            if param.name in given and param.enabled_by is not None:
                raise _disabled_error(spec, param, param.enabled_by, values)
        elif param.name in given:
            values[param.name] = coerce(param, given[param.name])
        elif param.default is not None:
            values[param.name] = _normalise_default(param, param.default)
    return {p.name: values[p.name] for p in spec.parameters if p.name in values}


def _depth(spec: ModuleSpec, item: Input) -> int:
    """How many enum parents switch `item` on (0 for a top-level input)."""
    depth, seen = 0, {item.name}
    while item.enabled_by is not None:
        parent = spec.find_input(item.enabled_by.parent)
        if parent is None or parent.name in seen:
            break
        depth, item = depth + 1, parent
        seen.add(parent.name)
    return depth


def _normalise_default(param: Parameter, default: ParamValue) -> ParamValue:
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
    return BindingError(f"parameter {label(param)}: expected {expected}, got {raw!r}")


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
    close = difflib.get_close_matches(text, options, n=1)
    raise BindingError(
        f"parameter {label(param)}: {text!r} is not one of {shown}",
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


# ---- enum children and required inputs ----------------------------------------------------


def _is_enabled(
    spec: ModuleSpec,
    item: Input,
    effective: Mapping[str, ParamValue],
    seen: frozenset[str] = _NOTHING_SEEN,
) -> bool:
    """True unless the item is an enum child whose parent (itself enabled) has another value."""
    enabler = item.enabled_by
    if enabler is None:
        return True
    parent = spec.find_input(enabler.parent)
    if not isinstance(parent, Parameter) or parent.name in seen:
        return False  # a dangling or circular parent enables nothing
    if not _is_enabled(spec, parent, effective, seen | {item.name}):
        return False
    value = effective.get(parent.name)
    return value is not None and str(value) == enabler.option


def _disabled_error(
    spec: ModuleSpec, item: Input, enabler: Enabler, values: Mapping[str, ParamValue]
) -> BindingError:
    noun = "parameter" if isinstance(item, Parameter) else "input"
    parent = spec.find_input(enabler.parent)
    parent_label = label(parent) if parent is not None else repr(enabler.parent)
    parent_flag = parent.python_name if parent is not None else enabler.parent
    if parent is not None and not _is_enabled(spec, parent, values):
        state = f"{parent_label} is itself not in use"
    elif parent is not None and parent.name in values:
        state = f"it is {str(values[parent.name])!r}"
    else:
        state = f"{parent_label} has no value"
    setting = shlex.quote(f"{parent_flag}={enabler.option}")
    return BindingError(
        f"{noun} {label(item)} applies only when {parent_label} is {enabler.option!r} ({state})",
        f"set -i {setting}, or drop {item.python_name}",
    )


def _check_required(spec: ModuleSpec, given: Mapping[str, object], enabled: set[str]) -> None:
    missing = [
        item
        for item in spec.inputs
        if item.name in enabled
        and not item.optional
        and item.default is None
        and item.name not in given
    ]
    if not missing:
        return
    names = ", ".join(label(item) for item in missing)
    plural = "s" if len(missing) > 1 else ""
    flags = " ".join(
        f"-i {item.python_name}=<{'value' if isinstance(item, Parameter) else 'path'}>"
        for item in missing
    )
    raise BindingError(f"missing required input{plural} {names}", f"pass {flags}")


# ---- ports --------------------------------------------------------------------------------


def _bind_ports(
    spec: ModuleSpec, given: Mapping[str, object], enabled: set[str], base: Path
) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    for port in spec.ports:
        if port.name not in enabled:
            continue
        if port.name in given:
            paths[port.name] = _port_path(port, given[port.name], base, "path")
        elif port.default is not None:
            paths[port.name] = _default_path(port, port.default, spec.source.parent)
    return paths


def _default_path(port: InputPort, default: str, spec_dir: Path) -> Path:
    if "://" in default or default.startswith("azureml:"):
        raise BindingError(
            f"input {label(port)}: its default {default!r} is not a local path",
            f"give a local path: -i {port.python_name}=<path>",
        )
    return _port_path(port, default, spec_dir, "default path")


def _given_path(owner: str, raw: object) -> Path:
    if not isinstance(raw, (str, os.PathLike)) or not os.fsdecode(raw).strip():
        raise BindingError(f"{owner}: expected a path, got {raw!r}")
    return Path(os.fsdecode(raw)).expanduser()


def _absolute(path: Path, base: Path) -> Path:
    # normpath, not resolve(): a symlinked input keeps the name the user gave it.
    return Path(os.path.normpath(base / path))


def _port_path(port: InputPort, raw: object, base: Path, what: str) -> Path:
    written = _given_path(f"input {label(port)}", raw)
    path = _absolute(written, base)
    try:
        is_dir = stat.S_ISDIR(path.stat().st_mode)
    except (FileNotFoundError, NotADirectoryError):
        raise BindingError(
            f"input {label(port)}: {what} {path} does not exist",
            None if written.is_absolute() else f"relative paths are taken from {base}",
        ) from None
    except OSError as exc:
        raise BindingError(f"input {label(port)}: cannot read {path}: {exc.strerror}") from None
    if is_dir and port.is_file:
        return _single_file(port, path)
    if not is_dir and not _accepts_file(port):
        raise BindingError(
            f"input {label(port)} takes a folder ({', '.join(port.types)}), but {path} is a file",
            f"give the folder that holds it: -i {port.python_name}={shlex.quote(str(path.parent))}",
        )
    return path


def _accepts_file(port: InputPort) -> bool:
    kinds = FILE_PORT_TYPES | _EITHER_KIND_PORT_TYPES
    return not port.types or any(t.lower() in kinds for t in port.types)


def _single_file(port: InputPort, folder: Path) -> Path:
    """The one file in `folder`, for a file port given a folder (AzureML mounted files so).

    Hidden files (`.lock`, `.DS_Store`) do not count: tools leave them next to the data."""
    try:
        files = sorted(
            entry
            for entry in folder.iterdir()
            if entry.is_file() and not entry.name.startswith(".")
        )
    except OSError as exc:
        raise BindingError(f"input {label(port)}: cannot list {folder}: {exc.strerror}") from None
    if len(files) == 1:
        return files[0]
    if not files:
        raise BindingError(
            f"input {label(port)} takes one file, but folder {folder} holds no file",
            f"name the file itself: -i {port.python_name}=<file>",
        )
    shown = ", ".join(f.name for f in files[:5]) + (", ..." if len(files) > 5 else "")
    raise BindingError(
        f"input {label(port)} takes one file, but folder {folder} holds {len(files)} files:"
        f" {shown}",
        f"name the file itself: -i {port.python_name}={shlex.quote(str(files[0]))}",
    )


# ---- outputs ------------------------------------------------------------------------------


def _bind_outputs(spec: ModuleSpec, given: Mapping[str, object], base: Path) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    placed_by: dict[Path, OutputPort] = {}
    for out in spec.outputs:
        if out.name not in given:
            continue
        path = _absolute(_given_path(f"output {label(out)}", given[out.name]), base)
        _check_output_kind(out, path)
        if path in placed_by:
            raise BindingError(
                f"outputs {label(placed_by[path])} and {label(out)} both go to {path}",
                "give each output its own path",
            )
        placed_by[path] = out
        paths[out.name] = path
    return paths


def _check_output_kind(out: OutputPort, path: Path) -> None:
    if out.is_file and path.is_dir():
        raise BindingError(
            f"output {label(out)} is a file, but {path} is an existing folder",
            f"name a file: -o {out.python_name}={shlex.quote(str(path / out.python_name))}",
        )
    if not out.is_file and path.exists() and not path.is_dir():
        raise BindingError(
            f"output {label(out)} is a folder, but {path} is an existing file",
            "name a folder (it is created when missing)",
        )
