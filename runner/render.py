"""Render a command template into an argv list: pure, from bound values and path strings.

Paths come in as strings so the same function renders concrete paths for a run and abstract
ones for a cache key. Each template token becomes exactly one argv element: no shell, no word
splitting, so a value with spaces stays whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runner.bind import label
from runner.errors import BindingError, Location, SpecError
from runner.spec.model import (
    CommandTemplate,
    Input,
    Literal,
    ModuleSpec,
    Parameter,
    ParamValue,
    Part,
    Ref,
    RefKind,
    Token,
)

_INPUT_KINDS = frozenset({RefKind.INPUT, RefKind.INPUT_VALUE, RefKind.INPUT_PATH})


def render(
    template: CommandTemplate,
    spec: ModuleSpec,
    values: Mapping[str, ParamValue],
    input_paths: Mapping[str, str],
    output_paths: Mapping[str, str],
) -> list[str]:
    """The argv for `template`. Maps are keyed by ORIGINAL names; `Ref.name` may be either."""
    context = _Context(spec, values, input_paths, output_paths)
    return [arg for part in template.parts for arg in _render_part(part, context)]


def referenced_inputs(part: Part) -> set[str]:
    """Names (as written) of every input referenced in `part`, nested groups included."""
    if isinstance(part, Token):
        return {s.name for s in part.segments if isinstance(s, Ref) and s.kind in _INPUT_KINDS}
    return {name for inner in part.parts for name in referenced_inputs(inner)}


@dataclass(frozen=True)
class _Context:
    spec: ModuleSpec
    values: Mapping[str, ParamValue]
    input_paths: Mapping[str, str]
    output_paths: Mapping[str, str]

    def find_input(self, name: str) -> Input:
        found = self.spec.find_input(name)
        if found is None:
            raise _template_error(self.spec, f"the command refers to unknown input {name!r}")
        return found

    def input_text(self, ref: Ref) -> str | None:
        """The text a reference to an input renders as; None when it has no value."""
        item = self.find_input(ref.name)
        if isinstance(item, Parameter):
            value = self.values.get(item.name)
            return None if value is None else str(value)
        return self.input_paths.get(item.name)

    def output_text(self, ref: Ref) -> str:
        out = self.spec.find_output(ref.name)
        if out is None:
            raise _template_error(self.spec, f"the command refers to unknown output {ref.name!r}")
        path = self.output_paths.get(out.name)
        if path is None:
            raise BindingError(f"output {label(out)} has no path to render")
        return path


def _template_error(spec: ModuleSpec, message: str) -> SpecError:
    return SpecError(
        Location(spec.source, field="command"), message, "check the spelling against the inputs"
    )


def _render_part(part: Part, context: _Context) -> list[str]:
    if isinstance(part, Token):
        arg = _render_token(part, context)
        return [] if arg is None else [arg]
    if not all(_has_value(token, context) for token in part.parts if isinstance(token, Token)):
        return []
    # Only the group's own tokens decide; a nested group decides for itself.
    return [arg for inner in part.parts for arg in _render_part(inner, context)]


def _has_value(token: Token, context: _Context) -> bool:
    return all(
        context.input_text(s) is not None
        for s in token.segments
        if isinstance(s, Ref) and s.kind in _INPUT_KINDS
    )


def _render_token(token: Token, context: _Context) -> str | None:
    """The token's one argv element; None when an optional input in it has no value."""
    pieces: list[str] = []
    for segment in token.segments:
        if isinstance(segment, Literal):
            pieces.append(segment.text)
        elif segment.kind is RefKind.OUTPUT:
            pieces.append(context.output_text(segment))
        else:
            text = context.input_text(segment)
            if text is None:
                _require_optional(context.find_input(segment.name))
                return None
            pieces.append(text)
    return "".join(pieces)


def _require_optional(item: Input) -> None:
    # An enum child that is switched off has no value by design, like an optional input.
    if item.optional or item.enabled_by is not None:
        return
    flag = "value" if isinstance(item, Parameter) else "path"
    raise BindingError(
        f"missing required input {label(item)}", f"pass -i {item.python_name}=<{flag}>"
    )
