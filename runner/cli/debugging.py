"""The debugging flags of `runner run` and `runner pipeline run`, and what they print."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from runner.run.debug import DebugRequest, DebugSession


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debug",
        metavar="[HOST:]PORT",
        help="start the module under debugpy on this address (default host 127.0.0.1; port 0"
        " picks a free one) and wait for the IDE to attach; never served from the cache",
    )


def add_pdb_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pdb",
        action="store_true",
        help="post-mortem pdb in the module's process when it raises (needs a terminal)",
    )


def debug_request(text: str, name: str, stderr: TextIO, as_json: bool) -> DebugRequest:
    """--debug ADDRESS, announced on stderr when the run is about to wait for the IDE: one
    line, then the VS Code `attach` configuration (or one JSON object under --json)."""
    from runner.run.debug import DebugRequest, parse_address

    def announce(session: DebugSession) -> None:
        print(session.announcement(), file=stderr)
        if as_json:
            print(json.dumps(session.to_json(name)), file=stderr)
        else:
            configuration = json.dumps(session.attach_configuration(name), indent=2)
            print("VS Code (launch.json, configurations):", file=stderr)
            print(configuration, file=stderr)
        stderr.flush()

    return DebugRequest(parse_address(text), announce)


def pipeline_debug(text: str, stderr: TextIO, as_json: bool) -> tuple[str, DebugRequest]:
    """--debug STEP[=[HOST:]PORT] of `runner pipeline run` (debugpy's usual port by default)."""
    step, _, address = text.partition("=")
    return step, debug_request(address or "5678", step, stderr, as_json)


def stdin_is_terminal() -> bool:
    """The module reads runner's stdin only from a terminal: a prompt (pdb, breakpoint()) is
    answered there; anything else keeps /dev/null, as before."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except ValueError:  # closed
        return False
