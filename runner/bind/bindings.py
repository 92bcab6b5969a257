"""Bind user values to a module's interface: names, typed values, ranges, enum children, paths.

Everything a user can get wrong about the values of one run is checked here, before anything
is created or executed, and reported as a `BindingError` naming the input.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from runner.bind.coerce import Named, coerce, label, normalise_default
from runner.bind.ports import bind_outputs, bind_ports
from runner.errors import QUOTE_LIMIT, BindingError, quote
from runner.spec.model import Enabler, Input, ModuleSpec, Parameter, ParamValue
from runner.struct import Struct, field

__all__ = ["Bindings", "bind", "coerce", "label"]

_NOTHING_SEEN: frozenset[str] = frozenset()


class Bindings(Struct):
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
        inputs=bind_ports(spec, given, enabled, base),
        outputs=bind_outputs(spec, placed, base),
    )


# ---- names --------------------------------------------------------------------------------


def _resolve_names(
    items: Sequence[Named], given: Mapping[str, object], noun: str, elsewhere: Mapping[str, str]
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
                f"{noun} {label(item)} is given twice: as {quote(written_as[item.name])}"
                f" and as {quote(key)}",
                "give it once, by either name",
            )
        written_as[item.name] = key
        if value is not None:
            resolved[item.name] = value
    return resolved


def _unknown_name(
    key: str, items: Sequence[Named], noun: str, elsewhere: str | None
) -> BindingError:
    if not items:
        return BindingError(f"unknown {noun} {quote(key)}: the module has no {noun}s", elsewhere)
    known = ", ".join(label(item) for item in items)
    message = f"unknown {noun} {quote(key)}; known {noun}s: {known}"
    if elsewhere is not None:
        return BindingError(message, elsewhere)
    candidates = {n.lower(): n for item in items for n in (item.python_name, item.name)}
    import difflib  # here: about 1 ms to import, for error messages only

    # A name longer than any message quotes is no typo, and difflib would take seconds on it.
    close = []
    if len(key) <= QUOTE_LIMIT:
        close = difflib.get_close_matches(key.lower(), list(candidates), n=1)
    return BindingError(message, f"did you mean {candidates[close[0]]!r}?" if close else None)


def _other_names(items: Iterable[Named], noun: str, flag: str) -> dict[str, str]:
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
            values[param.name] = normalise_default(param, param.default)
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
        state = f"it is {quote(str(values[parent.name]))}"
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
