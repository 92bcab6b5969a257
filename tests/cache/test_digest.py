"""digest_path on real trees: what changes a digest, what does not, and what gets read."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from cache_helpers import settle, write

from runner.cache.digest import (
    FileDigest,
    TreeDigest,
    digest_path,
    record_produced,
    tree_digest,
)
from runner.cache.state import StateDB


def warm(root: Path, state: StateDB) -> TreeDigest:
    """Digest once with the files settled, so the memo holds every file."""
    settle(root)
    first = digest_path(root, state)
    assert state.stats.racy == 0
    return first


def test_unchanged_tree_is_not_read_again(tree: Path, state: StateDB) -> None:
    cold = warm(tree, state)
    again = digest_path(tree, state)
    assert cold.bytes_read == sum(f.size for f in cold.files if f.kind == "file") > 0
    assert again == TreeDigest(cold.digest, cold.files, 0)
    assert state.stats.hits == 4


def test_entries_are_sorted_relative_posix_paths(tree: Path) -> None:
    (tree / "empty").mkdir()
    entries = {f.relpath: f for f in digest_path(tree).files}
    assert list(entries) == sorted(entries)
    assert set(entries) == {"a.txt", "empty", "run.sh", "sub", "sub/b.bin", "sub/deep"} | {
        "sub/deep/c.txt"
    }
    assert entries["run.sh"].mode == 0o755
    assert entries["a.txt"] == FileDigest("a.txt", 6, 0o644, entries["a.txt"].digest)
    assert entries["empty"].kind == "dir"


def test_digest_is_the_same_without_a_memo(tree: Path, state: StateDB) -> None:
    assert warm(tree, state).digest == digest_path(tree).digest == digest_path(tree, state).digest


def test_changed_byte_changes_the_digest(tree: Path) -> None:
    before = digest_path(tree).digest
    data = bytearray((tree / "sub" / "b.bin").read_bytes())
    data[1000] ^= 1
    (tree / "sub" / "b.bin").write_bytes(bytes(data))
    assert digest_path(tree).digest != before


@pytest.mark.parametrize("change", ["add", "remove", "rename", "move", "add_empty_dir"])
def test_tree_shape_changes_the_digest(tree: Path, change: str) -> None:
    before = digest_path(tree).digest
    if change == "add":
        write(tree / "sub" / "new.txt", "")
    elif change == "remove":
        (tree / "sub" / "deep" / "c.txt").unlink()
    elif change == "rename":
        (tree / "a.txt").rename(tree / "A.txt")
    elif change == "move":
        (tree / "a.txt").rename(tree / "sub" / "a.txt")
    else:
        (tree / "sub" / "empty").mkdir()
    assert digest_path(tree).digest != before


def test_chmod_x_changes_the_digest(tree: Path) -> None:
    before = digest_path(tree).digest
    (tree / "a.txt").chmod(0o744)
    assert digest_path(tree).digest != before


def test_other_permission_bits_do_not_change_the_digest(tree: Path) -> None:
    before = digest_path(tree).digest
    (tree / "a.txt").chmod(0o600)
    assert digest_path(tree).digest == before


def test_touch_keeps_the_digest_and_reads_only_the_touched_file(tree: Path, state: StateDB) -> None:
    cold = warm(tree, state)
    (tree / "sub" / "deep" / "c.txt").touch()
    touched = digest_path(tree, state)
    # A new mtime/ctime cannot vouch for the content: that one file (6 bytes) is read again.
    assert touched.digest == cold.digest
    assert touched.bytes_read == 6
    settle(tree)
    digest_path(tree, state)  # memoises the touched file under its new stat
    assert digest_path(tree, state).bytes_read == 0


def test_size_change_with_mtime_put_back_is_detected(tree: Path, state: StateDB) -> None:
    cold = warm(tree, state)
    target = tree / "a.txt"
    old = target.stat()
    target.write_text("alpha, longer\n")
    os.utime(target, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert digest_path(tree, state).digest != cold.digest


def test_same_size_edit_with_mtime_put_back_is_detected_by_ctime(
    tree: Path, state: StateDB
) -> None:
    cold = warm(tree, state)
    target = tree / "a.txt"
    old = target.stat()
    target.write_text("ALPHA\n")
    os.utime(target, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert (target.stat().st_size, target.stat().st_mtime_ns) == (old.st_size, old.st_mtime_ns)
    assert digest_path(tree, state).digest != cold.digest


def test_replacement_by_rename_with_same_size_and_mtime_is_detected(
    tree: Path, state: StateDB, tmp_path: Path
) -> None:
    cold = warm(tree, state)
    target = tree / "a.txt"
    old = target.stat()
    replacement = write(tmp_path / "replacement", "ALPHA\n")
    os.utime(replacement, ns=(old.st_atime_ns, old.st_mtime_ns))
    replacement.replace(target)
    new = target.stat()
    assert (new.st_size, new.st_mtime_ns) == (old.st_size, old.st_mtime_ns)
    assert new.st_ino != old.st_ino
    assert digest_path(tree, state).digest != cold.digest


def test_moving_the_tree_keeps_digest_and_memo(tree: Path, state: StateDB, tmp_path: Path) -> None:
    cold = warm(tree, state)
    (tmp_path / "elsewhere").mkdir()
    moved = tree.rename(tmp_path / "elsewhere" / "renamed")
    again = digest_path(moved, state)
    # Files keep inode and ctime when a parent directory is renamed: nothing is read.
    assert again == TreeDigest(cold.digest, cold.files, 0)


def test_a_copy_of_the_tree_has_the_same_digest(tree: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(tree, tmp_path / "copy"))
    assert digest_path(copy).digest == digest_path(tree).digest


def test_single_file_digest_ignores_name_and_location(tmp_path: Path) -> None:
    one = write(tmp_path / "one.csv", "x,y\n1,2\n")
    two = write(tmp_path / "other" / "two.parquet", "x,y\n1,2\n")
    result = digest_path(one)
    assert result.files == (FileDigest("", 8, 0o644, result.files[0].digest),)
    assert digest_path(two).digest == result.digest
    two.chmod(0o755)
    assert digest_path(two).digest != result.digest


def test_file_and_directory_holding_it_differ(tmp_path: Path) -> None:
    file = write(tmp_path / "d" / "f", "content")
    assert digest_path(file).digest != digest_path(tmp_path / "d").digest


def test_entries_are_framed_unambiguously() -> None:
    # Naive concatenation of relpath + digest would make these two trees identical.
    left = (FileDigest("ab", 1, 0o644, "cd"),)
    right = (FileDigest("a", 1, 0o644, "bcd"),)
    assert tree_digest(left) != tree_digest(right)
    split = (FileDigest("a", 0, 0, "", "dir"), FileDigest("a/b", 1, 0o644, "00"))
    joined = (FileDigest("a/b", 1, 0o644, "00"),)
    assert tree_digest(split) != tree_digest(joined)


def test_link_inside_the_tree_is_digested_as_its_target(tree: Path, state: StateDB) -> None:
    (tree / "link").symlink_to("sub/deep/c.txt")
    cold = warm(tree, state)
    link = next(f for f in cold.files if f.relpath == "link")
    assert link.kind == "link"
    assert cold.bytes_read == sum(f.size for f in cold.files if f.kind == "file")
    (tree / "link").unlink()
    (tree / "link").symlink_to("a.txt")
    assert digest_path(tree, state).digest != cold.digest


def test_absolute_and_relative_links_to_the_same_place_agree(tmp_path: Path) -> None:
    relative = tmp_path / "rel"
    absolute = tmp_path / "abs"
    for root in (relative, absolute):
        write(root / "data" / "x", "x")
    (relative / "l").symlink_to("data/x")
    (absolute / "l").symlink_to(absolute / "data" / "x")
    assert digest_path(relative).digest == digest_path(absolute).digest


def test_link_leading_outside_is_followed(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside" / "weights.bin", "v1")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "weights.bin").symlink_to(outside)
    (tree / "shared").symlink_to(outside.parent)
    before = digest_path(tree)
    kinds = {f.relpath: f.kind for f in before.files}
    assert kinds == {"weights.bin": "file", "shared": "dir", "shared/weights.bin": "file"}
    outside.write_text("v2")
    assert digest_path(tree).digest != before.digest


def test_dangling_link_is_digested_by_its_target_string(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "gone").symlink_to("/nonexistent/one")
    first = digest_path(tree)
    assert [f.kind for f in first.files] == ["link"]
    (tree / "gone").unlink()
    (tree / "gone").symlink_to("/nonexistent/two")
    assert digest_path(tree).digest != first.digest


def test_symlink_cycles_terminate(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    outside = tmp_path / "outside"
    write(outside / "f", "f")
    (outside / "self").symlink_to(".")
    (outside / "parent").symlink_to("..")
    (outside / "back").symlink_to(tree)
    write(tree / "a" / "g", "g")
    (tree / "a" / "up").symlink_to("..")
    (tree / "out").symlink_to(outside)
    result = digest_path(tree)
    kinds = {f.relpath: f.kind for f in result.files}
    assert kinds["a/up"] == kinds["out/self"] == kinds["out/back"] == "link"
    assert kinds["out/f"] == "file"
    # `parent` leads to tmp_path, which holds `outside` again: that is where the loop closes.
    assert kinds["out/parent/outside"] == "link"


def test_symlink_loops_terminate(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "ping").symlink_to("pong")
    (tree / "pong").symlink_to("ping")
    (tmp_path / "l1").symlink_to("l2")
    (tmp_path / "l2").symlink_to("l1")
    (tree / "out").symlink_to(tmp_path / "l1")
    kinds = {f.relpath: f.kind for f in digest_path(tree).files}
    assert kinds == {"ping": "link", "pong": "link", "out": "link"}


def test_link_target_that_is_not_utf8(tmp_path: Path) -> None:
    if sys.platform == "darwin":
        pytest.skip("APFS refuses non-UTF-8 names")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "l").symlink_to(os.fsdecode(b"/nonexistent/caf\xe9"))
    (entry,) = digest_path(tree).files
    assert entry.kind == "link"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_listed_and_never_opened(tree: Path) -> None:
    os.mkfifo(tree / "pipe")
    entries = {f.relpath: f for f in digest_path(tree).files}
    assert entries["pipe"] == FileDigest("pipe", 0, 0, "", "special")


def test_unreadable_names_are_digested(tmp_path: Path) -> None:
    if sys.platform == "darwin":
        pytest.skip("APFS refuses non-UTF-8 names")
    tree = tmp_path / "tree"
    tree.mkdir()
    (Path(os.fsdecode(bytes(tree) + b"/caf\xe9"))).write_text("x")
    (entry,) = digest_path(tree).files
    assert entry.relpath == os.fsdecode(b"caf\xe9")


def test_fresh_files_are_not_memoised_until_they_settle(tmp_path: Path, state: StateDB) -> None:
    root = write(tmp_path / "out.txt", "just written")
    first = digest_path(root, state)
    assert (state.stats.racy, state.stats.recorded) == (1, 0)
    assert digest_path(root, state).bytes_read == first.bytes_read == 12
    settle(root)
    assert record_produced(root, state).bytes_read == 12
    assert digest_path(root, state).bytes_read == 0


def test_record_produced_lets_downstream_skip_reading(tree: Path, state: StateDB) -> None:
    settle(tree)
    produced = record_produced(tree, state)
    assert state.stats.recorded == 4
    assert digest_path(tree, state) == TreeDigest(produced.digest, produced.files, 0)


def test_memo_survives_reopening(tree: Path, tmp_path: Path) -> None:
    with StateDB(tmp_path / "s.db") as first:
        cold = warm(tree, first)
    with StateDB(tmp_path / "s.db") as second:
        assert digest_path(tree, second) == TreeDigest(cold.digest, cold.files, 0)
        assert second.stats.bytes_read == 0


def test_many_files_warm_check_reads_nothing(tmp_path: Path, state: StateDB) -> None:
    root = tmp_path / "many"
    for index in range(500):
        write(root / f"d{index % 7}" / f"f{index}", str(index))
    cold = warm(root, state)
    assert digest_path(root, state) == TreeDigest(cold.digest, cold.files, 0)
    assert state.stats.hits == 500
