"""The one content digest used everywhere: xxh3-128 (see bench/bench_digest.py for the choice)."""

from __future__ import annotations

from pathlib import Path

import xxhash

CHUNK = 1 << 20
ALGORITHM = "xxh3-128"


def new_hasher() -> xxhash.xxh3_128:
    return xxhash.xxh3_128()


def hash_bytes(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def hash_text(text: str) -> str:
    return hash_bytes(text.encode("utf-8"))


def hash_file(path: Path) -> str:
    """Digest of a file's bytes, read in chunks so memory stays flat for huge files."""
    hasher = new_hasher()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()
