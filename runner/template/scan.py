"""The argv reading of a command: POSIX words, quotes, placeholders, escapes, optional groups."""

from __future__ import annotations

import re

from runner.errors import quote
from runner.struct import Struct
from runner.template.model import Literal, OptionalGroup, Part, Ref, RefKind, Segment, Token
from runner.template.syntax import (
    DQUOTE_ESCAPABLE,
    OPERATORS,
    BracketUnit,
    EscapeUnit,
    RefUnit,
    TemplateStyle,
    TemplateSyntaxError,
    Unit,
    near,
    syntax_error,
    upto,
)

_BLANKS = " \t\r\n"
_NAMESPACES = {"inputs": RefKind.INPUT, "outputs": RefKind.OUTPUT}
_PLACEHOLDER_BODY = re.compile(r"\s*([A-Za-z_]\w*)\s*\.\s*([^\s{}'\"]*)\s*")
_V2_LOOKALIKE = re.compile(r"\{\{?\s*(inputs|outputs)\s*\.")
_GLOBS = {"component2": "*?", "cli_v2": "*?["}
# What may follow `$` to make an expansion: a name, a positional or special parameter, `{`, `(`.
_EXPANSION_START = re.compile(r"[A-Za-z0-9_@*#?$!{(-]")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


# ---- the scanner --------------------------------------------------------------------------


class _Group(Struct, frozen=False):
    """A group being filled: where its opening bracket is, and its parts so far."""

    offset: int
    opener: str
    parts: list[Part]


class Scanner:
    """One pass over the command: words, quotes, placeholders and optional groups."""

    def __init__(self, text: str, style: TemplateStyle) -> None:
        self.text = text
        self.style = style
        self.pos = 0
        self.groups: list[_Group] = [_Group(-1, "", [])]
        self.segments: list[Segment] = []
        self.chars: list[str] = []
        self.in_word = False
        self.units: dict[int, Unit] = {}
        self.needs_shell = False

    def fail(
        self, offset: int, message: str, hint: str | None = None, after: str = ""
    ) -> TemplateSyntaxError:
        return syntax_error(self.text, offset, message, hint, after)

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
        self.units[self.pos] = BracketUnit(self.pos + width, opens=True)
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
                f"optional group {quote(shown)} references no input",
                _LITERAL_BRACKET_HINT[self.style],
            )
        self.groups[-1].parts.append(OptionalGroup(tuple(group.parts)))
        self.units[self.pos] = BracketUnit(self.pos + width, opens=False)
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
            if self._is_shell_syntax(char):
                self.needs_shell = True
            self.add_text(char)
            self.pos += 1

    def _is_shell_syntax(self, char: str) -> bool:
        """Whether the unquoted `char` at `pos` means something to bash beyond word text."""
        if char in OPERATORS or char in _GLOBS[self.style] or char == "`":
            return True
        if char == "$":
            return self._expansion_follows(quoted=False)
        if self.in_word:
            return False
        first_word = len(self.groups) == 1 and not self.groups[0].parts
        # `NAME=value cmd` only assigns as the first word; elsewhere `--x=1` is plain text.
        return char == "~" or (first_word and _ASSIGNMENT.match(self.text, self.pos) is not None)

    def _expansion_follows(self, *, quoted: bool) -> bool:
        """Whether the `$` at `pos` starts an expansion (or `$'...'` quoting, unquoted)."""
        after = self.pos + 1
        following = self.text[after : after + 1]
        if self.style == "component2" and following == "{":
            return False  # every 2.0 `{` is a placeholder: `$` then a value, no expansion
        if self.style == "cli_v2" and self.text.startswith(("${{", "$[["), after):
            return False
        if _EXPANSION_START.match(following):
            return True
        return not quoted and following in ("'", '"')

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
            elif char == "\\" and nxt and nxt in DQUOTE_ESCAPABLE:
                self.add_text(nxt)
                self.pos += 2
            elif not self._template_syntax(quoted=True):
                if char == "`" or (char == "$" and self._expansion_follows(quoted=True)):
                    self.needs_shell = True
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
            self.units[pos] = EscapeUnit(pos + 2, text[pos])
            self.pos += 2
        elif text.startswith("${{", pos):
            raise self.fail(
                pos,
                f"{quote(upto(text, pos, '}}'))} is CLI v2 placeholder syntax",
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
                f"{quote(upto(text, pos, '}' * (2 if text.startswith('{{', pos) else 1)))} is not"
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
                after=f": {near(self.text, start)!r}",
            )
        written = self.text[start : end + len(closer)]
        match = _PLACEHOLDER_BODY.fullmatch(body)
        if match is None:
            raise self.fail(
                start, f"{quote(written)} is not a placeholder", _FORMS_HINT[self.style]
            )
        namespace, name = match.group(1), match.group(2)
        kind = _NAMESPACES.get(namespace)
        if kind is None:
            guess = "outputs" if namespace.lower().startswith("out") else "inputs"
            suggestion = f"{opener}{guess}.{name or '<name>'}{closer}"
            raise self.fail(
                start,
                f"unknown placeholder namespace {quote(namespace)} in {quote(written)}",
                f"did you mean {suggestion!r}? {_FORMS_HINT[self.style]}",
            )
        if not name:
            what = f"{quote(written)} names no {namespace[:-1]}"
            raise self.fail(start, what, _FORMS_HINT[self.style])
        self.add_ref(Ref(kind, name))
        self.units[start] = RefUnit(end + len(closer), Ref(kind, name))
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
