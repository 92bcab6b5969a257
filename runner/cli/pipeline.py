"""`runner pipeline run | show | status | view`: pipelines from the command line."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from runner.cli.common import (
    add_cache_flags,
    add_env_flags,
    add_registry_flag,
    environment_options,
    pairs,
)
from runner.cli.debugging import pipeline_debug
from runner.cli.notes import notes_cache, print_notes
from runner.cli.output import emit_json
from runner.cli.parser import action, actions, add_json, add_quiet, describe
from runner.cli.pipeline_show import pipeline_text
from runner.cli.ui import add_serve_flags, serve_command
from runner.config import EXECUTOR_CHOICES, load_settings
from runner.errors import EXIT_MODULE_FAILED, EXIT_OK, RunnerError, UsageError
from runner.files import write_text_atomic
from runner.pipeline.display import make_display, summary
from runner.pipeline.executors.choose import executor_for
from runner.pipeline.load import load_pipeline
from runner.pipeline.model import Pipeline
from runner.pipeline.rerun import Rerun, advise
from runner.pipeline.run import RECORD, run_pipeline
from runner.pipeline.state import read_record
from runner.run.engine import RunOptions
from runner.run.workdir import default_runs_root

if TYPE_CHECKING:
    from runner.registry.lookup import Purpose

SAR = "samples/sar/pipeline.yml"
RUN_EXITS = [
    (0, "every step succeeded or came from the cache"),
    (1, "a step failed (the summary shows its log and how to re-run from it)"),
    (2, "a usage or spec error, or an invalid pipeline (every problem is named); nothing ran"),
]


def configure(parser: argparse.ArgumentParser) -> None:
    describe(parser, [f"runner pipeline run {SAR}", f"runner pipeline show {SAR}"])
    group = actions(parser)
    _configure_run(group)
    show = action(
        group,
        "show",
        "the steps, their edges and port types",
        _show,
        [f"runner pipeline show {SAR}", f"runner pipeline show {SAR} --json | jq .edges"],
    )
    show.add_argument("pipeline", metavar="PIPELINE", help="a pipeline file (type: pipeline)")
    add_json(show)
    add_registry_flag(show)
    _configure_export(group)
    view = action(
        group,
        "view",
        "the pipeline as a live graph in the browser (and an editor)",
        serve_command,
        [f"runner pipeline view {SAR}", f"runner pipeline view {SAR} --port 9000 --no-open"],
    )
    view.add_argument("pipeline", metavar="PIPELINE", help="a pipeline file (type: pipeline)")
    add_serve_flags(view)
    status = action(
        group,
        "status",
        "the state of a pipeline run (default: the latest)",
        _status,
        ["runner pipeline status", "runner pipeline status runs/sar-20260101-120000-1a2b3c"],
        [(0, "the run succeeded"), (1, "the run failed or was interrupted")],
    )
    status.add_argument(
        "run_dir", nargs="?", type=Path, metavar="RUN_DIR", help="a pipeline run folder"
    )
    status.add_argument(
        "--runs-dir", type=Path, metavar="DIR", help="where run folders are (default ./runs)"
    )
    add_json(status)


def _configure_run(group: Any) -> None:
    run = action(
        group,
        "run",
        "run a pipeline (cached steps come back at once)",
        _run,
        [
            f"runner pipeline run {SAR}",
            f"runner pipeline run {SAR} --set ratio=0.8 --dry-run",
            f"runner pipeline run {SAR} --from train    # train and after; the rest cached",
            f"runner pipeline run {SAR} --debug train=5678   # attach the IDE to step train",
            f"runner pipeline run {SAR} --json --quiet | jq .status",
        ],
        RUN_EXITS,
    )
    run.add_argument("pipeline", metavar="PIPELINE", help="a pipeline file (type: pipeline)")
    run.add_argument("--set", action="append", metavar="NAME=VALUE", help="a pipeline input")
    run.add_argument("--jobs", type=int, metavar="N", help="steps at once (default: cores)")
    run.add_argument("--only", action="append", default=[], metavar="STEP",
                     help="run just STEP (upstream steps must come from the cache)")  # fmt: skip
    run.add_argument("--from", dest="from_steps", action="append", default=[], metavar="STEP",
                     help="run STEP and everything after it (upstream from the cache)")  # fmt: skip
    run.add_argument("--until", action="append", default=[], metavar="STEP",
                     help="run STEP and everything it needs, nothing after")  # fmt: skip
    run.add_argument("--force", action="append", default=[], metavar="STEP",
                     help="re-run STEP even if cached")  # fmt: skip
    run.add_argument("--continue-on-failure", action="store_true",
                     help="keep running steps that do not depend on a failed one")  # fmt: skip
    run.add_argument("--dry-run", action="store_true",
                     help="print each command and whether it would hit the cache")  # fmt: skip
    run.add_argument("--timeout", type=float, metavar="S", help="per-step timeout")
    run.add_argument("--debug", metavar="STEP[=[HOST:]PORT]",
                     help="start STEP under debugpy (default port 5678; 0 picks a free one) and"
                     " wait for the IDE; upstream steps from the cache")  # fmt: skip
    run.add_argument(
        "--runs-dir", type=Path, metavar="DIR", help="where run folders go (default ./runs)"
    )
    run.add_argument("--no-cache", action="store_true", help="neither look up nor store")
    run.add_argument(
        "--executor",
        choices=EXECUTOR_CHOICES,
        help="where steps run (default: RUNNER_EXECUTOR, the config file, else local)",
    )
    run.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="the Ray cluster to join (default: RAY_ADDRESS; none: start a local one)",
    )
    add_quiet(run, "progress (the summary is still printed)")
    add_json(run)
    add_env_flags(run)
    add_cache_flags(run)
    add_registry_flag(run)


def _configure_export(group: Any) -> None:
    export = action(
        group,
        "export",
        "the Python DSL program (or notebook) that builds the same pipeline",
        _export,
        [
            f"runner pipeline export {SAR} -o sar.py && python sar.py",
            f"runner pipeline export {SAR} --to ipynb -o sar.ipynb   # a cell per step",
        ],
    )
    export.add_argument("pipeline", metavar="PIPELINE", help="a pipeline file (type: pipeline)")
    export.add_argument(
        "--to", choices=("py", "ipynb"), default="py", help="a program (default) or a notebook"
    )
    export.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="where to write it (default: stdout)"
    )
    add_json(export)
    add_registry_flag(export)


def _load(args: argparse.Namespace, stderr: TextIO, purpose: Purpose = "run") -> Pipeline:
    pipeline = load_pipeline(args.pipeline, registry=args.registry, purpose=purpose)
    for warning in pipeline.warnings:
        print(f"warning: {warning}", file=stderr)
    return pipeline


def _run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    pipeline = _load(args, stderr)
    sets = pairs(args.set, "--set")
    options = RunOptions(timeout=args.timeout, cache=not args.no_cache, **environment_options(args))
    if args.dry_run:
        from runner.pipeline.dryrun import dry_run

        report = dry_run(pipeline, sets=sets, options=options)
        if args.json:
            emit_json(stdout, report.to_json())
        else:
            print(report.text(), file=stdout)
        return EXIT_OK
    display = None if args.quiet else make_display(stderr)
    settings = load_settings(os.environ, executor=args.executor, ray_address=args.ray_address)
    if args.debug and settings.executor == "ray":
        raise UsageError(
            "--debug runs a step on this machine, under your IDE: it cannot be used with the"
            " Ray executor",
            "debug the step locally: drop --executor ray (its upstream steps come from the"
            " shared cache)",
        )
    executor = executor_for(settings.executor, settings.ray_address)
    try:
        result = run_pipeline(
            pipeline,
            sets=sets,
            jobs=args.jobs,
            only=args.only,
            from_steps=args.from_steps,
            until=args.until,
            force=args.force,
            continue_on_failure=args.continue_on_failure,
            options=options,
            runs_root=args.runs_dir.resolve() if args.runs_dir else None,
            display=display,
            debug=pipeline_debug(args.debug, stderr, args.json) if args.debug else None,
            executor=executor,
        )
    finally:
        executor.close()
    notes = [note for step in result.steps.values() for note in step.notes]
    print_notes([*notes, *result.notes], stderr, notes_cache(args))
    if args.json:
        emit_json(stdout, result.to_json())
    else:
        command = _rerun_command(args.pipeline, args.set or [])
        print(summary(result, advise(pipeline, result, options), command), file=stderr)
    return EXIT_OK if result.ok else EXIT_MODULE_FAILED


def _rerun_command(path: str, sets: Sequence[str]) -> Callable[[Rerun], str]:
    """Spells a re-run as the command the user would type, with the same `--set` values."""
    base = ["runner", "pipeline", "run", path, *(arg for s in sets for arg in ("--set", s))]

    def command(rerun: Rerun) -> str:
        return shlex.join([*base, *(arg for step in rerun.from_steps for arg in ("--from", step))])

    return command


def _show(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    pipeline = _load(args, stderr, "inspect")
    if args.json:
        from runner.pipeline.graph import pipeline_graph

        emit_json(stdout, pipeline_graph(pipeline))
    else:
        print(pipeline_text(pipeline), file=stdout)
    return EXIT_OK


def _export(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from runner.pipeline.export import export_pipeline
    from runner.registry.lookup import registered_reference

    pipeline = _load(args, stderr, "inspect")
    target = args.output or Path.cwd() / f"{pipeline.name}.{args.to}"
    text = export_pipeline(
        pipeline, args.to, target, lambda spec: registered_reference(spec, args.registry)
    )
    if args.output is not None:
        write_text_atomic(args.output, text)
    if args.json:
        written = None if args.output is None else str(args.output)
        data = {"pipeline": pipeline.name, "to": args.to, "file": written}
        emit_json(stdout, data if written else {**data, "text": text})
    elif args.output is None:
        stdout.write(text)
    else:
        print(f"wrote {args.output}", file=stdout)
    return EXIT_OK


def _status(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    run_dir = args.run_dir or _latest_run(args.runs_dir)
    header, result = read_record(run_dir / RECORD)
    if args.json:
        emit_json(stdout, {**header, **result.to_json()})
        return EXIT_OK if result.ok else EXIT_MODULE_FAILED
    source = str(header.get("source") or header.get("pipeline"))
    advice: dict[str, Rerun] = {}
    if not result.ok:
        # The file moved or changed: the summary goes without the re-run advice.
        with contextlib.suppress(RunnerError):
            advice = advise(load_pipeline(source), result)
    sets = header.get("sets")
    given = [f"{k}={v}" for k, v in sets.items()] if isinstance(sets, dict) else []
    print(summary(result, advice, _rerun_command(source, given)), file=stdout)
    return EXIT_OK if result.ok else EXIT_MODULE_FAILED


def _latest_run(runs_dir: Path | None) -> Path:
    root = runs_dir or default_runs_root(os.environ, Path.cwd())
    records = sorted(root.glob(f"*/{RECORD}"), key=lambda p: p.stat().st_mtime)
    if not records:
        raise RunnerError(f"no pipeline runs under {root}", "name a run folder, or --runs-dir")
    return records[-1].parent
