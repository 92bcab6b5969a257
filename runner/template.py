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

Shell mode. AzureML runs these strings through bash, and real commands rely on it
(`mkdir -p ${{outputs.o}} && python a.py > ${{outputs.o}}/log.txt`). A command with shell
syntax outside single quotes -- an operator or redirection (`&&`, `||`, `|`, `;`, `&`, `<`,
`>`, `(`, `)`), a glob (`*`, `?`, and in CLI v2 `[`; in 2.0 `[` opens a group), an expansion
(`$NAME`, `${...}`, `$(...)`, backticks, also inside double quotes; `$'...'`), `~` starting
a word, or a leading `NAME=value` assignment -- also gets `CommandTemplate.script`: the source
re-read with bash's quoting (`_ShellScanner`), to run as `bash -c SCRIPT`. Only the words
(`parts`) decide shell mode, so a command without shell syntax renders exactly as before.

- The script keeps the source as written: the user's quotes, operators, comments and
  newlines, which separate commands as in bash. Both readings share one set of placeholder,
  escape and group positions (`_Unit`s), so they cannot disagree on what is a placeholder.
- Each placeholder keeps its quoting context (unquoted, "...", '...', $'...') so the renderer
  can quote its value as one word that bash never expands, splits or globs.
- The escapes `[[`, `]]`, `{{`, `}}` become the bare character, which bash reads as it would
  on AzureML (`{{ a; }}` is a brace group). A `$` right before a placeholder or `[` stays a
  literal `$`, as in the argv reading.
- Refused with an error: placeholders where no quoting holds -- inside backticks, `${...}`,
  and arithmetic (`$((...))`, `((...))`, array subscripts `a[i]=`), where bash runs `$(...)`
  even inside quotes -- here-documents, and optional groups inside quotes or substitutions.
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
    Quoting,
    Ref,
    RefKind,
    Segment,
    ShellGroup,
    ShellItem,
    ShellRef,
    ShellWord,
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
# Unquoted, these make bash do something other than pass the text on as a word.
_OPERATORS = "&|;<>()"
_GLOBS = {"component2": "*?", "cli_v2": "*?["}
# What may follow `$` to make an expansion: a name, a positional or special parameter, `{`, `(`.
_EXPANSION_START = re.compile(r"[A-Za-z0-9_@*#?$!{(-]")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


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
    scanner = _Scanner(text, style)
    parts = scanner.scan()
    script = _ShellScanner(text, scanner.units).scan() if scanner.needs_shell else None
    return CommandTemplate(parts=parts, source=text, script=script)


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


def _syntax_error(
    text: str, offset: int, message: str, hint: str | None = None, after: str = ""
) -> TemplateSyntaxError:
    """`<message> at column N of the command<after>`."""
    return TemplateSyntaxError(f"{message} at {_where(text, offset)} of the command{after}", hint)


# ---- template units -----------------------------------------------------------------------
# Where `_Scanner` found template syntax, keyed by start offset, so that `_ShellScanner`
# agrees with it on every placeholder, escape and group bracket instead of deciding again.


@dataclass(frozen=True)
class _RefUnit:
    end: int
    ref: Ref


@dataclass(frozen=True)
class _EscapeUnit:
    end: int
    text: str  # the one bracket or brace the escape stands for


@dataclass(frozen=True)
class _BracketUnit:
    end: int
    opens: bool


_Unit = _RefUnit | _EscapeUnit | _BracketUnit


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
        self.units: dict[int, _Unit] = {}
        self.needs_shell = False

    def fail(
        self, offset: int, message: str, hint: str | None = None, after: str = ""
    ) -> TemplateSyntaxError:
        return _syntax_error(self.text, offset, message, hint, after)

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
        self.units[self.pos] = _BracketUnit(self.pos + width, opens=True)
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
        self.units[self.pos] = _BracketUnit(self.pos + width, opens=False)
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
        if char in _OPERATORS or char in _GLOBS[self.style] or char == "`":
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
            elif char == "\\" and nxt and nxt in _DQUOTE_ESCAPABLE:
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
            self.units[pos] = _EscapeUnit(pos + 2, text[pos])
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
        self.units[start] = _RefUnit(end + len(closer), Ref(kind, name))
        self.pos = end + len(closer)


def _has_ref(part: Part) -> bool:
    if isinstance(part, Token):
        return any(isinstance(segment, Ref) for segment in part.segments)
    return any(_has_ref(inner) for inner in part.parts)


# ---- shell mode ---------------------------------------------------------------------------

