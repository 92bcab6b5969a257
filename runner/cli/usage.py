"""Disk usage of the environments runner built, for `cache ls|gc` and `env ls`.

A venv or conda prefix is a folder in the store: its size is that of its files, each inode
counted once. A docker environment's image lives in the engine; its size is not counted here.
"""

from __future__ import annotations

import os
from pathlib import Path

from runner.env.store import EnvRecord, EnvStore
from runner.struct import Struct


class EnvUsage(Struct):
    record: EnvRecord
    last_used: float
    size: int


def tree_size(root: Path) -> int:
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = [str(root)]
    while stack:
        try:
            with os.scandir(stack.pop()) as found:
                for item in found:
                    if item.is_dir(follow_symlinks=False):
                        stack.append(item.path)
                    elif item.is_file(follow_symlinks=False):
                        st = item.stat(follow_symlinks=False)
                        if (st.st_dev, st.st_ino) not in seen:
                            seen.add((st.st_dev, st.st_ino))
                            total += st.st_size
        except OSError:
            continue  # removed meanwhile, or unreadable: not ours to count
    return total


def env_usage(store: EnvStore) -> list[EnvUsage]:
    """Every environment built, most recently used first."""
    found = [EnvUsage(r, store.last_used(r), tree_size(r.path)) for r in store.records()]
    return sorted(found, key=lambda usage: usage.last_used, reverse=True)


def remove_environment(store: EnvStore, record: EnvRecord) -> None:
    if record.backend == "docker":
        from runner.env.docker import remove_image  # the docker SDK, only for an image

        remove_image(record)
    store.remove(record.backend, record.fingerprint)
