"""`runner cache ls | show | rm | verify | gc`: look into and manage the result cache."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any, TextIO

from runner.cache.gc import collect, verify
from runner.cache.location import default_cache_root
from runner.cache.store import CacheStore, Entry
from runner.cache.units import parse_age, parse_size
from runner.cli.common import add_cache_flags, find_by_prefix
from runner.errors import EXIT_MODULE_FAILED, EXIT_OK, UsageError


def add_cache_commands(commands: Any) -> None:
    cache = commands.add_parser("cache", help="look into and manage the result cache")
    actions = cache.add_subparsers(dest="cache_command", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("ls", help="list cache entries, most recent first")
    listing.add_argument("--json", action="store_true", help="print JSON")
    show = actions.add_parser("show", help="one entry: its outputs and key parts")
    show.add_argument("key", metavar="KEY", help="a key, or a unique prefix of one")
    remove = actions.add_parser("rm", help="remove entries")
    remove.add_argument("keys", nargs="+", metavar="KEY")
    actions.add_parser("verify", help="re-hash every object; drop damaged entries")
    gc = actions.add_parser("gc", help="drop old or least recently used entries, then garbage")
    gc.add_argument("--max-size", metavar="SIZE", help="keep the cache under SIZE (e.g. 10G)")
    gc.add_argument("--older-than", metavar="AGE", help="drop entries unused for AGE (e.g. 30d)")
    for parser in (listing, show, remove, actions.choices["verify"], gc):
        add_cache_flags(parser)


def run_cache_command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    root = args.cache_dir or default_cache_root(os.environ)
    with CacheStore(root) as store:
        handler = _ACTIONS[args.cache_command]
        code = handler(store, args, stdout)
        for problem in store.problems:
            print(f"warning: {problem}", file=stderr)
        return code


def _ls(store: CacheStore, args: argparse.Namespace, stdout: TextIO) -> int:
    entries = sorted(store.entries(), key=lambda entry: entry.created_at, reverse=True)
    if args.json:
        json.dump([_summary(entry) for entry in entries], stdout, indent=2)
        stdout.write("\n")
        return EXIT_OK
    if not entries:
        print(f"the cache at {store.root} is empty", file=stdout)
        return EXIT_OK
    for entry in entries:
        made = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.created_at))
        module = entry.meta.get("module", "?")
        print(f"{entry.key}  {made}  {_size(entry.size):>9}  {module}", file=stdout)
    total = sum(entry.size for entry in entries)
    print(f"{len(entries)} entries, {_size(total)} in {store.root}", file=stdout)
    return EXIT_OK


def _show(store: CacheStore, args: argparse.Namespace, stdout: TextIO) -> int:
    entry = _find(store, args.key)
    data = {**_summary(entry), "parts": dict(entry.parts)}
    data["outputs"] = {
        name: {"kind": record.kind, "digest": record.digest, "files": len(record.files)}
        for name, record in entry.outputs.items()
    }
    json.dump(data, stdout, indent=2)
    stdout.write("\n")
    return EXIT_OK


def _rm(store: CacheStore, args: argparse.Namespace, stdout: TextIO) -> int:
    for given in args.keys:
        key = _find(store, given).key
        store.remove(key)
        print(f"removed {key}", file=stdout)
    return EXIT_OK


def _verify(store: CacheStore, args: argparse.Namespace, stdout: TextIO) -> int:
    report = verify(store)
    print(
        f"checked {report.entries} entries, {report.objects} objects "
        f"({_size(report.bytes_read)} read)",
        file=stdout,
    )
    for damage in report.damaged:
        print(f"damaged: {damage}", file=stdout)
    for digest in report.corrupt:
        print(f"corrupt object deleted: {digest}", file=stdout)
    if report.orphans:
        print(f"{report.orphans} unreferenced objects ({_size(report.orphan_bytes)}): "
              "`runner cache gc` removes them", file=stdout)  # fmt: skip
    return EXIT_OK if report.ok else EXIT_MODULE_FAILED


def _gc(store: CacheStore, args: argparse.Namespace, stdout: TextIO) -> int:
    try:
        max_size = parse_size(args.max_size) if args.max_size is not None else None
        older_than = parse_age(args.older_than) if args.older_than is not None else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    report = collect(store, max_size=max_size, older_than=older_than)
    print(
        f"removed {len(report.removed)} entries and {report.objects_removed} objects, "
        f"freed {_size(report.bytes_freed)}; the cache now holds {_size(report.size)}",
        file=stdout,
    )
    if not report.swept:
        print("the store was busy: unreferenced objects were left for next time", file=stdout)
    return EXIT_OK


def _find(store: CacheStore, given: str) -> Entry:
    return find_by_prefix(store.entries(), lambda e: e.key, given, "cache entry", "runner cache ls")


def _summary(entry: Entry) -> dict[str, object]:
    return {
        "key": entry.key,
        "created_at": entry.created_at,
        "size": entry.size,
        "meta": dict(entry.meta),
        "outputs": sorted(entry.outputs),
    }


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


_ACTIONS: dict[str, Callable[[CacheStore, argparse.Namespace, TextIO], int]] = {
    "ls": _ls,
    "show": _show,
    "rm": _rm,
    "verify": _verify,
    "gc": _gc,
}
