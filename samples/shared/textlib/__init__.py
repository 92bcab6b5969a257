"""Tiny text helpers shared by several modules (copied into snapshots by additional includes)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# Apostrophes stay inside words so that "don't" is not counted as "don" + "t".
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def tokenize(text: str, min_length: int = 1) -> list[str]:
    """Lowercase words of at least `min_length` letters, in order of appearance."""
    return [w for w in _WORD.findall(text.lower()) if len(w) >= min_length]


def read_word_list(text: str) -> set[str]:
    """One word per line; blank lines and `#` comments are ignored."""
    words = (line.split("#", 1)[0].strip().lower() for line in text.splitlines())
    return {w for w in words if w}


def top_counts(words: Iterable[str], n: int) -> list[tuple[str, int]]:
    """The `n` most frequent words; ties broken alphabetically so output is deterministic."""
    counts = Counter(words)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]
