"""Shell mode: a command with shell syntax re-read with bash's quoting into a script."""

from __future__ import annotations

import re

from runner.template.model import Quoting, ShellGroup, ShellItem, ShellRef, ShellWord
from runner.template.syntax import (
    DQUOTE_ESCAPABLE,
    OPERATORS,
    BracketUnit,
    EscapeUnit,
    RefUnit,
    TemplateSyntaxError,
    Unit,
    syntax_error,
)

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
_WORD_ENDS = " \t\r\n" + OPERATORS
_HEREDOC_HINT = (
    "keep the text in a file in the code folder, or pipe it in: printf '%s\\n' ... | command"
)


class ShellScanner:
    """Re-read a command that needs a shell with bash's quoting, into `ShellItem`s.

    Placeholders, escapes and group brackets come from `Scanner`'s `units`, so both readings
    agree on them; this pass only decides the quoting context of each placeholder, where shell
    words end (a word holding an optional input without value is dropped whole, like a token)
    and which source text is kept as written.
    """

    def __init__(self, text: str, units: dict[int, Unit]) -> None:
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
        return syntax_error(self.text, offset, message, hint, after)

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
        if isinstance(unit, BracketUnit):
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
        elif char in OPERATORS:
            self.raw(char)
            self.pos += 1
        else:
            self._word_char(Quoting.NONE)

    def _bracket(self, unit: BracketUnit) -> None:
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
            if isinstance(self.units.get(offset), BracketUnit):
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

    def _unit(self, unit: Unit, quoting: Quoting) -> None:
        """A placeholder or escape inside a word, in the given quoting."""
        if isinstance(unit, EscapeUnit):
            self.piece(unit.text)
        elif isinstance(unit, RefUnit):
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
                self._backslash(DQUOTE_ESCAPABLE + "\n" if quoting is Quoting.DOUBLE else None)
            elif quoting is Quoting.DOUBLE and char in "$`":
                self._word_char(quoting)
            else:
                self.piece(char)
                self.pos += 1
        self.contexts.pop()

    def _dollar(self, quoting: Quoting) -> None:
        text, pos = self.text, self.pos
        following = text[pos + 1 : pos + 2]
        if isinstance(self.units.get(pos + 1), RefUnit):
            # `$` then a value: a literal `$`, as in the argv reading; a bare one would make
            # the value a parameter name (`$HOME`) or ANSI-C quoting (`$'...'`).
            self.piece("\\$")
            self.pos += 1
        elif following == "[" or isinstance(self.units.get(pos + 1), EscapeUnit):
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
