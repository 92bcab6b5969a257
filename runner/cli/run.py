"""`runner run SPEC -i ... -o ...`: one module run, from the cache when nothing changed."""

from __future__ import annotations

import argparse
import os
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
from runner.cli.debugging import add_debug_flag, add_pdb_flags, debug_request, stdin_is_terminal
from runner.cli.notes import notes_cache, print_notes
from runner.cli.output import emit_json
from runner.cli.parser import add_json, add_quiet, add_verbose, leaf
from runner.errors import EXIT_MODULE_FAILED, EXIT_OK, UsageError
from runner.run.engine import RunOptions, RunResult, run_module


def configure(parser: argparse.ArgumentParser) -> None:
    add_spec_argument(parser)
    add_binding_flags(parser)
    parser.add_argument("--workdir", type=Path, metavar="DIR", help="run in this new folder")
    parser.add_argument(
        "--runs-dir",
        type=Path,
        metavar="DIR",
        help="where new run folders go (default $RUNNER_RUNS_DIR, ./runs)",
    )
    add_env_flags(parser)
    parser.add_argument("--timeout", type=float, metavar="S", help="kill the run after S seconds")
    parser.add_argument("--mpi-processes", type=int, metavar="N", help="mpiexec -n N (jobType mpi)")
    parser.add_argument(
        "--gpus", type=int, metavar="N", help="give the run N GPUs (CUDA_VISIBLE_DEVICES)"
    )
    add_quiet(parser, "the module's output")
    add_verbose(parser)
    add_json(parser)
    add_cache_flags(parser)
    parser.add_argument("--no-cache", action="store_true", help="neither look up nor store results")
    parser.add_argument("--force", action="store_true", help="re-run and replace the cache entry")
    add_debug_flag(parser)
    add_pdb_flags(parser)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the module's python script inside runner's own interpreter (runpy)",
    )
    leaf(
        parser,
        _run,
        [
            "runner run samples/cliv2/csv_summary/csv_summary.yml -i table=samples/data/sales.csv"
            " \\\n      -i group_by=product -i value_column=units -o summary=/tmp/summary.json",
            "runner run SPEC -i 'Input path=data' --json --quiet | jq -r .outputs.model",
            "runner run SPEC -i data=in.csv --env docker --timeout 600",
            "runner run SPEC -i data=in.csv --debug 5678    # then attach the IDE to port 5678",
            "runner run SPEC -i data=in.csv --pdb           # pdb where the module raises",
        ],
        [
            (0, "the module succeeded, or its result came from the cache"),
            (1, "the module failed (its log, run folder and outputs are printed)"),
            (2, "a usage, spec or binding error; nothing ran"),
        ],
    )


def _gpus(count: int | None) -> tuple[str, ...] | None:
    """`--gpus N`: the first N of the machine's GPUs (RUNNER_GPUS, NVML or nvidia-smi)."""
    if count is None:
        return None
    if count < 0:
        raise UsageError("--gpus: expected a number of GPUs, 0 or more")
    from runner.run.gpus import detect_gpus, too_many  # nvidia-smi: only when asked

    ids = detect_gpus(os.environ)
    if count > len(ids):
        raise too_many("--gpus", count, ids)
    return ids[:count]


def _run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    spec = load_spec_warned(args, stderr, purpose="run")
    options = RunOptions(
        workdir=args.workdir,
        runs_root=args.runs_dir.resolve() if args.runs_dir else None,
        timeout=args.timeout,
        echo=None if args.quiet else (stderr if args.json else stdout),
        verbose=args.verbose,
        mpi_processes=args.mpi_processes,
        cache=not args.no_cache,
        force=args.force,
        debug=debug_request(args.debug, spec.name, stderr, args.json) if args.debug else None,
        stdin=stdin_is_terminal(),
        post_mortem=args.pdb,
        in_process=args.in_process,
        gpus=_gpus(args.gpus),
        **environment_options(args),
    )
    result = run_module(spec, pairs(args.input, "-i"), pairs(args.output, "-o"), options)
    print_notes(result.notes, stderr, notes_cache(args))
    if args.json:
        emit_json(stdout, result.to_json())
    else:
        _report(result, stderr)
    return EXIT_OK if result.ok else EXIT_MODULE_FAILED


def _report(result: RunResult, stream: TextIO) -> None:
    if result.ok:
        print(f"{result.status.value} in {result.duration:.3f} s", file=stream)
    else:
        print(f"failed: {result.message}", file=stream)
        if result.error_at:
            print(f"  error at: {result.error_at}", file=stream)
    print(f"  workdir: {result.workdir}", file=stream)
    print(f"  log:     {result.log}", file=stream)
    for name, path in result.outputs.items():
        print(f"  output {name}: {path}", file=stream)
    if not result.ok:
        print(f"  re-run by hand: {result.workdir / 'rerun.sh'}", file=stream)
