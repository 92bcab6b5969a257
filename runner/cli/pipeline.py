"""`runner pipeline run | show | status`: pipelines from the command line."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, TextIO

from runner.cli.common import add_cache_flags, add_env_flags, environment_options, pairs
from runner.cli.ui import add_serve_flags, run_ui_command
from runner.errors import EXIT_MODULE_FAILED, EXIT_OK, RunnerError
from runner.pipeline.display import LineDisplay, LiveDisplay, summary
from runner.pipeline.graph import pipeline_graph
from runner.pipeline.load import load_pipeline
from runner.pipeline.model import Pipeline, StepOutput, topological_order
from runner.pipeline.run import RECORD, run_pipeline
from runner.pipeline.state import read_record
from runner.run.engine import RunOptions
from runner.run.workdir import default_runs_root


def add_pipeline_commands(commands: Any) -> None:
    pipeline = commands.add_parser("pipeline", help="run, show and inspect pipelines")
    actions = pipeline.add_subparsers(dest="pipeline_command", metavar="ACTION")
    actions.required = True
    run = actions.add_parser("run", help="run a pipeline (cached steps come back at once)")
    run.add_argument("pipeline", metavar="PIPELINE")
    run.add_argument("--set", action="append", metavar="NAME=VALUE", help="a pipeline input")
    run.add_argument("--jobs", type=int, metavar="N", help="steps at once (default: cores)")
    run.add_argument("--only", action="append", default=[], metavar="STEP", help="run just STEP")
    run.add_argument("--from", dest="from_steps", action="append", default=[], metavar="STEP",
                     help="run STEP and everything after it")  # fmt: skip
    run.add_argument("--until", action="append", default=[], metavar="STEP",
                     help="run STEP and everything it needs, nothing after")  # fmt: skip
    run.add_argument("--force", action="append", default=[], metavar="STEP",
                     help="re-run STEP even if cached")  # fmt: skip
    run.add_argument("--continue-on-failure", action="store_true",
                     help="keep running steps that do not depend on a failed one")  # fmt: skip
    run.add_argument("--dry-run", action="store_true",
                     help="print each command and whether it would hit the cache")  # fmt: skip
    run.add_argument("--timeout", type=float, metavar="S", help="per-step timeout")
    run.add_argument("--runs-dir", type=Path, help="where run folders go (default ./runs)")
    run.add_argument("--no-cache", action="store_true", help="neither look up nor store")
    run.add_argument("--json", action="store_true", help="print one JSON object as the result")
    add_env_flags(run)
    add_cache_flags(run)
    show = actions.add_parser("show", help="the steps, their edges and port types")
    show.add_argument("pipeline", metavar="PIPELINE")
    show.add_argument("--json", action="store_true", help="print the graph (steps, edges) as JSON")
    view = actions.add_parser("view", help="the pipeline as a live graph in the browser")
    view.add_argument("pipeline", metavar="PIPELINE")
    add_serve_flags(view)
    status = actions.add_parser("status", help="the state of a past run (default: the latest)")
    status.add_argument("run_dir", nargs="?", type=Path, metavar="RUN_DIR")
    status.add_argument("--runs-dir", type=Path, help="where run folders are (default ./runs)")
    status.add_argument("--json", action="store_true", help="print JSON")


def run_pipeline_command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    handler = {"run": _run, "show": _show, "status": _status, "view": run_ui_command}[
        args.pipeline_command
    ]
    return handler(args, stdout, stderr)


def _sets(raw: list[str] | None) -> dict[str, str]:
    return pairs(raw, "--set")


def _load(path: str, stderr: TextIO) -> Pipeline:
    pipeline = load_pipeline(path)
    for warning in pipeline.warnings:
        print(f"warning: {warning}", file=stderr)
    return pipeline


def _run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    pipeline = _load(args.pipeline, stderr)
    options = RunOptions(
        timeout=args.timeout,
        cache=not args.no_cache,
        **environment_options(args),
    )
    if args.dry_run:
        from runner.pipeline.dryrun import dry_run

        report = dry_run(pipeline, sets=_sets(args.set), options=options)
        print(json.dumps(report.to_json(), indent=2) if args.json else report.text(), file=stdout)
        return EXIT_OK
    live = not args.json and stderr.isatty() and os.environ.get("TERM") != "dumb"
    display = LiveDisplay(stderr) if live else LineDisplay(stderr)
    result = run_pipeline(
        pipeline,
        sets=_sets(args.set),
        jobs=args.jobs,
        only=args.only,
        from_steps=args.from_steps,
        until=args.until,
        force=args.force,
        continue_on_failure=args.continue_on_failure,
        options=options,
        runs_root=args.runs_dir.resolve() if args.runs_dir else None,
        display=display,
    )
    if args.json:
        json.dump(result.to_json(), stdout, indent=2)
        stdout.write("\n")
    else:
        hint = ["runner", "pipeline", "run", args.pipeline]
        print(summary(result, hint), file=stderr)
    return EXIT_OK if result.ok else EXIT_MODULE_FAILED


def _show(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    pipeline = _load(args.pipeline, stderr)
    if args.json:
        print(json.dumps(pipeline_graph(pipeline), indent=2), file=stdout)
        return EXIT_OK
    print(f"pipeline {pipeline.name}  ({pipeline.source})", file=stdout)
    if pipeline.inputs:
        print("inputs:", file=stdout)
        for item in pipeline.inputs:
            default = "" if item.default is None else f" = {item.default}"
            print(f"  {item.name}: {item.type}{default}", file=stdout)
    print("steps (in run order):", file=stdout)
    for name in topological_order(pipeline):
        step = pipeline.step(name)
        module = step.module
        print(f"  {name}: {module.identity}  ({module.source})", file=stdout)
        for key, binding in step.bindings.items():
            if isinstance(binding, StepOutput):
                source = pipeline.step(binding.step).module.find_output(binding.output)
                port = module.find_input(key)
                source_types = "/".join(source.types) if source else "?"
                target_types = "/".join(getattr(port, "types", ())) or "?"
                print(
                    f"    <- {binding.step}.{binding.output} ({source_types}) "
                    f"-> {key} ({target_types})",
                    file=stdout,
                )
    if pipeline.outputs:
        print("outputs:", file=stdout)
        for out in pipeline.outputs:
            print(f"  {out.name} <- {out.step}.{out.output}", file=stdout)
    return EXIT_OK


def _status(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    run_dir = args.run_dir or _latest_run(args.runs_dir)
    header, result = read_record(run_dir / RECORD)
    if args.json:
        json.dump({**header, **result.to_json()}, stdout, indent=2)
        stdout.write("\n")
    else:
        source = header.get("source") or header.get("pipeline")
        print(summary(result, ["runner", "pipeline", "run", str(source)]), file=stdout)
    return EXIT_OK if result.ok else EXIT_MODULE_FAILED


def _latest_run(runs_dir: Path | None) -> Path:
    root = runs_dir or default_runs_root(os.environ, Path.cwd())
    records = sorted(root.glob(f"*/{RECORD}"), key=lambda p: p.stat().st_mtime)
    if not records:
        raise RunnerError(f"no pipeline runs under {root}", "name a run folder, or --runs-dir")
    return records[-1].parent
