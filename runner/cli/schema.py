"""`runner schema [KIND] [--write DIR]`: JSON Schemas of the spec formats, for editors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from runner.cli.output import emit_json
from runner.cli.parser import add_json, leaf

KINDS = ("legacy", "component2", "cliv2", "pipeline")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "JSON Schemas (draft 2020-12) of the legacy, component 2.0 and CLI v2 module specs and"
        " of pipeline files, built from the loaders' own tables. An editor's first look:"
        " `runner validate` stays the authority (files, placeholders and names are its alone)."
    )
    parser.add_argument("kind", nargs="?", choices=KINDS, metavar="KIND",
                        help=f"one of {', '.join(KINDS)} (default: all four)")  # fmt: skip
    parser.add_argument("--write", type=Path, metavar="DIR",
                        help="write runner-KIND.schema.json files into DIR")  # fmt: skip
    add_json(parser)
    leaf(
        parser,
        _schema,
        [
            "runner schema cliv2 > cliv2.schema.json",
            "runner schema --write .vscode/schemas      # all four, for yaml.schemas",
        ],
        [(0, "the schemas were printed (or written)")],
    )


def _schema(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from runner.files import write_text_atomic
    from runner.schema.generate import schema

    kinds = [args.kind] if args.kind else list(KINDS)
    schemas = {kind: schema(kind) for kind in kinds}
    if args.write is not None:
        args.write.mkdir(parents=True, exist_ok=True)
        written = {}
        for kind, made in schemas.items():
            path = args.write / f"runner-{kind}.schema.json"
            write_text_atomic(path, json.dumps(made, indent=2) + "\n")
            written[kind] = str(path.resolve())
        if args.json:
            emit_json(stdout, {"written": written})
        else:
            for path in written.values():
                print(f"wrote {path}", file=stderr)
        return 0
    if args.kind:
        emit_json(stdout, schemas[args.kind])
    else:
        emit_json(stdout, schemas)
    return 0