# Placeholders cannot be quoted safely inside these: say why and what to write instead.
# In arithmetic (`$((...))`, `((...))`, array subscripts) bash expands `$(...)` even inside
# quotes, so no quoting keeps a value from running as a command there.
_ARITHMETIC_HINT = "assign the value to a variable first, N={written}, and use $((N ...))"
_SUBSCRIPT = "in an array subscript"
_NO_PLACEHOLDER_HINT = {
    "inside backticks": "use $(...) instead of backticks",
    "inside ${...}": "assign the value to a variable first, V={written}, and use ${{V...}}",
    "inside $((...))": _ARITHMETIC_HINT,
    "inside ((...))": _ARITHMETIC_HINT,
    _SUBSCRIPT: "quote the word, or assign the value to a variable first, I={written},"
    " and use a[$I]",
}
# A word starting like this is an array element assignment (`a[i]=x`, also after `declare`).
_SUBSCRIPTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\[")
_WORD_ENDS = " \t\r\n" + _OPERATORS
_HEREDOC_HINT = (
    "keep the text in a file in the code folder, or pipe it in: printf '%s\\n' ... | command"
)


class _ShellScanner:
    """Re-read a command that needs a shell with bash's quoting, into `ShellItem`s.

    Placeholders, escapes and group brackets come from `_Scanner`'s `units`, so both readings
    agree on them; this pass only decides the quoting context of each placeholder, where shell
    words end (a word holding an optional input without value is dropped whole, like a token)
    and which source text is kept as written.
    """

    def __init__(self, text: str, units: dict[int, _Unit]) -> None:
        self.text = text
        self.units = units
        self.pos = 0
        self.levels: list[list[ShellItem]] = [[]]
        self.word: list[str | ShellRef] | None = None
        self.after_group = False
        self.contexts: list[str] = []  # enclosing quotes and substitutions, innermost last
        self.subscripted = False  # the current word starts `name[`: contexts ends in _SUBSCRIPT

    def fail(
        self, offset: int, message: str, hint: str | None = None, after: str = ""
    ) -> TemplateSyntaxError:
        return _syntax_error(self.text, offset, message, hint, after)

    # ---- building items and words

    def raw(self, text: str) -> None:
        """Source text between words, kept as written."""
        self.end_word()
        items = self.levels[-1]
        if items and isinstance(items[-1], str):
            items[-1] += text
        else:
            items.append(text)
        self.after_group = False

    def piece(self, item: str | ShellRef) -> None:
        if self.word is None:
            if self.after_group:
                self.raw(" ")  # `]x`: the bracket ended the word in the argv reading too
            self.word = []
            if _SUBSCRIPTED.match(self.text, self.pos):
                self.contexts.append(_SUBSCRIPT)
                self.subscripted = True
        if isinstance(item, str) and self.word and isinstance(self.word[-1], str):
            self.word[-1] += item
        else:
            self.word.append(item)

    def end_word(self) -> None:
        if self.word is not None:
            self.levels[-1].append(ShellWord(tuple(self.word)))
            self.word = None
        if self.subscripted:
            self.contexts.pop()
            self.subscripted = False

    # ---- the top level: words, blanks, operators, comments, groups

    def scan(self) -> tuple[ShellItem, ...]:
        while self.pos < len(self.text):
            self._top_step()
        self.end_word()
        return tuple(self.levels[0])

    def _top_step(self) -> None:
        text, pos = self.text, self.pos
        char = text[pos]
        unit = self.units.get(pos)
        if isinstance(unit, _BracketUnit):
            self._bracket(unit)
        elif unit is not None:
            self._unit(unit, Quoting.NONE)
        elif char in " \t\n":
            self.raw(char)
            self.pos += 1
        elif char == "\r":
            self.raw(" ")  # a blank in the argv reading; bash would make it part of a word
            self.pos += 1
        elif char == "#" and self.word is None:
            if self.after_group:
                self.raw(" ")  # `]#x` is a comment in the argv reading: keep it one here
            self.raw(self._comment())
        elif text.startswith("<<", pos):
            self.raw(self._here_string())
        elif text.startswith("((", pos):
            self.end_word()
            self._substitution()  # the arithmetic command `((...))`, also in `for ((...))`
        elif char in _OPERATORS:
            self.raw(char)
            self.pos += 1
        else:
            self._word_char(Quoting.NONE)

    def _bracket(self, unit: _BracketUnit) -> None:
        if unit.opens:
            if self.word is not None or self.after_group:
                self.raw(" ")  # `a[--x ...]`: the bracket ends the word, as in the argv reading
            self.levels.append([])
        else:
            self.end_word()
            group = ShellGroup(tuple(self.levels.pop()))
            self.levels[-1].append(group)
            self.after_group = True
        self.pos = unit.end

    def _comment(self) -> str:
        """The comment at `pos` up to its newline, as written: bash ignores it."""
        end = self.text.find("\n", self.pos)
        end = len(self.text) if end < 0 else end
        for offset in range(self.pos, end):
            if isinstance(self.units.get(offset), _BracketUnit):
                raise self.fail(
                    offset,
                    "the optional group",
                    "a '#' after an operator such as ';' starts a comment in bash;"
                    " put a blank before the '#' or move the group out of the comment",
                    after=" is inside a bash comment",
                )
        start, self.pos = self.pos, end
        return self.text[start:end]

    def _here_string(self) -> str:
        """`<<<` (a here-string, kept); `<<` starts a here-document, which is refused."""
        if not self.text.startswith("<<<", self.pos):
            # Its body would need its own quoting rules for values; rare in module commands.
            raise self.fail(
                self.pos, "a here-document ('<<')", _HEREDOC_HINT, after=" is not supported"
            )
        self.pos += 3
        return "<<<"

    # ---- inside a word

    def _word_char(self, quoting: Quoting) -> None:
        char = self.text[self.pos]
        if char == "\\":
            self._backslash_unquoted()
        elif char == "'":
            self._single()
        elif char == '"':
            self._double()
        elif char == "$":
            self._dollar(quoting)
        elif char == "`":
            self._backtick()
        else:
            self.piece(char)
            self.pos += 1

    def _unit(self, unit: _Unit, quoting: Quoting) -> None:
        """A placeholder or escape inside a word, in the given quoting."""
        if isinstance(unit, _EscapeUnit):
            self.piece(unit.text)
        elif isinstance(unit, _RefUnit):
            for context in reversed(self.contexts):
                hint = _NO_PLACEHOLDER_HINT.get(context)
                if hint is not None:
                    written = self.text[self.pos : unit.end]
                    raise self.fail(
                        self.pos,
                        f"a placeholder {context}",
                        hint.format(written=written),
                        after=" cannot be quoted safely",
                    )
            self.piece(ShellRef(unit.ref, quoting))
        else:
            raise self.fail(
                self.pos,
                f"an optional group {self.contexts[-1]}",
                "keep optional groups outside quotes, $(...), ${...} and backticks",
                after=" is not supported",
            )
        self.pos = unit.end

    def _backslash_unquoted(self) -> None:
        if self.text.startswith("\r\n", self.pos + 1):
            # A line continuation in the argv reading; bash would escape the carriage return.
            (self.raw if self.word is None else self.piece)("\\\n")
            self.pos += 3
        elif self.text.startswith("\n", self.pos + 1) and self.word is None:
            self.raw("\\\n")
            self.pos += 2
        else:
            self._backslash(escapes=None)

    def _backslash(self, escapes: str | None) -> None:
        """A backslash that escapes the characters in `escapes` (None: any character)."""
        following = self.text[self.pos + 1 : self.pos + 2]
        if self.pos + 1 in self.units:
            # The argv reading kept this backslash as text before the placeholder: so must bash.
            self.piece("\\\\")
            self.pos += 1
        elif following and (escapes is None or following in escapes):
            self.piece(self.text[self.pos : self.pos + 2])
            self.pos += 2
        else:
            self.piece("\\")
            self.pos += 1

    def _single(self) -> None:
        self._quoted("'", "'", Quoting.SINGLE, "inside single quotes")

    def _double(self) -> None:
        self._quoted('"', '"', Quoting.DOUBLE, "inside double quotes")

    def _ansi_c(self) -> None:
        self._quoted("$'", "'", Quoting.ANSI_C, "inside $'...'")

    def _quoted(self, opener: str, closer: str, quoting: Quoting, context: str) -> None:
        start = self.pos
        self.piece(opener)
        self.pos += len(opener)
        self.contexts.append(context)
        while True:
            if self.pos >= len(self.text):
                raise self.fail(
                    start,
                    f"unbalanced quote: the {opener}",
                    "close the quote; inside $(...) quotes start afresh, and in $'...' a"
                    " backslash escapes the next character, as in bash",
                    after=" is never closed, as bash reads the command",
                )
            unit = self.units.get(self.pos)
            char = self.text[self.pos]
            if unit is not None:
                self._unit(unit, quoting)
            elif char == closer:
                self.piece(char)
                self.pos += 1
                break
            elif quoting is Quoting.SINGLE:
                self.piece(char)
                self.pos += 1
            elif char == "\\":
                self._backslash(_DQUOTE_ESCAPABLE + "\n" if quoting is Quoting.DOUBLE else None)
            elif quoting is Quoting.DOUBLE and char in "$`":
                self._word_char(quoting)
            else:
                self.piece(char)
                self.pos += 1
        self.contexts.pop()

    def _dollar(self, quoting: Quoting) -> None:
        text, pos = self.text, self.pos
        following = text[pos + 1 : pos + 2]
        if isinstance(self.units.get(pos + 1), _RefUnit):
            # `$` then a value: a literal `$`, as in the argv reading; a bare one would make
            # the value a parameter name (`$HOME`) or ANSI-C quoting (`$'...'`).
            self.piece("\\$")
            self.pos += 1
        elif following == "[" or isinstance(self.units.get(pos + 1), _EscapeUnit):
            # `$[...]`, bash's old arithmetic expansion (2.0: `$[[`): no quoting works inside
            # arithmetic, and the argv reading has a literal `$` here too.
            self.piece("\\$")
            self.pos += 1
        elif following == "(":
            self._substitution()
        elif following == "{":
            self._parameter(quoting)
        elif following == "'" and quoting is Quoting.NONE:
            self._ansi_c()
        else:
            self.piece("$")
            self.pos += 1

    def _substitution(self) -> None:
        """`$(...)`, `$((...))` or `((...))`: unquoted inside, whatever quotes surround it."""
        text, start = self.text, self.pos
        opener = "$(" if text.startswith("$", start) else "("
        arithmetic = text.startswith("((", start + len(opener) - 1)
        self.piece(opener)
        self.pos += len(opener)
        context = "inside $(...)"
        if arithmetic:
            context = "inside $((...))" if opener == "$(" else "inside ((...))"
        self.contexts.append(context)
        depth, subscripted = 1, False
        while depth:
            if self.pos >= len(text):
                raise self.fail(start, f"unclosed {text[start : start + 2]!r}", "close it")
            unit = self.units.get(self.pos)
            char = text[self.pos]
            word_start = text[self.pos - 1] in _WORD_ENDS
            if subscripted and unit is None and char in _WORD_ENDS:
                self.contexts.pop()
                subscripted = False
            if unit is not None:
                self._unit(unit, Quoting.NONE)
            elif arithmetic:
                if char in "()":
                    depth += 1 if char == "(" else -1
                self._word_char(Quoting.NONE)
            elif char == "#" and word_start:
                self.piece(self._comment())
            elif text.startswith("<<", self.pos):
                self.piece(self._here_string())
            elif text.startswith("((", self.pos):
                self._substitution()
            elif char in "()":
                depth += 1 if char == "(" else -1
                self.piece(char)
                self.pos += 1
            else:
                if word_start and _SUBSCRIPTED.match(text, self.pos):
                    self.contexts.append(_SUBSCRIPT)
                    subscripted = True
                self._word_char(Quoting.NONE)
        if subscripted:
            self.contexts.pop()
        self.contexts.pop()

    def _parameter(self, quoting: Quoting) -> None:
        """`${...}`: up to the first `}` that is not quoted or nested."""
        start = self.pos
        self.piece("${")
        self.pos += 2
        self.contexts.append("inside ${...}")
        while True:
            if self.pos >= len(self.text):
                raise self.fail(start, "unclosed '${'", "close it with '}'")
            unit = self.units.get(self.pos)
            char = self.text[self.pos]
            if unit is not None:
                self._unit(unit, Quoting.NONE)
            elif char == "}":
                self.piece(char)
                self.pos += 1
                break
            elif char == "'" and quoting is not Quoting.NONE:
                self.piece(char)  # in "${x:-'a'}" single quotes are plain text
                self.pos += 1
            else:
                self._word_char(Quoting.NONE)
        self.contexts.pop()

    def _backtick(self) -> None:
        start = self.pos
        self.piece("`")
        self.pos += 1
        self.contexts.append("inside backticks")
        while True:
            if self.pos >= len(self.text):
                raise self.fail(start, "unclosed '`'", "close it, or use $(...)")
            unit = self.units.get(self.pos)
            char = self.text[self.pos]
            if unit is not None:
                self._unit(unit, Quoting.NONE)
            elif char == "\\":
                self._backslash(escapes=None)
            else:
                self.piece(char)
                self.pos += 1
                if char == "`":
                    break
        self.contexts.pop()


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
