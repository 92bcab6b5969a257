"""The `runner` command line: argument parsing and the one top-level error handler."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from runner._version import __version__
from runner.cli.cache import add_cache_commands, run_cache_command
from runner.cli.common import add_cache_flags, add_env_flags, environment_options, pairs
from runner.cli.env import add_env_commands, run_env_command
from runner.cli.pipeline import add_pipeline_commands, run_pipeline_command
from runner.cli.show import interface, interface_text
from runner.cli.ui import add_ui_commands, run_ui_command
from runner.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_MODULE_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    RunnerError,
    UsageError,
)
from runner.run.engine import RunOptions, RunResult, run_module
from runner.run.explain import explain_module
from runner.run.job import preview_command
from runner.spec.load import load_spec
from runner.spec.model import ModuleSpec


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}", f"see `{self.prog} --help`")


def _add_binding_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-i",
        "--input",
        action="append",
        metavar="NAME=VALUE",
        help="bind an input port (a path) or a parameter, by original or python name",
    )
    parser.add_argument(
        "-o", "--output", action="append", metavar="NAME=PATH", help="place an output at PATH"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="runner", description="Run Azure Machine Learning modules locally, fast.")
    parser.add_argument("--version", action="version", version=f"runner {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    validate = commands.add_parser("validate", help="check that module specs load")
    validate.add_argument("specs", nargs="+", metavar="SPEC")

    show = commands.add_parser("show", help="print a module's normalised interface")
    show.add_argument("spec", metavar="SPEC")
    show.add_argument("--json", action="store_true", help="print JSON")

    render = commands.add_parser("render", help="print the command a run would execute")
    render.add_argument("spec", metavar="SPEC")
    _add_binding_flags(render)
    render.add_argument("--json", action="store_true", help="print the argv as a JSON list")

    run = commands.add_parser("run", help="run a module")
    run.add_argument("spec", metavar="SPEC")
    _add_binding_flags(run)
    run.add_argument("--workdir", type=Path, help="run in this new folder")
    run.add_argument("--runs-dir", type=Path, help="where new run folders go (default ./runs)")
    add_env_flags(run)
    run.add_argument("--timeout", type=float, metavar="S", help="kill the run after S seconds")
    run.add_argument("--mpi-processes", type=int, metavar="N", help="mpiexec -n N (jobType mpi)")
    run.add_argument("--quiet", action="store_true", help="do not stream the module's output")
    run.add_argument("--json", action="store_true", help="print one JSON object as the result")
    add_cache_flags(run)
    run.add_argument("--no-cache", action="store_true", help="neither look up nor store results")
    run.add_argument("--force", action="store_true", help="re-run and replace the cache entry")

    explain = commands.add_parser("explain", help="say whether a run would hit the cache, and why")
    explain.add_argument("spec", metavar="SPEC")
    _add_binding_flags(explain)
    add_env_flags(explain)
    explain.add_argument("--json", action="store_true", help="print JSON")
    add_cache_flags(explain)

    add_cache_commands(commands)
    add_env_commands(commands)
    add_pipeline_commands(commands)
    add_ui_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    stdout, stderr = sys.stdout, sys.stderr
    try:
        args = build_parser().parse_args(argv)
        handler: Callable[[argparse.Namespace, TextIO, TextIO], int] = _HANDLERS[args.command]
        return handler(args, stdout, stderr)
    except RunnerError as exc:
        print(f"error: {exc}", file=stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`runner ... | head`): nothing more to say, and nowhere to say it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_MODULE_FAILED
    except SystemExit as exc:  # argparse --help / --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except Exception:
        return _internal_error(stderr)


def _internal_error(stderr: TextIO) -> int:
    """A bug in runner: keep the traceback in a file, show one line and where to find it."""
    with tempfile.NamedTemporaryFile(
        "w", prefix="runner-crash-", suffix=".log", delete=False
    ) as log:
        traceback.print_exc(file=log)
    kind = sys.exc_info()[0]
    name = kind.__name__ if kind else "error"
    print(f"internal error ({name}); the traceback is in {log.name}", file=stderr)
    print("  hint: this is a bug in runner; please report it with that file", file=stderr)
    return EXIT_INTERNAL


def _print_warnings(spec: ModuleSpec, stderr: TextIO) -> None:
    for warning in spec.warnings:
        print(f"warning: {warning}", file=stderr)


def _validate(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    failed = 0
    for path in args.specs:
        try:
            spec = load_spec(path)
        except RunnerError as exc:
            print(f"error: {exc}", file=stderr)
            failed += 1
            continue
        _print_warnings(spec, stderr)
        print(f"ok: {path} ({spec.generation.value}, {spec.identity})", file=stdout)
    return EXIT_USAGE if failed else EXIT_OK


def _show(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    spec = load_spec(args.spec)
    if args.json:
        json.dump(interface(spec), stdout, indent=2)
        stdout.write("\n")
    else:
        _print_warnings(spec, stderr)
        print(interface_text(spec), file=stdout)
    return EXIT_OK


def _render(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    spec = load_spec(args.spec)
    _print_warnings(spec, stderr)
    argv = preview_command(spec, pairs(args.input, "-i"), pairs(args.output, "-o"))
    print(json.dumps(argv) if args.json else shlex.join(argv), file=stdout)
    return EXIT_OK


def _run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    spec = load_spec(args.spec)
    _print_warnings(spec, stderr)
    options = RunOptions(
        workdir=args.workdir,
        runs_root=args.runs_dir.resolve() if args.runs_dir else None,
        timeout=args.timeout,
        echo=None if args.quiet else (stderr if args.json else stdout),
        mpi_processes=args.mpi_processes,
        cache=not args.no_cache,
        force=args.force,
        **environment_options(args),
    )
    result = run_module(spec, pairs(args.input, "-i"), pairs(args.output, "-o"), options)
    for note in result.notes:
        print(f"warning: {note}", file=stderr)
    if args.json:
        json.dump(result.to_json(), stdout, indent=2)
        stdout.write("\n")
    else:
        _report(result, stderr)
    return EXIT_OK if result.ok else EXIT_MODULE_FAILED


def _explain(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    spec = load_spec(args.spec)
    _print_warnings(spec, stderr)
    options = RunOptions(**environment_options(args))
    explanation = explain_module(spec, pairs(args.input, "-i"), pairs(args.output, "-o"), options)
    if args.json:
        print(json.dumps(explanation.to_json(), indent=2), file=stdout)
    else:
        print(explanation.text(), file=stdout)
    return EXIT_OK


def _report(result: RunResult, stream: TextIO) -> None:
    if result.ok:
        print(f"{result.status.value} in {result.duration:.3f} s", file=stream)
    else:
        print(f"failed: {result.message}", file=stream)
    print(f"  workdir: {result.workdir}", file=stream)
    print(f"  log:     {result.log}", file=stream)
    for name, path in result.outputs.items():
        print(f"  output {name}: {path}", file=stream)
    if not result.ok:
        print(f"  re-run by hand: {result.workdir / 'rerun.sh'}", file=stream)


_HANDLERS: dict[str, Callable[[argparse.Namespace, TextIO, TextIO], int]] = {
    "validate": _validate,
    "show": _show,
    "render": _render,
    "run": _run,
    "explain": _explain,
    "cache": run_cache_command,
    "env": run_env_command,
    "pipeline": run_pipeline_command,
    "ui": run_ui_command,
}
