"""A parsed command template shown as one line of text, the same for every spec generation."""

from __future__ import annotations

from runner.template.model import CommandTemplate, Literal, OptionalGroup, Part, Ref, RefKind, Token


def template_text(template: CommandTemplate) -> str:
    """One line showing the command with `{inputs.x}`/`{outputs.y}` placeholders and `[...]`."""
    return " ".join(_part_text(part) for part in template.parts)


def _part_text(part: Part) -> str:
    if isinstance(part, OptionalGroup):
        return "[" + " ".join(_part_text(p) for p in part.parts) + "]"
    return _token_text(part)


def _token_text(token: Token) -> str:
    out = ""
    for segment in token.segments:
        if isinstance(segment, Literal):
            out += segment.text
        else:
            out += _ref_text(segment)
    return out


def _ref_text(ref: Ref) -> str:
    namespace = "outputs" if ref.kind is RefKind.OUTPUT else "inputs"
    return "{" + f"{namespace}.{ref.name}" + "}"
