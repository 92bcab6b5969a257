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
re-read with bash's quoting (`runner.template.shell`), to run as `bash -c SCRIPT`. Only the
words (`parts`) decide shell mode, so a command without shell syntax renders exactly as before.

- The script keeps the source as written: the user's quotes, operators, comments and
  newlines, which separate commands as in bash. Both readings share one set of placeholder,
  escape and group positions (`runner.template.syntax` units), so they cannot disagree on
  what is a placeholder.
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

from runner.template.model import CommandTemplate
from runner.template.scan import Scanner
from runner.template.shell import ShellScanner
from runner.template.syntax import TemplateStyle, TemplateSyntaxError

__all__ = ["TemplateStyle", "TemplateSyntaxError", "parse_command_text"]


def parse_command_text(text: str, style: TemplateStyle) -> CommandTemplate:
    """Parse a command string; raises `TemplateSyntaxError` (no location) when malformed."""
    scanner = Scanner(text, style)
    parts = scanner.scan()
    script = ShellScanner(text, scanner.units).scan() if scanner.needs_shell else None
    return CommandTemplate(parts=parts, source=text, script=script)
