"""Parse 2.0 and CLI v2 command strings into a `CommandTemplate`: shell words, then placeholders.

The documented rule is "split with POSIX shell rules first, then substitute inside each token",
so a value with spaces stays one argv element. One left-to-right scan does both: quotes,
backslashes and whitespace follow POSIX shell rules, while placeholders (`{inputs.x}`,
`${{ inputs.x }}`) are read as opaque units so whitespace inside their braces cannot split them.

Decisions the contract leaves open:

- A backslash outside quotes makes the next character literal (`\\[`, `\\{`), as in a shell;
  a backslash before a newline joins the lines.
- `#` at the start of an unquoted word begins a comment that runs to the end of the line, as in
  bash: AzureML handed these strings to `bash -c`, so text after ` #` never reached the module.
  A `#` inside a word (`a#b`) or in quotes is literal.
- Placeholders are recognised inside quotes too (`'{inputs.x}'` is still a reference), as is
  the `{{` / `}}` brace escape, because the service substituted them before any shell ran.
- 2.0 optional groups `[ ... ]` and their `[[` / `]]` escapes exist only outside quotes: in
  quotes a bracket cannot open a group, so it needs no escaping and stays literal. A group
  bracket also ends the word before it, like whitespace.
- A group must reference at least one input or output: `a[0]` unquoted is an error rather
  than a silently optional `0`.
- In a 2.0 command every `{` must start a placeholder or be escaped as `{{`; a lone `}` is
  literal. In a CLI v2 command braces and brackets are literal except in `${{`, `$[[`, `]]`.
- Shell operators (`&&`, `|`, `>`) and `$VAR` have no meaning here: they become literal words.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass

from runner.spec.model import (
    CommandTemplate,
    Literal,
    OptionalGroup,
    Part,
    Ref,
    RefKind,
    Segment,
    Token,
)
from runner.spec.source import Node

TemplateStyle = typing.Literal["component2", "cli_v2"]

_BLANKS = " \t\r\n"
_NAMESPACES = {"inputs": RefKind.INPUT, "outputs": RefKind.OUTPUT}
_PLACEHOLDER_BODY = re.compile(r"\s*([A-Za-z_]\w*)\s*\.\s*([^\s{}'\"]*)\s*")
_V2_LOOKALIKE = re.compile(r"\{\{?\s*(inputs|outputs)\s*\.")
# Characters a backslash escapes inside double quotes (POSIX); before others it stays literal.
_DQUOTE_ESCAPABLE = '\\"$`'


class TemplateSyntaxError(Exception):
    """A malformed command string; `parse_command_string` turns it into a located SpecError."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_command_string(node: Node, style: TemplateStyle) -> CommandTemplate:
    """Parse the `command` field `node` of a 2.0 (`component2`) or CLI v2 (`cli_v2`) spec."""
    text = node.text()
    try:
        return parse_command_text(text, style)
    except TemplateSyntaxError as exc:
        raise node.error(exc.message, exc.hint) from None


def parse_command_text(text: str, style: TemplateStyle) -> CommandTemplate:
    """Parse a command string; raises `TemplateSyntaxError` (no location) when malformed."""
    return CommandTemplate(parts=_Scanner(text, style).scan(), source=text)


# ---- positions ----------------------------------------------------------------------------


def _where(text: str, offset: int) -> str:
    """`column 7`, or `line 2, column 3` for a multi-line command (1-based)."""
    line_start = text.rfind("\n", 0, offset) + 1
    column = offset - line_start + 1
    if "\n" not in text.rstrip("\n"):
        return f"column {column}"
    return f"line {text.count(chr(10), 0, offset) + 1}, column {column}"


def _upto(text: str, offset: int, closer: str) -> str:
    """The text from `offset` through the next `closer` on the same line (else `_near`)."""
    end = text.find(closer, offset)
    shown = text[offset : end + len(closer)] if end >= 0 else ""
    return shown if shown and "\n" not in shown else _near(text, offset)


def _near(text: str, offset: int, width: int = 24) -> str:
    excerpt = text[offset : offset + width].split("\n", 1)[0]
    return excerpt + ("..." if offset + len(excerpt) < len(text.rstrip()) else "")


# ---- the scanner --------------------------------------------------------------------------


@dataclass
class _Group:
    """A group being filled: where its opening bracket is, and its parts so far."""

    offset: int
    opener: str
    parts: list[Part]


