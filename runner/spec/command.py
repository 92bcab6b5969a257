"""The `command` string of a 2.0 or CLI v2 spec, parsed where it stands in the spec file."""

from __future__ import annotations

from runner.spec.source import Node
from runner.template.model import CommandTemplate
from runner.template.parse import parse_command_text
from runner.template.syntax import TemplateStyle, TemplateSyntaxError


def parse_command_string(node: Node, style: TemplateStyle) -> CommandTemplate:
    """Parse the `command` field `node` of a 2.0 (`component2`) or CLI v2 (`cli_v2`) spec;
    a malformed string is a SpecError at the field's line."""
    text = node.text()
    try:
        return parse_command_text(text, style)
    except TemplateSyntaxError as exc:
        raise node.error(exc.message, exc.hint) from None
