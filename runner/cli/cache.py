"""`runner cache ls | show | rm | verify | gc`: look into and manage the result cache.

The cache folder holds the results and the environments built for them (`envs/`): sizes and
`gc` count both, as `du` of the folder would.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import TextIO

from runner.cache.gc import collect, verify
from runner.cache.location import default_cache_root
from runner.cache.store import CacheStore, Entry
from runner.cache.units import parse_age, parse_size
from runner.cli.cache_show import entry_json, entry_summary, entry_text
from runner.cli.common import add_cache_flags, find_by_prefix
from runner.cli.output import emit_json, local_time, plural, size_text, table
from runner.cli.parser import action, actions, add_json, describe
from runner.cli.usage import EnvUsage, env_usage, remove_environment
from runner.env.store import EnvStore
from runner.errors import EXIT_MODULE_FAILED, EXIT_OK, UsageError
from runner.spec.memo import clear as clear_parse_memo


def configure(parser: argparse.ArgumentParser) -> None:
    describe(parser, ["runner cache ls", "runner cache gc --max-size 10G --older-than 30d"])
    group = actions(parser)
    listing = action(
        group,
        "ls",
        "list cache entries, most recent first",
        _ls,
        ["runner cache ls", "runner cache ls --json | jq -r '.entries[].key'"],
    )
    show = action(
        group,
        "show",
        "one entry: its module, outputs and key parts",
        _show,
        ["runner cache show 3f2a", "runner cache show 3f2a --json"],
    )
    show.add_argument("key", metavar="KEY", help="a key, or a unique prefix of one (4+ chars)")
    remove = action(
        group,
        "rm",
        "remove entries (their files go at the next gc)",
        _rm,
        ["runner cache rm 3f2a 9c01"],
    )
    remove.add_argument(
        "keys", nargs="+", metavar="KEY", help="keys, or unique prefixes of them (4+ chars)"
    )
    check = action(
        group,
        "verify",
        "re-hash every object; drop damaged entries",
        _verify,
        ["runner cache verify"],
        [(0, "every entry is sound"), (1, "damage was found (and dropped)")],
    )
    gc = action(
        group,
        "gc",
        "drop old or least recently used entries and environments, then unused files",
        _gc,
        ["runner cache gc", "runner cache gc --max-size 10G", "runner cache gc --older-than 30d"],
    )
    gc.add_argument(
        "--max-size", metavar="SIZE", help="keep results + environments under SIZE (e.g. 10G)"
    )
    gc.add_argument(
        "--older-than", metavar="AGE", help="drop what was unused for AGE (e.g. 30d, 12h)"
    )
    for sub in (listing, show, remove, check, gc):
        add_json(sub)
        add_cache_flags(sub)


def _open(args: argparse.Namespace) -> CacheStore:
    root: Path = args.cache_dir or default_cache_root(os.environ)
    return CacheStore(root)


def _warn(store: CacheStore, stderr: TextIO) -> None:
    for problem in store.problems:
        print(f"warning: {problem}", file=stderr)


def _ls(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    with _open(args) as store:
        entries = sorted(store.entries(), key=lambda entry: entry.created_at, reverse=True)
        envs = env_usage(EnvStore(store.root / "envs"))
        _warn(store, stderr)
    size = sum(e.size for e in entries)
    env_size = sum(u.size for u in envs)
    if args.json:
        emit_json(stdout, {
            "root": str(store.root),
            "entries": [entry_summary(entry) for entry in entries],
            "size": size,
            "environments": {"count": len(envs), "size": env_size},
            "total_size": size + env_size,
        })  # fmt: skip
        return EXIT_OK
    if entries:
        rows = [[e.key, local_time(e.created_at), size_text(e.size), _module(e)] for e in entries]
        print(table(["KEY", "CREATED", "SIZE", "MODULE"], rows), file=stdout)
    else:
        print(f"no cache entries in {store.root}", file=stdout)
    print(
        f"{plural(len(entries), 'entry', 'entries')} ({size_text(size)}) and "
        f"{plural(len(envs), 'environment')} ({size_text(env_size)}): "
        f"{size_text(size + env_size)} in {store.root}",
        file=stdout,
    )
    return EXIT_OK


def _show(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    with _open(args) as store:
        entry = _find(store, args.key)
        _warn(store, stderr)
    if args.json:
        emit_json(stdout, entry_json(entry))
    else:
        print(entry_text(entry), file=stdout)
    return EXIT_OK


def _rm(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    removed = []
    with _open(args) as store:
        for given in args.keys:
            key = _find(store, given).key
            store.remove(key)
            removed.append(key)
            if not args.json:
                print(f"removed {key}", file=stdout)
        _warn(store, stderr)
    if args.json:
        emit_json(stdout, {"removed": removed})
    return EXIT_OK


def _verify(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    with _open(args) as store:
        report = verify(store)
        _warn(store, stderr)
    if args.json:
        emit_json(stdout, {
            "ok": report.ok,
            "entries": report.entries,
            "objects": report.objects,
            "bytes_read": report.bytes_read,
            "damaged": list(report.damaged),
            "removed": list(report.removed),
            "corrupt": list(report.corrupt),
            "orphans": report.orphans,
            "orphan_bytes": report.orphan_bytes,
        })  # fmt: skip
        return EXIT_OK if report.ok else EXIT_MODULE_FAILED
    print(
        f"checked {report.entries} entries, {report.objects} objects "
        f"({size_text(report.bytes_read)} read)",
        file=stdout,
    )
    for damage in report.damaged:
        print(f"damaged: {damage}", file=stdout)
    for digest in report.corrupt:
        print(f"corrupt object deleted: {digest}", file=stdout)
    if report.orphans:
        print(f"{report.orphans} unreferenced objects ({size_text(report.orphan_bytes)}): "
              "`runner cache gc` removes them", file=stdout)  # fmt: skip
    return EXIT_OK if report.ok else EXIT_MODULE_FAILED


def _gc(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    try:
        max_size = parse_size(args.max_size) if args.max_size is not None else None
        older_than = parse_age(args.older_than) if args.older_than is not None else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    with _open(args) as store:
        env_store = EnvStore(store.root / "envs")
        envs = env_usage(env_store)
        doomed, budget = _evicted(store.entries(), envs, max_size, older_than)
        report = collect(store, max_size=budget, older_than=older_than)
        for usage in doomed:
            remove_environment(env_store, usage.record)
        env_store.clean_tmp()
        memo_freed = clear_parse_memo(store.root)
        _warn(store, stderr)
    env_left = sum(u.size for u in envs if u not in doomed)
    env_freed = sum(u.size for u in doomed)
    freed = report.bytes_freed + env_freed + memo_freed
    if args.json:
        emit_json(stdout, {
            "removed": list(report.removed),
            "kept_busy": list(report.kept),
            "objects_removed": report.objects_removed,
            "environments_removed": [u.record.fingerprint for u in doomed],
            "bytes_freed": freed,
            "size": report.size + env_left,
            "swept": report.swept,
        })  # fmt: skip
        return EXIT_OK
    print(
        f"removed {plural(len(report.removed), 'entry', 'entries')}, "
        f"{plural(report.objects_removed, 'object')} and "
        f"{plural(len(doomed), 'environment')}, freed {size_text(freed)};"
        f" the cache now holds {size_text(report.size + env_left)}",
        file=stdout,
    )
    if not report.swept:
        print("the store was busy: unreferenced objects were left for next time", file=stdout)
    return EXIT_OK


def _evicted(
    entries: list[Entry], envs: list[EnvUsage], max_size: int | None, older_than: float | None
) -> tuple[list[EnvUsage], int | None]:
    """The environments to remove, and the size the results may keep: environments unused
    for `older_than`, then, results and environments on one least-recently-used timeline,
    everything older than the point where the total passes `max_size`."""
    horizon = time.time() - older_than if older_than is not None else None
    doomed = [u for u in envs if horizon is not None and u.last_used < horizon]
    if max_size is None:
        return doomed, None
    live_entries = [e for e in entries if horizon is None or e.last_used >= horizon]
    # A docker environment's image is in the engine, not in this folder: it does not count.
    timeline: list[tuple[float, int, EnvUsage | None]] = [
        *((e.last_used, e.size, None) for e in live_entries),
        *(
            (u.last_used, u.size, u)
            for u in envs
            if u not in doomed and u.record.backend != "docker"
        ),
    ]
    timeline.sort(key=lambda item: item[0], reverse=True)
    total, entries_budget, full = 0, 0, False
    for _, size, usage in timeline:
        full = full or total + size > max_size
        if full:
            if usage is not None:
                doomed.append(usage)
            continue
        total += size
        if usage is None:
            entries_budget += size
    return doomed, entries_budget


def _find(store: CacheStore, given: str) -> Entry:
    return find_by_prefix(store.entries(), lambda e: e.key, given, "cache entry", "runner cache ls")


def _module(entry: Entry) -> str:
    return str(entry.meta.get("module", "?"))
