"""`runner env ls | show SPEC | build SPEC | rm FP | prune`: the environments runner built."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import TextIO

from runner.cache.location import default_cache_root
from runner.cache.units import parse_age
from runner.cli.common import (
    add_cache_flags,
    add_env_flags,
    add_spec_argument,
    find_by_prefix,
    load_spec_warned,
)
from runner.cli.notes import notes_cache, print_notes
from runner.cli.output import emit_json, local_time, size_text, table
from runner.cli.parser import action, actions, add_json, add_quiet, add_verbose, describe
from runner.cli.usage import EnvUsage, env_usage, remove_environment, tree_size
from runner.clock import iso
from runner.config import load_settings
from runner.env.choose import EnvChoice, choose_environment
from runner.env.store import EnvRecord, EnvStore
from runner.errors import EXIT_OK, UsageError
from runner.struct import replace

SPEC_EXAMPLE = "samples/sar/modules/sar_train.yaml"


def configure(parser: argparse.ArgumentParser) -> None:
    describe(parser, ["runner env ls", f"runner env build {SPEC_EXAMPLE}"])
    group = actions(parser)
    listing = action(
        group,
        "ls",
        "environments built so far, most recently used first",
        _ls,
        ["runner env ls", "runner env ls --json | jq '.environments[].size'"],
    )
    show = action(
        group,
        "show",
        "the environment a module would run in",
        _show,
        [f"runner env show {SPEC_EXAMPLE}", "runner env show SPEC --env docker"],
    )
    build = action(
        group,
        "build",
        "build a module's environment now",
        _build,
        [f"runner env build {SPEC_EXAMPLE}", "runner env build SPEC -v --env docker"],
    )
    for sub in (show, build):
        add_spec_argument(sub)
        add_env_flags(sub)
    add_quiet(build, "the build's announcement")
    add_verbose(build)
    remove = action(
        group, "rm", "remove environments by fingerprint", _rm, ["runner env rm 1a2b3c4d"]
    )
    remove.add_argument(
        "fingerprints", nargs="+", metavar="FP", help="fingerprints, or unique prefixes (4+ chars)"
    )
    prune = action(
        group,
        "prune",
        "remove environments unused for a while",
        _prune,
        ["runner env prune", "runner env prune --older-than 7d"],
    )
    prune.add_argument("--older-than", default="30d", metavar="AGE", help="default 30d")
    for sub in (listing, show, build, remove, prune):
        add_json(sub)
        add_cache_flags(sub)


def _store(args: argparse.Namespace) -> EnvStore:
    root: Path = args.cache_dir or default_cache_root(os.environ)
    return EnvStore(root / "envs")


def _ls(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    store = _store(args)
    usages = env_usage(store)
    if args.json:
        emit_json(stdout, {
            "root": str(store.root),
            "environments": [_summary(u.record, u.last_used, u.size) for u in usages],
            "size": sum(u.size for u in usages),
        })  # fmt: skip
        return EXIT_OK
    if not usages:
        print(f"no environments built yet in {store.root}", file=stdout)
        return EXIT_OK
    rows = [_row(usage) for usage in usages]
    print(table(["BACKEND", "FINGERPRINT", "LAST USED", "SIZE", "DESCRIPTION"], rows), file=stdout)
    return EXIT_OK


def _row(usage: EnvUsage) -> list[str]:
    record = usage.record
    size = "(image)" if record.backend == "docker" else size_text(usage.size)
    return [record.backend, record.fingerprint, local_time(usage.last_used), size,
            record.description]  # fmt: skip


def _choice(args: argparse.Namespace, stderr: TextIO) -> EnvChoice:
    spec = load_spec_warned(args, stderr)
    settings = load_settings(
        os.environ, env=args.env, ca_bundle=args.ca_bundle, strict_python=args.strict_python
    )
    choice = choose_environment(spec, settings, args.python)
    print_notes(choice.notes, stderr, notes_cache(args))
    return choice


def _show(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    store = _store(args)
    choice = _choice(args, stderr)
    fingerprint = choice.backend.fingerprint(choice.request, store)
    record = store.record(choice.name, fingerprint)
    if args.json:
        emit_json(stdout, {
            "backend": choice.name,
            "fingerprint": fingerprint,
            "built": record is not None,
            "environment": (
                _summary(record, store.last_used(record), tree_size(record.path))
                if record else None
            ),
            "notes": list(choice.notes),
        })  # fmt: skip
        return EXIT_OK
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


def _build(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    store = _store(args)
    choice = _choice(args, stderr)
    request = replace(choice.request, verbose=args.verbose)
    runtime = choice.backend.ensure(request, store, None if args.quiet else stderr)
    where = runtime.image or runtime.location or runtime.python
    if args.json:
        emit_json(stdout, {
            "backend": runtime.backend,
            "fingerprint": runtime.fingerprint,
            "location": str(runtime.location) if runtime.location else None,
            "image": runtime.image,
            "python": runtime.python,
            "notes": list(choice.notes),
        })  # fmt: skip
    else:
        print(f"ready: {runtime.backend} {runtime.fingerprint} ({where})", file=stdout)
    return EXIT_OK


def _rm(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    store = _store(args)
    removed = []
    for given in args.fingerprints:
        record = _find(store, given)
        remove_environment(store, record)
        removed.append(record.fingerprint)
        if not args.json:
            print(f"removed {record.backend} {record.fingerprint}", file=stdout)
    if args.json:
        emit_json(stdout, {"removed": removed})
    return EXIT_OK


def _prune(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    try:
        horizon = time.time() - parse_age(args.older_than)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    store = _store(args)
    pruned = [r for r in store.records() if store.last_used(r) < horizon]
    for record in pruned:
        remove_environment(store, record)
        if not args.json:
            print(f"removed {record.backend} {record.fingerprint} ({record.description})",
                  file=stdout)  # fmt: skip
    leftovers = store.clean_tmp()
    if args.json:
        emit_json(stdout, {"removed": [r.fingerprint for r in pruned], "unfinished": leftovers})
    else:
        print(f"pruned {len(pruned)} environments, {leftovers} unfinished builds", file=stdout)
    return EXIT_OK


def _find(store: EnvStore, given: str) -> EnvRecord:
    return find_by_prefix(
        store.records(), lambda r: r.fingerprint, given, "environment", "runner env ls"
    )


def _summary(record: EnvRecord, last_used: float, size: int) -> dict[str, object]:
    return {
        "backend": record.backend,
        "fingerprint": record.fingerprint,
        "path": str(record.path),
        "description": record.description,
        "created_at": iso(record.created_at),
        "last_used": iso(last_used),
        "size": size,
        "log": str(record.log),
    }
