"""`runner ui` and `runner pipeline view PIPELINE`: the local web page."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TextIO

from runner.cli.common import add_registry_flag
from runner.cli.parser import leaf
from runner.errors import EXIT_OK, UsageError

SERVE_EXITS = [(0, "the server was stopped (Ctrl-C)")]


def configure(parser: argparse.ArgumentParser) -> None:
    add_serve_flags(parser)
    leaf(
        parser,
        serve_command,
        ["runner ui", "runner ui --port 9000 --no-open", "runner ui --registry ./team-registry"],
        SERVE_EXITS,
    )


def add_serve_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, metavar="N", help="listen on port N (default 8765)")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument("--no-open", action="store_true", help="print the URL, open no browser")
    add_registry_flag(parser)  # the palette's registered modules; pipelines' azureml: components


def serve_command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """`runner ui`, or `runner pipeline view` when `args.pipeline` names a file."""
    from runner.ui.serve import ServeOptions, serve  # the web stack, only for this command

    pipeline = getattr(args, "pipeline", None)
    if pipeline is not None:
        path = Path(pipeline).absolute()
        if not path.is_file():
            raise UsageError(f"{pipeline}: no such pipeline file")
        from runner.pipeline.load import load_pipeline

        # A broken file is a usage error here, not a blank page; a disabled version is not:
        # the page is where it gets replaced.
        load_pipeline(path, registry=args.registry, purpose="inspect")
    options = ServeOptions(
        host=args.host,
        port=args.port,
        open_browser=not args.no_open,
        pipeline=Path(pipeline).absolute() if pipeline else None,
        registry=args.registry,
    )
    serve(options, Path.cwd(), dict(os.environ), stdout)
    return EXIT_OK
