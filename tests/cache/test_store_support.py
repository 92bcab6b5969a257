"""Helpers for the store tests (no tests here): sample outputs, tree snapshots, child processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cache_helpers import settle, write

from runner.cache.store import CacheStore

KEY = "0123456789abcdef" * 2


def key(number: int) -> str:
    return f"{number:032x}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CacheStore]:
    with CacheStore(tmp_path / "cache") as opened:
        yield opened


def make_tree(root: Path, *, salt: str = "") -> Path:
    """An output folder with all the kinds: nested folders, an empty one, a link, an executable."""
    write(root / "a.txt", f"alpha{salt}\n")
    write(root / "sub" / "b.bin", bytes(range(256)) * 16 + salt.encode())
    write(root / "sub" / "deep" / "c.txt", f"gamma{salt}\n")
    write(root / "run.sh", f"#!/bin/sh\necho hi{salt}\n", executable=True)
    (root / "empty").mkdir()
    (root / "sub" / "to-a").symlink_to("../a.txt")
    return root


def snapshot(root: Path) -> dict[str, tuple[str, object]]:
    """Everything that matters about a tree: kinds, bytes, link targets, executable bits."""
    seen: dict[str, tuple[str, object]] = {}
    for parent, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(parent, name)
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                seen[rel] = ("link", str(path.readlink()))
            elif path.is_dir():
                seen[rel] = ("dir", None)
            else:
                seen[rel] = ("file", (path.read_bytes(), os.access(path, os.X_OK)))
    return seen


def objects_in(store: CacheStore) -> list[Path]:
    return sorted(p for p in store.layout.objects.rglob("*") if p.is_file())


def publish_tree(store: CacheStore, root: Path, entry_key: str = KEY, salt: str = "") -> Path:
    make_tree(root, salt=salt)
    settle(root)
    store.publish(entry_key, {"out": (root, "dir")}, {"part": 1}, {"module": "m"})
    return root


def run_child(script: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", script, *args])


def wait_for(path: Path, child: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if child.poll() is not None:
            raise AssertionError(f"child exited with {child.returncode} before {path.name}")
        if time.monotonic() > deadline:
            raise AssertionError(f"child never reached {path.name}")
        time.sleep(0.01)


# A publisher that stops for good at a named point (reached() is the store's seam for this).
CRASHING_PUBLISHER = """
import sys, time
from pathlib import Path
from runner.cache import publish
from runner.cache.store import CacheStore

root, key, output, point, marker = sys.argv[1:6]

def reached(name):
    if name == point:
        Path(marker).write_text(name)
        time.sleep(600)

publish.reached = reached
with CacheStore(Path(root)) as store:
    store.publish(key, {"out": (Path(output), "dir")}, {"part": 1}, {"module": "m"})
"""

# One of several identical runs: only the first to get the key runs the step.
SINGLE_FLIGHT_RUN = """
import os, sys, time
from pathlib import Path
from runner.cache.store import CacheStore

root, key, work, counter, go = sys.argv[1:6]
work = Path(work)
while not Path(go).exists():
    time.sleep(0.005)
with CacheStore(Path(root)) as store:
    with store.lock(key):
        entry = store.lookup(key)
        if entry is None:
            with open(counter, "a") as stream:
                stream.write(f"{os.getpid()}\\n")
            produced = work / "produced"
            produced.mkdir(parents=True)
            (produced / "data.txt").write_text("the answer\\n")
            time.sleep(0.3)
            entry = store.publish(key, {"out": (produced, "dir")}, {}, {})
    store.materialize(entry, {"out": work / "served"})
    (work / "result.txt").write_text((work / "served" / "data.txt").read_text())
"""

# Holds one key's lock until killed.
LOCK_HOLDER = """
import sys, time
from pathlib import Path
from runner.cache.store import CacheStore

root, key, marker = sys.argv[1:4]
with CacheStore(Path(root)) as store, store.lock(key):
    Path(marker).write_text("held")
    time.sleep(600)
"""

# Publishes one fresh entry after another, checking each comes back whole, then drops it.
BUSY_PUBLISHER = """
import sys
from pathlib import Path
from runner.cache.store import CacheStore

root, work, worker, rounds = sys.argv[1:5]
with CacheStore(Path(root)) as store:
    for number in range(int(rounds)):
        key = f"{int(worker):08x}{number:024x}"
        out = Path(work) / f"w{worker}-{number}"
        out.mkdir(parents=True)
        (out / "shared.txt").write_text("same in every entry\\n")
        (out / "own.txt").write_text(f"{worker}-{number}\\n")
        store.publish(key, {"out": (out, "dir")}, {}, {})
        entry = store.lookup(key)
        assert entry is not None, (key, store.problems)
        served = Path(work) / f"served-{worker}-{number}"
        store.materialize(entry, {"out": served})
        assert (served / "own.txt").read_text() == f"{worker}-{number}\\n"
        # Orphans its objects, so gc races this publisher for "shared.txt" every round.
        store.remove(key)
"""

# Collects garbage in a loop (nothing is old: only orphans and the sweep lock are exercised).
BUSY_COLLECTOR = """
import sys
from pathlib import Path
from runner.cache.store import CacheStore
from runner.cache.gc import collect, verify

root, stop = sys.argv[1:3]
with CacheStore(Path(root)) as store:
    while not Path(stop).exists():
        collect(store)
"""
