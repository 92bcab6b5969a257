"""What the stat memo saves: re-checking unchanged inputs through StateDB vs hashing them.

(a) one big file (1 GiB by default): hashing it (the baseline) vs a re-check through the memo,
    which must read none of its bytes (asserted);
(b) a directory of many small files (10,000 by default): hashing the tree vs a re-check through
    the memo (nothing read, asserted), with a bare scandir+lstat walk printed as the floor.

Each is re-checked two ways: file by file through the stat memo (`digest_path`, what publishing
uses), and as a run's input does it (`check_input`: the tree memo, one lookup for the whole
tree when not one stat changed).

Hashing reads from the page cache (the files were just written; dropping it needs root), so the
baseline is the fastest a re-hash can be: from disk it would be slower and the ratio larger.
Every ratio is against the baseline measured in the same run; nothing asserts on time.

    python bench/bench_tree.py                              # 1 GiB, 10,000 files
    python bench/bench_tree.py --size-mib 64 --files 2000   # quick run
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.cache.digest import TreeDigest, digest_path
from runner.cache.state import StateDB, is_racy
from runner.cache.trees import check_input

MIB = 1 << 20


def write_big(path: Path, size: int) -> None:
    block = os.urandom(min(size, 64 * MIB))
    with open(path, "wb") as stream:
        left = size
        while left:
            left -= stream.write(block[: min(left, len(block))])


def write_many(root: Path, count: int) -> int:
    """`count` files of 100 B to 8 KiB in 100 directories; returns the total size."""
    total = 0
    for index in range(count):
        folder = root / f"part-{index % 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        data = os.urandom(100 + (index * 7919) % 8100)
        (folder / f"shard-{index:06d}.bin").write_bytes(data)
        total += len(data)
    return total


def settle(root: Path) -> None:
    """Wait until every file is old enough to be memoised (see runner.cache.state.is_racy)."""
    stats = [root.stat()] if root.is_file() else [p.stat() for p in root.rglob("*")]
    while any(is_racy(st, time.time_ns()) for st in stats):
        time.sleep(0.05)


def timed(run: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def best(repeat: int, run: Callable[[], object]) -> float:
    return min(timed(run)[0] for _ in range(repeat))


def stat_walk(root: Path) -> int:
    """The floor of any re-check: list every directory and lstat every entry."""
    count = 0
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as listing:
            for entry in listing:
                entry.stat(follow_symlinks=False)
                count += 1
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return count


def check_warm(root: Path, db_path: Path) -> TreeDigest:
    with StateDB(db_path) as state:
        return digest_path(root, state)


def check_input_warm(root: Path, db_path: Path) -> None:
    with StateDB(db_path) as state:
        assert check_input(root, state).bytes_read == 0


def record_fresh(root: Path, db_path: Path) -> None:
    """Hash into a brand-new memo: a first run's cost."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    with StateDB(db_path) as state:
        digest_path(root, state)
        assert state.stats.recorded > 0 and state.stats.racy == 0, state.stats


def measure(label: str, root: Path, db_path: Path, repeat: int, floor: bool) -> None:
    settle(root)
    cold = best(repeat, lambda: digest_path(root))
    first = best(repeat, lambda: record_fresh(root, db_path))
    with StateDB(db_path) as state:
        warm = best(repeat, lambda: digest_path(root, state))
        result = digest_path(root, state)
        assert result.bytes_read == 0, result.bytes_read
        assert state.stats.misses == 0, state.stats
    reopened = best(repeat, lambda: check_warm(root, db_path))
    with StateDB(db_path) as state:
        check_input(root, state)  # records the tree
        as_input = best(repeat, lambda: check_input(root, state))
        assert check_input(root, state).bytes_read == 0
    as_input_reopened = best(repeat, lambda: check_input_warm(root, db_path))
    rows = [
        ("hash, no memo (baseline)", cold),
        ("hash + record, new memo", first),
        ("re-check file by file", warm),
        ("  incl. open/close", reopened),
        ("re-check as an input", as_input),
        ("  incl. open/close", as_input_reopened),
    ]
    if floor:
        rows.append(("bare scandir+lstat walk", best(repeat, lambda: stat_walk(root))))
    print(f"\n{label}")
    print(f"  {'':<28} {'seconds':>9} {'vs baseline':>12}")
    for name, seconds in rows:
        print(f"  {name:<28} {seconds:>9.4f} {cold / seconds:>11.1f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="big file size (default 1024)")
    parser.add_argument("--files", type=int, default=10_000, help="files in the tree (10,000)")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the inputs")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-tree-") as scratch:
        base = Path(scratch)
        big = base / "big.bin"
        write_big(big, args.size_mib * MIB)
        measure(f"(a) one {args.size_mib} MiB file", big, base / "a.db", args.repeat, False)
        big.unlink()
        tree = base / "tree"
        total = write_many(tree, args.files)
        label = f"(b) a tree of {args.files} files ({total / MIB:.1f} MiB)"
        measure(label, tree, base / "b.db", args.repeat, True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
