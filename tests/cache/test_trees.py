"""The tree memo: an unchanged input is re-checked from its stats alone, and any change to any
stat (a file rewritten with its size and mtime put back included) means a real check."""

from __future__ import annotations

import os
from pathlib import Path

from cache_helpers import settle

from runner.cache.digest import digest_path
from runner.cache.state import StateDB
from runner.cache.trees import check_input


def queries(state: StateDB) -> int:
    """Per-file memo lookups so far (hits and misses)."""
    return state.stats.hits + state.stats.misses


def test_an_unchanged_tree_is_one_lookup(tree: Path, state: StateDB) -> None:
    settle(tree)
    first = check_input(tree, state)
    assert first.bytes_read > 0
    assert first.digest == digest_path(tree).digest
    before = queries(state)
    again = check_input(tree, state)
    assert queries(state) == before  # not one file looked up: the tree memo answered
    assert (again.digest, again.bytes_read, again.single_file) == (first.digest, 0, False)
    assert dict(again.files) == dict(first.files)
    assert set(first.files) >= {"a.txt", "sub/b.bin", "sub/deep/c.txt", "run.sh", "sub"}


def test_a_file_rewritten_with_its_stamps_put_back_is_read(tree: Path, state: StateDB) -> None:
    settle(tree)
    first = check_input(tree, state)
    victim = tree / "sub" / "b.bin"
    before = victim.stat()
    data = bytearray(victim.read_bytes())
    data[100] ^= 1
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns))
    settle(tree)
    changed = check_input(tree, state)
    assert changed.digest != first.digest
    assert changed.bytes_read == len(data)  # that file only: the others are vouched for
    assert changed.digest == digest_path(tree).digest


def test_renames_additions_and_removals_are_seen(tree: Path, state: StateDB) -> None:
    settle(tree)
    digests = {check_input(tree, state).digest}
    (tree / "a.txt").rename(tree / "z.txt")
    digests.add(check_input(tree, state).digest)
    (tree / "new").mkdir()
    digests.add(check_input(tree, state).digest)
    (tree / "run.sh").unlink()
    digests.add(check_input(tree, state).digest)
    assert len(digests) == 4
    assert check_input(tree, state).digest == digest_path(tree).digest


def test_a_tree_just_written_is_not_memoised(tree: Path, state: StateDB) -> None:
    (tree / "a.txt").write_text("fresh\n")  # a same-tick rewrite could follow unseen
    check_input(tree, state)
    before = queries(state)
    check_input(tree, state)
    assert queries(state) > before  # checked file by file again


def test_a_single_file(tmp_path: Path, state: StateDB) -> None:
    path = tmp_path / "data.csv"
    path.write_text("x,y\n")
    settle(path)
    first = check_input(path, state)
    again = check_input(path, state)
    assert first.single_file and again.single_file
    assert dict(again.files) == {"": digest_path(path).files[0].digest}
    assert again.bytes_read == 0


def test_a_damaged_file_list_costs_only_the_names(tree: Path, state: StateDB) -> None:
    settle(tree)
    first = check_input(tree, state)
    state._conn.execute("UPDATE trees SET files = x'00ff'")  # type: ignore[union-attr]
    again = check_input(tree, state)
    assert again.digest == first.digest
    assert dict(again.files) == {}
