"""The command-template model: a 2.0 / CLI v2 command string or a legacy args list, parsed.

Placeholders (`Ref`) inside argv words (`Token`), optional groups, and for commands that need
bash, the shell reading of the source (`ShellItem`s) with each placeholder's quoting context.
"""

from __future__ import annotations

import enum

from runner.struct import Struct


class RefKind(enum.Enum):
    INPUT = "input"  # {inputs.x} / ${{inputs.x}}: a port's path or a parameter's value
    INPUT_VALUE = "inputValue"  # legacy {inputValue: X}
    INPUT_PATH = "inputPath"  # legacy {inputPath: X}
    OUTPUT = "output"  # {outputs.y} / {outputPath: Y}


class Literal(Struct):
    text: str


class Ref(Struct):
    kind: RefKind
    name: str  # the name as written in the template (original or python name)


Segment = Literal | Ref


class Token(Struct):
    """One argv element: its segments are concatenated after substitution."""

    segments: tuple[Segment, ...]


class OptionalGroup(Struct):
    """Emitted only when every optional input it references has a value."""

    parts: tuple[Part, ...]


Part = Token | OptionalGroup


class Quoting(enum.Enum):
    """The shell quoting a placeholder sits in: it decides how the value is quoted."""

    NONE = "none"  # unquoted, also inside $( ... )
    DOUBLE = "double"  # "..."
    SINGLE = "single"  # '...'
    ANSI_C = "ansi-c"  # $'...'


class ShellRef(Struct):
    ref: Ref
    quoting: Quoting


class ShellWord(Struct):
    """One shell word: source text (quotes kept) and placeholders. Like a `Token`, it is
    dropped whole when an optional input in it has no value."""

    pieces: tuple[str | ShellRef, ...]


class ShellGroup(Struct):
    """An optional group in a shell command: its source without the brackets."""

    items: tuple[ShellItem, ...]


# A str is source text between words: blanks, newlines, operators, redirections, comments.
ShellItem = str | ShellWord | ShellGroup


class CommandTemplate(Struct):
    parts: tuple[Part, ...]
    source: str = ""  # the template as written, for display
    # Set when a 2.0 / CLI v2 command uses shell syntax (`&&`, `>`, `$HOME`, `*.csv`): the
    # source re-assembled for `bash -c`. `parts` still holds the words, for checks and display.
    script: tuple[ShellItem, ...] | None = None

    @property
    def shell(self) -> bool:
        return self.script is not None
