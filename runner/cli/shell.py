"""`runner shell`: a shell (or one command) in a step's environment and snapshot folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from runner.cli.debugging import add_target_arguments, resolve_target, warn_drift
from runner.cli.output import emit_json
from runner.cli.parser import leaf
from runner.errors import UsageError

TAKES_COMMAND = True  # `-- CMD ARGS` runs CMD in the step's environment (runner.cli.main)


def configure(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser, "SPEC|PIPELINE|RUN_DIR")
    parser.usage = f"{parser.prog} SPEC|PIPELINE|RUN_DIR [options] [-- CMD ARGS]"
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the prepared step (folder, command, variables) as one JSON object instead"
        " of opening a shell",
    )
    leaf(
        parser,
        _shell,
        [
            "runner shell samples/component2/word_count/word_count.yaml \\\n"
            "      -i documents=samples/data/reviews",
            "runner shell samples/sar/pipeline.yml --step train     # upstream from the cache",
            "runner shell runs/sar_train-20261204-101500-a1b2c3      # any past run folder",
            "runner shell SPEC -i data=in.csv -- python -c 'import sys; print(sys.executable)'",
            "runner shell PIPELINE --step score --json | jq -r .cwd",
        ],
        [
            (0, "the shell (or the command) exited 0"),
            (1, "otherwise: the exit code of the shell or the command"),
        ],
    )


def _shell(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from runner.debug.shell import open_shell, plan_from_record, ran_here
    from runner.debug.target import read_record

    command = list(args.command)
    folder = Path(args.target)
    if not args.step and folder.is_dir() and ran_here(folder):
        plan = plan_from_record(read_record(folder), folder.resolve())
    else:  # a spec, a pipeline's step, or a cached run laid out anew
        from runner.debug.target import plan as plan_job
        from runner.debug.target import prepare

        target, options = resolve_target(args, stderr)
        job = plan_job(target, options)
        warn_drift(target, job, stderr)
        prepared = prepare(job)
        plan = plan_from_record(prepared.record, prepared.run_dir.root)
    if args.json:
        if command:
            raise UsageError("--json prints the step instead of running anything: drop one")
        emit_json(stdout, plan.to_json())
        return 0
    if command:
        print(f"runner: in {plan.cwd}: {' '.join(command)}", file=stderr)
    stderr.flush()
    return open_shell(plan, command)
