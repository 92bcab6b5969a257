"""Render a command template into an argv list: pure, from bound values and path strings.

Paths come in as strings so the same function renders concrete paths for a run and abstract
ones for a cache key. Each template token becomes exactly one argv element: no shell, no word
splitting, so a value with spaces stays whole.

A template that needs a shell (`CommandTemplate.script`, see runner/template.py) renders as
`["bash", "-c", SCRIPT]` instead: bash because AzureML runs commands with bash, found on PATH
like any other program. Each value is quoted for where it sits so that it is still exactly one
word which the shell never interprets (no expansion, globbing, splitting or keywords).
"""

from __future__ import annotations

from collections.abc import Mapping

from runner.bind.coerce import label
from runner.errors import BindingError, Location, SpecError
from runner.spec.model import Input, ModuleSpec, Parameter, ParamValue
from runner.struct import Struct
from runner.template.model import (
    CommandTemplate,
    Literal,
    Part,
    Quoting,
    Ref,
    RefKind,
    ShellItem,
    ShellWord,
    Token,
)

_INPUT_KINDS = frozenset({RefKind.INPUT, RefKind.INPUT_VALUE, RefKind.INPUT_PATH})
SHELL = ("bash", "-c")


def render(
    template: CommandTemplate,
    spec: ModuleSpec,
    values: Mapping[str, ParamValue],
    input_paths: Mapping[str, str],
    output_paths: Mapping[str, str],
    *,
    allow_shell: bool = True,
) -> list[str]:
    """The argv for `template`. Maps are keyed by ORIGINAL names; `Ref.name` may be either.

    A template that needs a shell renders as `bash -c SCRIPT`; with `allow_shell=False` it
    renders as plain words like any other (for argument lists handed to a program, such as
    a parallel job's args, where no shell runs).
    """
    context = _Context(spec, values, input_paths, output_paths)
    if template.script is not None and allow_shell:
        return [*SHELL, _script_text(template.script, context)]
    return [arg for part in template.parts for arg in _render_part(part, context)]


def referenced_inputs(part: Part) -> set[str]:
    """Names (as written) of every input referenced in `part`, nested groups included."""
    if isinstance(part, Token):
        return {s.name for s in part.segments if isinstance(s, Ref) and s.kind in _INPUT_KINDS}
    return {name for inner in part.parts for name in referenced_inputs(inner)}


class _Context(Struct):
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
        text = segment.text if isinstance(segment, Literal) else _ref_text(segment, context)
        if text is None:
            return None
        pieces.append(text)
    return "".join(pieces)


def _ref_text(ref: Ref, context: _Context) -> str | None:
    """What `ref` renders as; None for an optional input without value (required: error)."""
    if ref.kind is RefKind.OUTPUT:
        return context.output_text(ref)
    text = context.input_text(ref)
    if text is None:
        _require_optional(context.find_input(ref.name))
    return text


# ---- shell scripts ------------------------------------------------------------------------


def _script_text(items: tuple[ShellItem, ...], context: _Context) -> str:
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, ShellWord):
            out.append(_word_text(item, context) or "")
        # A group: like `_render_part`, only its own words decide; nested groups decide alone.
        elif all(_word_has_value(w, context) for w in item.items if isinstance(w, ShellWord)):
            out.append(_script_text(item.items, context))
    return "".join(out)


def _word_has_value(word: ShellWord, context: _Context) -> bool:
    return all(
        context.input_text(p.ref) is not None
        for p in word.pieces
        if not isinstance(p, str) and p.ref.kind in _INPUT_KINDS
    )


def _word_text(word: ShellWord, context: _Context) -> str | None:
    """The word's source with its values quoted; None when an optional input has no value."""
    pieces: list[str] = []
    for piece in word.pieces:
        if isinstance(piece, str):
            pieces.append(piece)
            continue
        text = _ref_text(piece.ref, context)
        if text is None:
            return None
        pieces.append(shell_quote(text, piece.quoting))
    return "".join(pieces)


def shell_quote(value: str, quoting: Quoting) -> str:
    """`value` as exactly one literal word (part) for a placeholder in `quoting`.

    Unquoted values are always quoted, unlike `shlex.quote`, which leaves "safe" values bare:
    a bare value can still be a keyword (`if`), a tilde prefix (`~bob`) or a brace-expansion
    list (`{a,b}`) next to the user's text. A newline in a value is written as `$'\\n'`, never
    raw: after a syntax error in the user's text bash skips to the next raw newline and goes
    on, and that must never be inside a value.
    """
    if quoting is Quoting.ANSI_C:
        return _ansi_c_escape(value)
    if quoting is Quoting.NONE:
        if "\n" in value:
            return "$'" + _ansi_c_escape(value) + "'"
        return "'" + value.replace("'", "'\"'\"'") + "'"
    if quoting is Quoting.SINGLE:
        # Close the quote, add a quoted ' (or newline), reopen.
        return value.replace("'", "'\"'\"'").replace("\n", "'$'\\n''")
    # Inside double quotes only these are special (history expansion `!` is interactive-only).
    escaped = "".join("\\" + c if c in '\\"$`' else c for c in value)
    return escaped.replace("\n", "\"$'\\n'\"")


def _ansi_c_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")


def _require_optional(item: Input) -> None:
    # An enum child that is switched off has no value by design, like an optional input.
    if item.optional or item.enabled_by is not None:
        return
    flag = "value" if isinstance(item, Parameter) else "path"
    raise BindingError(
        f"missing required input {label(item)}", f"pass -i {item.python_name}=<{flag}>"
    )
