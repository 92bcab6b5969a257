"""`runner render SPEC -i ...`: the command a run would execute; nothing is created or run."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import TextIO

from runner.cli.common import (
    add_binding_flags,
    add_cache_flags,
    add_env_flags,
    add_spec_argument,
    environment_options,
    load_spec_warned,
    pairs,
)
from runner.cli.output import emit_json
from runner.cli.parser import add_json, leaf
from runner.errors import EXIT_OK


def configure(parser: argparse.ArgumentParser) -> None:
    add_spec_argument(parser)
    add_binding_flags(parser)
    parser.add_argument(
        "--workdir", type=Path, metavar="DIR", help="the run folder `runner run --workdir` gets"
    )
    parser.add_argument(
        "--runs-dir", type=Path, metavar="DIR", help="where new run folders go (as for run)"
    )
    add_env_flags(parser)
    add_cache_flags(parser)
    add_json(parser)
    leaf(
        parser,
        _render,
        [
            "runner render samples/component2/word_count/word_count.yaml \\\n"
            "      -i documents=samples/data/reviews -i 'report_title=Review words'",
            "runner render SPEC -i data=in.csv --json | jq -r '.argv[]'",
            "runner render SPEC -i data=in.csv --workdir /tmp/r1  # then: runner run ... same",
        ],
        [(0, "the command was printed"), (2, "a spec or binding error (nothing would run)")],
    )


def _render(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from runner.run.job import RunOptions
    from runner.run.preview import rendered_command

    spec = load_spec_warned(args, stderr)
    options = RunOptions(
        workdir=args.workdir,
        runs_root=args.runs_dir.resolve() if args.runs_dir else None,
        **environment_options(args),
    )
    argv = rendered_command(spec, pairs(args.input, "-i"), pairs(args.output, "-o"), options)
    if args.json:
        emit_json(stdout, {"argv": argv, "command": shlex.join(argv)})
    else:
        print(shlex.join(argv), file=stdout)
    return EXIT_OK
