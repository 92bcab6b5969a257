"""`runner runs ls | prune`: the run folders that `runner run` and `runner pipeline run` leave.

`prune` removes only what it is told to (as `docker container prune --filter` and `git clean`
do: no criterion, no removal): `--older-than AGE`, `--failed`, `--keep N` (all but the N most
recent) or `--all`; given together, a run must match every filter, and `--keep N` protects the
N most recent runs whatever the filters say. `--dry-run` lists what would go. A run still
marked running is never removed (it may be going on; a killed one is removed by hand), and
nothing is removed from a folder that runner did not mark as its runs folder.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import TextIO

from runner.cache.units import parse_age
from runner.cli.output import emit_json, local_time, plural, table
from runner.cli.parser import action, actions, add_json, describe
from runner.cli.run_folders import RunFolder, remove_run, run_folders
from runner.clock import iso
from runner.errors import EXIT_OK, UsageError
from runner.files import RUNS_MARKER
from runner.run.workdir import default_runs_root


def configure(parser: argparse.ArgumentParser) -> None:
    describe(parser, ["runner runs ls", "runner runs prune --older-than 7d --keep 10"])
    group = actions(parser)
    listing = action(
        group,
        "ls",
        "run folders, most recent first",
        _ls,
        [
            "runner runs ls",
            "runner runs ls --failed",
            "runner runs ls --json | jq -r '.runs[0].path'",
        ],
    )
    listing.add_argument("--failed", action="store_true", help="only failed or interrupted runs")
    prune = action(
        group,
        "prune",
        "remove run folders: old ones, failed ones, all but the most recent",
        _prune,
        [
            "runner runs prune --older-than 30d",
            "runner runs prune --keep 20 --dry-run",
            "runner runs prune --failed",
            "runner runs prune --all",
        ],
    )
    prune.add_argument("--older-than", metavar="AGE", help="runs started AGE ago or more (7d)")
    prune.add_argument("--failed", action="store_true", help="failed or interrupted runs")
    prune.add_argument("--keep", type=int, metavar="N", help="never the N most recent runs")
    prune.add_argument("--all", action="store_true", help="every finished run")
    prune.add_argument(
        "-n", "--dry-run", action="store_true", help="list what would be removed, remove nothing"
    )
    for sub in (listing, prune):
        sub.add_argument(
            "--runs-dir",
            type=Path,
            metavar="DIR",
            help="the runs folder (default $RUNNER_RUNS_DIR, ./runs)",
        )
        add_json(sub)


def _root(args: argparse.Namespace) -> Path:
    root: Path = args.runs_dir or default_runs_root(os.environ, Path.cwd())
    return root


def _json(folder: RunFolder) -> dict[str, object]:
    return {
        "name": folder.path.name,
        "path": str(folder.path),
        "kind": folder.kind,
        "module_or_pipeline": folder.name,
        "status": folder.status,
        "started_at": iso(folder.started),
        "duration": folder.duration,
    }


def _ls(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    root = _root(args)
    folders = [f for f in run_folders(root) if f.failed or not args.failed]
    if args.json:
        emit_json(stdout, {"root": str(root), "runs": [_json(f) for f in folders]})
        return EXIT_OK
    if not folders:
        print(f"no {'failed ' if args.failed else ''}runs in {root}", file=stdout)
        return EXIT_OK
    rows = [
        [f.path.name, f.kind, f.status, local_time(f.started),
         "" if f.duration is None else f"{f.duration:.1f} s"]
        for f in folders
    ]  # fmt: skip
    print(table(["RUN", "KIND", "STATUS", "STARTED", "DURATION"], rows), file=stdout)
    print(f"{plural(len(folders), 'run')} in {root}", file=stdout)
    return EXIT_OK


def _prune(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    if not (args.older_than or args.failed or args.keep is not None or args.all):
        raise UsageError(
            "runner runs prune: say which runs to remove",
            "--older-than AGE, --failed, --keep N or --all (add --dry-run to see the list first)",
        )
    if args.keep is not None and args.keep < 0:
        raise UsageError(f"--keep {args.keep}: give a number of runs, 0 or more")
    try:
        horizon = time.time() - parse_age(args.older_than) if args.older_than else None
    except ValueError as exc:
        raise UsageError(f"--older-than: {exc}") from None
    root = _root(args)
    folders = run_folders(root)
    if folders and not (root / RUNS_MARKER).is_file():
        raise UsageError(
            f"{root} is not a runs folder made by runner (it has no {RUNS_MARKER} marker)",
            "name the folder that `runner run` or `runner pipeline run` put the runs in",
        )
    protected = {f.path for f in folders[: args.keep or 0]}
    chosen = [
        f
        for f in folders
        if f.path not in protected
        and (horizon is None or f.started < horizon)
        and (f.failed or not args.failed)
    ]
    running = [f for f in chosen if not f.finished]
    doomed = [f for f in chosen if f.finished]
    if not args.dry_run:
        for folder in doomed:
            remove_run(folder)
    if args.json:
        emit_json(stdout, {
            "removed": [] if args.dry_run else [f.path.name for f in doomed],
            "would_remove": [f.path.name for f in doomed] if args.dry_run else [],
            "kept_running": [f.path.name for f in running],
        })  # fmt: skip
        return EXIT_OK
    verb = "would remove" if args.dry_run else "removed"
    for folder in doomed:
        print(f"{verb} {folder.path.name} ({folder.kind}, {folder.status})", file=stdout)
    for folder in running:
        print(f"kept {folder.path.name}: marked {folder.status} (remove it by hand if it was "
              "killed)", file=stdout)  # fmt: skip
    print(f"{verb} {plural(len(doomed), 'run')}, {len(folders) - len(doomed)} left", file=stdout)
    return EXIT_OK
