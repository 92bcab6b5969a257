"""What both readings of a command share: its style, syntax errors and template units."""

from __future__ import annotations

import typing

from runner.struct import Struct
from runner.template.model import Ref

TemplateStyle = typing.Literal["component2", "cli_v2"]

# Characters a backslash escapes inside double quotes (POSIX); before others it stays literal.
DQUOTE_ESCAPABLE = '\\"$`'
# Unquoted, these make bash do something other than pass the text on as a word.
OPERATORS = "&|;<>()"


class TemplateSyntaxError(Exception):
    """A malformed command string; `runner.spec.command` turns it into a located SpecError."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# ---- positions ----------------------------------------------------------------------------


def _where(text: str, offset: int) -> str:
    """`column 7`, or `line 2, column 3` for a multi-line command (1-based)."""
    line_start = text.rfind("\n", 0, offset) + 1
    column = offset - line_start + 1
    if "\n" not in text.rstrip("\n"):
        return f"column {column}"
    return f"line {text.count(chr(10), 0, offset) + 1}, column {column}"


def upto(text: str, offset: int, closer: str) -> str:
    """The text from `offset` through the next `closer` on the same line (else `near`)."""
    end = text.find(closer, offset)
    shown = text[offset : end + len(closer)] if end >= 0 else ""
    return shown if shown and "\n" not in shown else near(text, offset)


def near(text: str, offset: int, width: int = 24) -> str:
    excerpt = text[offset : offset + width].split("\n", 1)[0]
    return excerpt + ("..." if offset + len(excerpt) < len(text.rstrip()) else "")


def syntax_error(
    text: str, offset: int, message: str, hint: str | None = None, after: str = ""
) -> TemplateSyntaxError:
    """`<message> at column N of the command<after>`."""
    return TemplateSyntaxError(f"{message} at {_where(text, offset)} of the command{after}", hint)


# ---- template units -----------------------------------------------------------------------
# Where `Scanner` found template syntax, keyed by start offset, so that `ShellScanner`
# agrees with it on every placeholder, escape and group bracket instead of deciding again.


class RefUnit(Struct):
    end: int
    ref: Ref


class EscapeUnit(Struct):
    end: int
    text: str  # the one bracket or brace the escape stands for


class BracketUnit(Struct):
    end: int
    opens: bool


Unit = RefUnit | EscapeUnit | BracketUnit
