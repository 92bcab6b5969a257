"""The debugging flags of `runner run` and `runner pipeline run`, and what they print."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from runner.errors import UsageError

if TYPE_CHECKING:
    from runner.debug.target import Target
    from runner.run.debug import DebugRequest, DebugSession
    from runner.run.job import Job, RunOptions


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


def add_target_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """SPEC -i ... [-o ...], or PIPELINE --step STEP [--set ...] (and RUN_DIR for `shell`)."""
    from runner.cli.common import (
        add_binding_flags,
        add_cache_flags,
        add_env_flags,
        add_registry_flag,
    )

    parser.add_argument("target", metavar=what, help="a module spec or registered module (with"
                        " -i/-o), a pipeline file (with --step), or a run folder (a cached"
                        " one is laid out anew)")  # fmt: skip
    parser.add_argument("--step", metavar="STEP", help="the pipeline's step")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE", help="a pipeline input")
    add_binding_flags(parser)
    add_env_flags(parser)
    add_cache_flags(parser)
    add_registry_flag(parser)
    parser.add_argument(
        "--runs-dir", type=Path, metavar="DIR", help="where run folders go (default ./runs)"
    )


def resolve_target(args: argparse.Namespace, stderr: TextIO) -> tuple[Target, RunOptions]:
    """The step to prepare: a module with its values, or a pipeline step with its upstream
    outputs (from the cache; run first when they are not there)."""
    from runner.cli.common import environment_options, load_spec_warned, pairs
    from runner.debug.target import Target, pipeline_target
    from runner.run.job import RunOptions

    options = RunOptions(
        runs_root=args.runs_dir.resolve() if args.runs_dir else None,
        **environment_options(args),
    )
    if args.step:
        from runner.pipeline.load import load_pipeline

        if args.input or args.output:
            raise UsageError("-i/-o bind a module's values; a pipeline step takes --set")
        pipeline = load_pipeline(args.target, registry=args.registry)
        for warning in pipeline.warnings:
            print(f"warning: {warning}", file=stderr)
        return pipeline_target(pipeline, args.step, pairs(args.set, "--set"), options), options
    if args.set:
        raise UsageError("--set gives a pipeline's inputs: name the step with --step")
    folder = Path(args.target)
    if folder.is_dir():
        from runner.debug.target import record_target

        if args.input or args.output:
            raise UsageError("a run folder has its values: drop -i/-o, or give the spec")
        return record_target(folder), options
    args.spec = args.target
    spec = load_spec_warned(args, stderr, purpose="run")
    target = Target(spec, pairs(args.input, "-i"), pairs(args.output, "-o"), spec.name)
    return target, options


def warn_drift(target: Target, job: Job, stderr: TextIO) -> None:
    """A recorded run laid out anew from files that changed since: said, not refused."""
    from runner.debug.target import drift

    note = drift(target, job)
    if note is not None:
        print(f"warning: {note}", file=stderr)
