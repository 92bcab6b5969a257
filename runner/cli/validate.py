"""`runner validate SPEC...`: do the specs load, and with which warnings."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from runner.cli.common import add_registry_flag
from runner.cli.output import emit_json
from runner.cli.parser import add_json, leaf
from runner.errors import EXIT_OK, EXIT_USAGE, RunnerError, shown
from runner.registry.resolve import load_module_spec
from runner.spec.model import ModuleSpec


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "specs",
        nargs="+",
        metavar="SPEC",
        help="module spec files (any of the three formats), or registered modules (NAME[@VERSION])",
    )
    add_registry_flag(parser)
    add_json(parser)
    leaf(
        parser,
        _validate,
        [
            "runner validate samples/sar/modules/*.yaml",
            "runner validate module.yaml --json | jq '.specs[] | select(.ok | not)'",
        ],
        [(0, "every spec loads"), (2, "a spec does not load (each problem is printed)")],
    )


def _validate(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    loaded = [_load(path, args.registry) for path in args.specs]
    ok = all(isinstance(item, ModuleSpec) for _, item in loaded)
    if args.json:
        emit_json(stdout, {"ok": ok, "specs": [_json(path, item) for path, item in loaded]})
        return EXIT_OK if ok else EXIT_USAGE
    for path, item in loaded:
        if isinstance(item, RunnerError):
            print(f"error: {item}", file=stderr)
            continue
        for warning in item.warnings:
            print(f"warning: {warning}", file=stderr)
        print(f"ok: {path} ({item.generation.value}, {shown(item.identity)})", file=stdout)
    return EXIT_OK if ok else EXIT_USAGE


def _load(path: str, registry: Path | None) -> tuple[str, ModuleSpec | RunnerError]:
    try:
        return path, load_module_spec(path, registry=registry, purpose="inspect")
    except RunnerError as exc:
        return path, exc


def _json(path: str, item: ModuleSpec | RunnerError) -> dict[str, object]:
    if isinstance(item, RunnerError):
        return {"path": path, "ok": False, "error": item.message, "hint": item.hint}
    return {
        "path": path,
        "ok": True,
        "generation": item.generation.value,
        "identity": item.identity,
        "warnings": [str(w) for w in item.warnings],
    }
