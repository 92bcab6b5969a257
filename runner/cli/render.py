"""`runner render SPEC -i ...`: the command a run would execute; nothing is created or run."""

from __future__ import annotations

import argparse
import shlex
from typing import TextIO

from runner.cli.common import add_binding_flags, add_spec_argument, load_spec_warned, pairs
from runner.cli.output import emit_json
from runner.cli.parser import add_json, leaf
from runner.errors import EXIT_OK
from runner.run.job import preview_command


def configure(parser: argparse.ArgumentParser) -> None:
    add_spec_argument(parser)
    add_binding_flags(parser)
    add_json(parser)
    leaf(
        parser,
        _render,
        [
            "runner render samples/component2/word_count/word_count.yaml \\\n"
            "      -i documents=samples/data/reviews -i 'report_title=Review words'",
            "runner render SPEC -i data=in.csv --json | jq -r '.argv[]'",
        ],
        [(0, "the command was printed"), (2, "a spec or binding error (nothing would run)")],
    )


def _render(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    spec = load_spec_warned(args, stderr)
    argv = preview_command(spec, pairs(args.input, "-i"), pairs(args.output, "-o"))
    if args.json:
        emit_json(stdout, {"argv": argv, "command": shlex.join(argv)})
    else:
        print(shlex.join(argv), file=stdout)
    return EXIT_OK
