"""`runner debug-config`: a VS Code launch configuration that runs one step as runner would."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from runner.cli.debugging import add_target_arguments, resolve_target, warn_drift
from runner.cli.output import emit_json
from runner.cli.parser import add_json, leaf

if TYPE_CHECKING:
    from runner.debug.target import Target


def configure(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser, "SPEC|PIPELINE|RUN_DIR")
    parser.add_argument(
        "--write",
        action="store_true",
        help="add it to .vscode/launch.json (replacing the entry of the same name; the other"
        " entries and comments are kept)",
    )
    parser.add_argument(
        "--workspace", type=Path, metavar="DIR", help="the VS Code folder (default: here)"
    )
    parser.add_argument(
        "--port", type=int, default=5678, metavar="N",
        help="docker steps: the port to attach to (default 5678)",
    )  # fmt: skip
    add_json(parser)
    leaf(
        parser,
        _debug_config,
        [
            "runner debug-config samples/cliv2/csv_summary/csv_summary.yml \\\n"
            "      -i table=samples/data/sales.csv -i group_by=product -i value_column=units",
            "runner debug-config samples/sar/pipeline.yml --step train --write",
            "runner debug-config runs/sar/steps/train   # a past (or cached) run, laid out anew",
            "runner debug-config SPEC -i data=in.csv --env docker   # attach, and how to start",
        ],
        [(0, "the configuration was printed (or written)")],
    )


def _debug_config(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from runner.debug.target import plan, prepare
    from runner.debug.vscode import attach_configuration, launch_configuration

    target, options = resolve_target(args, stderr)
    job = plan(target, options)
    warn_drift(target, job, stderr)
    start = None
    if job.environment.name == "docker":
        configuration = attach_configuration(job, target.label, args.port)
        start = shlex.join(_start_command(args, target))
    else:
        configuration = launch_configuration(job, prepare(job), target.label)
    written = _write(args.workspace or Path.cwd(), configuration) if args.write else None
    if args.json:
        emit_json(stdout, {"configuration": configuration, "start": start,
                           "written": str(written) if written else None})  # fmt: skip
        return 0
    if written is None:
        print(json.dumps(configuration, indent=2), file=stdout)
    else:
        print(f"wrote '{configuration['name']}' to {written}", file=stderr)
    if start is not None:
        print(f"start the step, then attach:\n  {start}", file=stderr)
    return 0


def _start_command(args: argparse.Namespace, target: Target) -> list[str]:
    """The command that starts a docker step under debugpy on the configuration's port."""
    env = ["--env", args.env] if args.env else []
    if Path(args.target).is_dir():  # a recorded run: its spec and values
        values = [f"{name}={value}" for name, value in target.values.items()]
        words = [word for item in values for word in ("-i", item)]
        return ["runner", "run", str(target.spec.source), *words, *env, "--debug", str(args.port)]
    if args.step:
        sets = [word for item in args.set or [] for word in ("--set", item)]
        return ["runner", "pipeline", "run", args.target, *sets, *env,
                "--debug", f"{args.step}={args.port}"]  # fmt: skip
    values = [word for item in args.input or [] for word in ("-i", item)]
    values += [word for item in args.output or [] for word in ("-o", item)]
    return ["runner", "run", args.target, *values, *env, "--debug", str(args.port)]


def _write(workspace: Path, configuration: dict[str, object]) -> Path:
    from runner.debug.jsonc import merge_configuration
    from runner.files import write_text_atomic

    path = workspace / ".vscode" / "launch.json"
    text = path.read_text(encoding="utf-8") if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, merge_configuration(text, configuration, str(path)))
    return path
