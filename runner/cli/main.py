"""The `runner` command: a static table of commands, each in its own module, imported on use.

`runner`, `runner --help` and `runner --version` are answered from the table alone: no command
module is imported and no argument parser is built, so they cost little more than the
interpreter's own start. `runner X ...` imports X's module and builds X's parser only.

A command module provides `configure(parser)`: it adds its arguments (and, for a group, its
actions) and sets `handler` on the parsed arguments with `parser.set_defaults`; a handler takes
`(args, stdout, stderr)` and returns the exit code. Adding a command is one line in COMMANDS.
"""

from __future__ import annotations

import sys

from runner._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

# name, one-line help, module (which provides `configure(parser)`)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("validate", "check that module specs load", "runner.cli.validate"),
    ("show", "print a module's normalised interface", "runner.cli.show"),
    ("render", "print the command a run would execute, running nothing", "runner.cli.render"),
    ("run", "run a module (served from the cache when nothing changed)", "runner.cli.run"),
    ("explain", "say whether a run would hit the cache, and if not why", "runner.cli.explain"),
    ("pipeline", "run, show and inspect pipelines", "runner.cli.pipeline"),
    ("runs", "list and prune run folders", "runner.cli.runs"),
    ("cache", "look into and manage the result cache", "runner.cli.cache"),
    ("env", "list, build and remove module environments", "runner.cli.env"),
    ("module", "register, list and manage modules in the registry", "runner.cli.module"),
    ("datatype", "register and list the port data types modules use", "runner.cli.datatype"),
    ("ui", "the web page: every pipeline and run in this folder", "runner.cli.ui"),
)

USAGE = "usage: runner [--help] [--version] COMMAND [ARGS...]"

HELP_TAIL = """\
options:
  -h, --help   show this help; `runner COMMAND --help` shows a command's own
  --version    print runner's version

examples:
  runner validate samples/sar/modules/*.yaml
  runner run samples/cliv2/csv_summary/csv_summary.yml -i table=samples/data/sales.csv \\
      -i group_by=product -i value_column=units
  runner pipeline run samples/sar/pipeline.yml
  runner runs ls

exit codes:
  0    success
  1    a module or pipeline step failed (`runner COMMAND --help` says what else)
  2    usage or spec error, or no command given (the file, line and field are named)
  3    internal error (the traceback is saved to a file)
  130  interrupted
"""


def command_list() -> str:
    width = max(len(name) for name, _, _ in COMMANDS)
    lines = [f"  {name:<{width}}  {summary}" for name, summary, _ in COMMANDS]
    return "commands:\n" + "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    stdout, stderr = sys.stdout, sys.stderr
    if not args:
        # As uv and cargo do: the list of commands, and a usage exit, since nothing was done.
        stderr.write(f"{USAGE}\n\n{command_list()}\nsee `runner --help`\n")
        return 2
    first = args[0]
    if first in ("-h", "--help") or args == ["help"]:
        stdout.write(f"{USAGE}\n\nRun Azure Machine Learning modules and pipelines locally, "
                     f"with a content-hash cache.\n\n{command_list()}\n{HELP_TAIL}")  # fmt: skip
        return 0
    if first in ("-V", "--version"):
        stdout.write(f"runner {__version__}\n")
        return 0
    if first == "help" and len(args) > 1:
        return run_command(args[1], ["--help"], stdout, stderr)
    return run_command(first, args[1:], stdout, stderr)


def run_command(name: str, argv: Sequence[str], stdout: TextIO, stderr: TextIO) -> int:
    """Import the command's module, parse its arguments and run its handler; every error
    becomes a message and an exit code here, the one top-level handler."""
    from runner.cli.errors import handled

    return handled(lambda: _dispatch(name, argv, stdout, stderr), stderr)


def _dispatch(name: str, argv: Sequence[str], stdout: TextIO, stderr: TextIO) -> int:
    import importlib

    from runner.cli.parser import command_parser

    found = next((entry for entry in COMMANDS if entry[0] == name), None)
    if found is None:
        raise _unknown_command(name)
    _, summary, module_name = found
    parser = command_parser(f"runner {name}", summary)
    importlib.import_module(module_name).configure(parser)
    args = parser.parse_args(argv)
    _use_parse_memo(args)
    code: int = args.handler(args, stdout, stderr)
    return code


def _use_parse_memo(args: object) -> None:
    """Specs read before are not parsed again (`runner.spec.memo`): their parsed form is kept
    in the cache folder the command uses, when that folder exists and the command uses one."""
    if getattr(args, "no_cache", False):
        return
    import os

    from runner.cache.location import default_cache_root
    from runner.spec import memo

    root = getattr(args, "cache_dir", None) or default_cache_root(os.environ)
    if root.is_dir():
        memo.use(root)


def _unknown_command(name: str) -> Exception:
    import difflib

    from runner.errors import UsageError

    names = [entry[0] for entry in COMMANDS]
    if name.startswith("-"):
        return UsageError(f"runner: unknown option {name}", "see `runner --help`")
    close = difflib.get_close_matches(name, names, n=3)
    close += [n for n in names if n.startswith(name[:2]) and n not in close][: 3 - len(close)]
    hint = f"did you mean {' or '.join(close)}?" if close else f"commands: {', '.join(names)}"
    return UsageError(f"runner: unknown command '{name}'", hint)
