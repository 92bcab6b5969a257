"""`runner env ls | show SPEC | build SPEC | rm FP | prune`: the environments runner built."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any, TextIO

from runner.cache.location import default_cache_root
from runner.cache.units import parse_age
from runner.cli.common import add_cache_flags, add_env_flags, find_by_prefix
from runner.config import load_settings
from runner.env.choose import EnvChoice, choose_environment
from runner.env.store import EnvRecord, EnvStore
from runner.errors import EXIT_OK, UsageError
from runner.spec.load import load_spec


def add_env_commands(commands: Any) -> None:
    env = commands.add_parser("env", help="list, build and remove module environments")
    actions = env.add_subparsers(dest="env_command", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("ls", help="environments built so far")
    listing.add_argument("--json", action="store_true", help="print JSON")
    show = actions.add_parser("show", help="the environment a module would run in")
    build = actions.add_parser("build", help="build a module's environment now")
    for parser in (show, build):
        parser.add_argument("spec", metavar="SPEC")
        add_env_flags(parser)
    remove = actions.add_parser("rm", help="remove environments by fingerprint")
    remove.add_argument("fingerprints", nargs="+", metavar="FP")
    prune = actions.add_parser("prune", help="remove environments unused for a while")
    prune.add_argument("--older-than", default="30d", metavar="AGE", help="default 30d")
    for parser in (listing, show, build, remove, prune):
        add_cache_flags(parser)


def run_env_command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    store = EnvStore((args.cache_dir or default_cache_root(os.environ)) / "envs")
    return _ACTIONS[args.env_command](store, args, stdout, stderr)


def _ls(store: EnvStore, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    records = sorted(store.records(), key=store.last_used, reverse=True)
    if args.json:
        json.dump([_summary(store, r) for r in records], stdout, indent=2)
        stdout.write("\n")
        return EXIT_OK
    if not records:
        print(f"no environments built yet in {store.root}", file=stdout)
    for record in records:
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(store.last_used(record)))
        print(
            f"{record.backend:<6} {record.fingerprint}  {used}  {record.description}", file=stdout
        )
    return EXIT_OK


def _choice(args: argparse.Namespace) -> EnvChoice:
    spec = load_spec(args.spec)
    settings = load_settings(
        os.environ, env=args.env, ca_bundle=args.ca_bundle, strict_python=args.strict_python
    )
    return choose_environment(spec, settings, args.python)


def _show(store: EnvStore, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    choice = _choice(args)
    fingerprint = choice.backend.fingerprint(choice.request, store)
    record = store.record(choice.name, fingerprint)
    for note in choice.notes:
        print(f"note: {note}", file=stderr)
    print(f"backend:     {choice.name}", file=stdout)
    print(f"fingerprint: {fingerprint}", file=stdout)
    if record is None:
        built = "not built yet" if choice.name != "host" else "nothing to build"
        print(f"state:       {built}", file=stdout)
    else:
        print(f"state:       built ({record.description})", file=stdout)
        print(f"location:    {record.path}", file=stdout)
        print(f"build log:   {record.log}", file=stdout)
    return EXIT_OK


def _build(store: EnvStore, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    choice = _choice(args)
    for note in choice.notes:
        print(f"note: {note}", file=stderr)
    runtime = choice.backend.ensure(choice.request, store, stderr)
    where = runtime.image or runtime.location or runtime.python
    print(f"ready: {runtime.backend} {runtime.fingerprint} ({where})", file=stdout)
    return EXIT_OK


def _rm(store: EnvStore, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    for given in args.fingerprints:
        record = _find(store, given)
        _remove(store, record)
        print(f"removed {record.backend} {record.fingerprint}", file=stdout)
    return EXIT_OK


def _prune(store: EnvStore, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    try:
        horizon = time.time() - parse_age(args.older_than)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    pruned = [r for r in store.records() if store.last_used(r) < horizon]
    for record in pruned:
        _remove(store, record)
        print(f"removed {record.backend} {record.fingerprint} ({record.description})", file=stdout)
    leftovers = store.clean_tmp()
    print(f"pruned {len(pruned)} environments, {leftovers} unfinished builds", file=stdout)
    return EXIT_OK


def _remove(store: EnvStore, record: EnvRecord) -> None:
    if record.backend == "docker":
        from runner.env.docker import remove_image

        remove_image(record)
    store.remove(record.backend, record.fingerprint)


def _find(store: EnvStore, given: str) -> EnvRecord:
    return find_by_prefix(
        store.records(), lambda r: r.fingerprint, given, "environment", "runner env ls"
    )


def _summary(store: EnvStore, record: EnvRecord) -> dict[str, object]:
    return {
        "backend": record.backend,
        "fingerprint": record.fingerprint,
        "path": str(record.path),
        "description": record.description,
        "created_at": record.created_at,
        "last_used": store.last_used(record),
        "log": str(record.log),
    }


_ACTIONS: dict[str, Callable[[EnvStore, argparse.Namespace, TextIO, TextIO], int]] = {
    "ls": _ls,
    "show": _show,
    "build": _build,
    "rm": _rm,
    "prune": _prune,
}