class _Scanner:
    """One pass over the command: words, quotes, placeholders and optional groups."""

    def __init__(self, text: str, style: TemplateStyle) -> None:
        self.text = text
        self.style = style
        self.pos = 0
        self.groups: list[_Group] = [_Group(-1, "", [])]
        self.segments: list[Segment] = []
        self.chars: list[str] = []
        self.in_word = False

    def fail(
        self, offset: int, message: str, hint: str | None = None, after: str = ""
    ) -> TemplateSyntaxError:
        """`<message> at column N of the command<after>`."""
        where = f"{_where(self.text, offset)} of the command"
        return TemplateSyntaxError(f"{message} at {where}{after}", hint)

    # ---- building words and groups

    def add_text(self, text: str) -> None:
        self.chars.append(text)
        self.in_word = True

    def add_ref(self, ref: Ref) -> None:
        self._flush_chars()
        self.segments.append(ref)
        self.in_word = True

    def _flush_chars(self) -> None:
        if self.chars:
            self.segments.append(Literal("".join(self.chars)))
            self.chars = []

    def end_word(self) -> None:
        if not self.in_word:
            return
        self._flush_chars()
        segments = tuple(s for s in self.segments if s != Literal(""))
        self.groups[-1].parts.append(Token(segments or (Literal(""),)))
        self.segments = []
        self.in_word = False

    def open_group(self, width: int) -> None:
        self.end_word()
        self.groups.append(_Group(self.pos, self.text[self.pos : self.pos + width], []))
        self.pos += width

    def close_group(self, width: int) -> None:
        self.end_word()
        group = self.groups.pop()
        if not group.parts:
            raise self.fail(group.offset, "empty optional group", "remove it")
        if not any(_has_ref(part) for part in group.parts):
            shown = self.text[group.offset : self.pos + width]
            raise self.fail(
                group.offset,
                f"optional group {shown!r} references no input",
                _LITERAL_BRACKET_HINT[self.style],
            )
        self.groups[-1].parts.append(OptionalGroup(tuple(group.parts)))
        self.pos += width

    # ---- the scan

    def scan(self) -> tuple[Part, ...]:
        while self.pos < len(self.text):
            self._step_unquoted()
        self.end_word()
        if len(self.groups) > 1:
            group = self.groups[-1]
            raise self.fail(
                group.offset,
                f"unclosed optional group: the {group.opener!r}",
                _UNCLOSED_GROUP_HINT[self.style],
                after=" is never closed",
            )
        return tuple(self.groups[0].parts)

    def _step_unquoted(self) -> None:
        char = self.text[self.pos]
        if char in _BLANKS:
            self.end_word()
            self.pos += 1
        elif char == "\\":
            self._backslash_unquoted()
        elif char == "'":
            self._single_quoted()
        elif char == '"':
            self._double_quoted()
        elif char == "#" and not self.in_word:
            newline = self.text.find("\n", self.pos)
            self.pos = len(self.text) if newline < 0 else newline
        elif not self._template_syntax(quoted=False):
            self.add_text(char)
            self.pos += 1

    def _backslash_unquoted(self) -> None:
        following = self.text[self.pos + 1 : self.pos + 3]
        if not following:
            raise self.fail(
                self.pos,
                "the backslash",
                "remove it",
                after=" escapes nothing: it ends the command",
            )
        if following.startswith("\n"):
            self.pos += 2  # line continuation: joins the lines, as in a shell
        elif following == "\r\n":
            self.pos += 3
        else:
            self.add_text(following[0])
            self.pos += 2

    def _single_quoted(self) -> None:
        start = self.pos
        self.in_word = True
        self.pos += 1
        while self.pos < len(self.text) and self.text[self.pos] != "'":
            if not self._template_syntax(quoted=True):
                self.add_text(self.text[self.pos])
                self.pos += 1
        if self.pos >= len(self.text):
            raise self._unbalanced(start)
        self.pos += 1

    def _double_quoted(self) -> None:
        start = self.pos
        self.in_word = True
        self.pos += 1
        while self.pos < len(self.text) and self.text[self.pos] != '"':
            char = self.text[self.pos]
            nxt = self.text[self.pos + 1 : self.pos + 2]
            if char == "\\" and nxt == "\n":
                self.pos += 2
            elif char == "\\" and nxt and nxt in _DQUOTE_ESCAPABLE:
                self.add_text(nxt)
                self.pos += 2
            elif not self._template_syntax(quoted=True):
                self.add_text(char)
                self.pos += 1
        if self.pos >= len(self.text):
            raise self._unbalanced(start)
        self.pos += 1

    def _unbalanced(self, start: int) -> TemplateSyntaxError:
        quote = self.text[start]
        return self.fail(
            start,
            f"unbalanced quote: the {quote}",
            "close the quote, or escape a literal quote character with a backslash outside"
            " quotes (\\' or \\\")",
            after=" is never closed",
        )

    # ---- template syntax

    def _template_syntax(self, *, quoted: bool) -> bool:
        """Consume a placeholder, escape or group bracket at `pos`; False when there is none."""
        if self.style == "component2":
            return self._component2_syntax(quoted)
        return self._cli_v2_syntax(quoted)

    def _component2_syntax(self, quoted: bool) -> bool:
        text, pos = self.text, self.pos
        escapes = ("{{", "}}") if quoted else ("{{", "}}", "[[", "]]")
        if text.startswith(escapes, pos):
            self.add_text(text[pos])
            self.pos += 2
        elif text.startswith("${{", pos):
            raise self.fail(
                pos,
                f"{_upto(text, pos, '}}')!r} is CLI v2 placeholder syntax",
                "a 2.0 component writes {inputs.<name>} and {outputs.<name>}",
            )
        elif text[pos] == "{":
            self._placeholder(opener="{", closer="}")
        elif text[pos] == "[" and not quoted:
            self.open_group(1)
        elif text[pos] == "]" and not quoted:
            if len(self.groups) == 1:
                raise self.fail(pos, "']' closes no optional group", "write ']]' for a literal ']'")
            self.close_group(1)
        else:
            return False
        return True

    def _cli_v2_syntax(self, quoted: bool) -> bool:
        text, pos = self.text, self.pos
        if text.startswith("${{", pos):
            self._placeholder(opener="${{", closer="}}")
        elif text.startswith("$[[", pos):
            if quoted:
                raise self.fail(
                    pos,
                    "an optional block '$[[' inside quotes",
                    'move the block outside the quotes: $[[--opt "${{inputs.x}}"]]',
                )
            self.open_group(3)
        elif text.startswith("]]", pos) and len(self.groups) > 1 and not quoted:
            self.close_group(2)
        elif _V2_LOOKALIKE.match(text, pos):
            raise self.fail(
                pos,
                f"{_upto(text, pos, '}' * (2 if text.startswith('{{', pos) else 1))!r} is not"
                " a CLI v2 placeholder",
                "a CLI v2 component writes ${{inputs.<name>}} and ${{outputs.<name>}}",
            )
        else:
            return False
        return True

    def _placeholder(self, opener: str, closer: str) -> None:
        start = self.pos
        body_start = start + len(opener)
        end = self.text.find(closer, body_start)
        body = self.text[body_start:end] if end >= 0 else ""
        if end < 0 or "{" in body or "\n" in body:
            raise self.fail(
                start,
                f"unclosed {opener!r}",
                _UNCLOSED_PLACEHOLDER_HINT[self.style],
                after=f": {_near(self.text, start)!r}",
            )
        written = self.text[start : end + len(closer)]
        match = _PLACEHOLDER_BODY.fullmatch(body)
        if match is None:
            raise self.fail(start, f"{written!r} is not a placeholder", _FORMS_HINT[self.style])
        namespace, name = match.group(1), match.group(2)
        kind = _NAMESPACES.get(namespace)
        if kind is None:
            guess = "outputs" if namespace.lower().startswith("out") else "inputs"
            suggestion = f"{opener}{guess}.{name or '<name>'}{closer}"
            raise self.fail(
                start,
                f"unknown placeholder namespace {namespace!r} in {written!r}",
                f"did you mean {suggestion!r}? {_FORMS_HINT[self.style]}",
            )
        if not name:
            what = f"{written!r} names no {namespace[:-1]}"
            raise self.fail(start, what, _FORMS_HINT[self.style])
        self.add_ref(Ref(kind, name))
        self.pos = end + len(closer)


def _has_ref(part: Part) -> bool:
    if isinstance(part, Token):
        return any(isinstance(segment, Ref) for segment in part.segments)
    return any(_has_ref(inner) for inner in part.parts)


_FORMS_HINT: dict[str, str] = {
    "component2": "placeholders are {inputs.<name>} and {outputs.<name>};"
    " write '{{' and '}}' for literal braces",
    "cli_v2": "placeholders are ${{inputs.<name>}} and ${{outputs.<name>}}",
}
_UNCLOSED_PLACEHOLDER_HINT: dict[str, str] = {
    "component2": "close the placeholder with '}', or write '{{' for a literal '{'",
    "cli_v2": "close the placeholder with '}}'",
}
_UNCLOSED_GROUP_HINT: dict[str, str] = {
    "component2": "close it with ']'; '[[' and ']]' are literal brackets, so separate nested"
    " closing brackets with a space: '] ]'",
    "cli_v2": "close it with ']]'",
}
_LITERAL_BRACKET_HINT: dict[str, str] = {
    "component2": "a group holds an optional {inputs.<name>}; write '[[' and ']]' (or quote"
    " the word) for literal brackets",
    "cli_v2": "a block holds an optional ${{inputs.<name>}}",
}
