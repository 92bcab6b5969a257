"""Argument parsers of runner's commands: a usage error exits 2 with a hint, and every help
ends with examples and the exit codes."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from runner.errors import UsageError

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]
Exits = Sequence[tuple[int, str]]

OK = ((0, "success"),)
# What every command may end with, whatever it does.
COMMON_EXITS: Exits = (
    (2, "usage or spec error (the file, line and field are named)"),
    (3, "internal error (the traceback is saved to a file)"),
    (130, "interrupted"),
)


class CommandParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}", f"see `{self.prog} --help`")


def command_parser(prog: str, summary: str) -> CommandParser:
    return CommandParser(
        prog=prog, description=summary, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def describe(parser: argparse.ArgumentParser, examples: Sequence[str], exits: Exits = OK) -> None:
    """End the parser's help with examples and the exit codes (its own, then the common ones)."""
    codes = sorted({**dict(COMMON_EXITS), **dict(exits)}.items())
    parser.epilog = (
        "examples:\n"
        + "".join(f"  {example}\n" for example in examples)
        + "\nexit codes:\n"
        + "".join(f"  {code:<4} {meaning}\n" for code, meaning in codes)
    )


def leaf(
    parser: argparse.ArgumentParser, handler: Handler, examples: Sequence[str], exits: Exits = OK
) -> None:
    """A command or action that runs `handler`."""
    describe(parser, examples, exits)
    parser.set_defaults(handler=handler)


def actions(parser: argparse.ArgumentParser) -> Any:
    """The actions of a command group (`runner cache ls`, ...); one of them is required."""
    return parser.add_subparsers(
        dest="action",
        metavar="ACTION",
        parser_class=CommandParser,
        required=True,
        help="`runner COMMAND ACTION --help` for an action's own",
    )


def action(
    group: Any,
    name: str,
    summary: str,
    handler: Handler,
    examples: Sequence[str],
    exits: Exits = OK,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = group.add_parser(
        name,
        help=summary,
        description=summary,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    leaf(parser, handler, examples, exits)
    return parser


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object on stdout as the result (progress and notes go to stderr)",
    )


def add_quiet(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help=f"do not stream {what}")


def add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also stream the output of environment builds (uv's own, ...) and say what holds"
        " the command's processes (a cgroup, or the subreaper)",
    )
