"""`runner explain SPEC -i ...`: would a run hit the cache, and if not, what changed."""

from __future__ import annotations

import argparse
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
from runner.errors import EXIT_MODULE_FAILED, EXIT_OK
from runner.run.explain import explain_module
from runner.run.job import RunOptions


def configure(parser: argparse.ArgumentParser) -> None:
    add_spec_argument(parser)
    add_binding_flags(parser)
    add_env_flags(parser)
    add_cache_flags(parser)
    add_json(parser)
    parser.add_argument(
        "--exit-code",
        action="store_true",
        help="exit 0 when the run would hit the cache, 1 when it would run (as `git diff`)",
    )
    leaf(
        parser,
        _explain,
        [
            "runner explain samples/cliv2/csv_summary/csv_summary.yml \\\n"
            "      -i table=samples/data/sales.csv -i group_by=product -i value_column=units",
            "runner explain SPEC -i data=in.csv --exit-code --json > why.json || echo 'would run'",
        ],
        [
            (0, "answered (with --exit-code: the run would hit the cache)"),
            (1, "with --exit-code: the run would miss and run the module"),
        ],
    )


def _explain(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    spec = load_spec_warned(args, stderr)
    options = RunOptions(**environment_options(args))
    explanation = explain_module(spec, pairs(args.input, "-i"), pairs(args.output, "-o"), options)
    if args.json:
        emit_json(stdout, explanation.to_json())
    else:
        print(explanation.text(), file=stdout)
    return EXIT_MODULE_FAILED if args.exit_code and not explanation.would_hit else EXIT_OK
