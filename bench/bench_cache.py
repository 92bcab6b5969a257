"""Cache hits against misses for a trivial module; a whole miss against running its script by
hand; and what an unchanged 1 GiB file and an unchanged 10,000-file folder add to a hit.

    python bench/bench_cache.py                  # 1 GiB input, 10,000 files, 10 rounds
    python bench/bench_cache.py --size-mib 64    # quick run

Prints medians and ratios measured in this run; asserts behaviour (a hit reads no input byte
and writes nothing to the module's history), never time. Bytecode is allowed to be written and
used, as users have it (PYTHONDONTWRITEBYTECODE is removed from the children's environment).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_tree import stat_walk  # the floor of any re-check, shared

import runner

SPEC = """\
$schema: http://azureml/sdk-2-0/CommandComponent.json
type: CommandComponent
name: trivial
version: 1
inputs:
  data: {type: AnyFile}
  salt: {type: Integer, default: 0}
outputs:
  out: {type: AnyDirectory}
command: python script.py {outputs.out} {inputs.salt}
"""
SCRIPT = "import sys; open(sys.argv[1] + '/done', 'w').write(sys.argv[2])\n"
FOLDER_SPEC = SPEC.replace("{type: AnyFile}", "{type: AnyDirectory}").replace("trivial", "folder")


def median_ms(action: Callable[[int], object], rounds: int) -> float:
    times = []
    for i in range(rounds):
        started = time.perf_counter()
        action(i)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def hashed_bytes(result: runner.RunResult) -> int:
    return int(json.loads((result.workdir / "run.json").read_text())["hashed_bytes"])


def settle(path: Path) -> None:
    """Give a just-written file an old mtime (not whole seconds) and let its ctime age past the
    stat memo's racy-write margin, as any input a user re-runs on would be."""
    os.utime(path, ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))
    time.sleep(0.3)


def write_folder(root: Path, count: int) -> None:
    """`count` files of 100 B to 8 KiB in 100 folders."""
    for index in range(count):
        folder = root / f"part-{index % 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"shard-{index:06d}.bin").write_bytes(os.urandom(100 + (index * 7919) % 8100))
    for path in root.rglob("*"):
        os.utime(path, ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))
    time.sleep(0.3)


def history_state(cache: Path) -> dict[str, tuple[int, int]]:
    """Every file of the history: path -> (inode, size); a rewrite changes the inode."""
    return {
        str(p): (p.stat().st_ino, p.stat().st_size)
        for p in (cache / "history").rglob("*")
        if p.is_file()
    }


def bench_folder(root: Path, count: int, rounds: int, hit_small: float) -> None:
    """A hit with an unchanged folder input: the re-check against a bare walk of it."""
    from runner.cache.state import StateDB
    from runner.run.key_inputs import input_part

    spec = root / "module" / "folder.yaml"
    spec.write_text(FOLDER_SPEC)
    settle(spec)
    folder = root / "folder"
    write_folder(folder, count)
    module = runner.load_module(spec)
    first = time.perf_counter()
    assert module.run(data=folder, quiet=True).ok
    first_ms = (time.perf_counter() - first) * 1000
    before = history_state(root / "cache")
    hit = median_ms(lambda i: module.run(data=folder, quiet=True), rounds)
    check = module.run(data=folder, quiet=True)
    assert check.cached and hashed_bytes(check) == 0, "a hit must not read the folder"
    assert history_state(root / "cache") == before, "a hit must not rewrite the history"
    walk = median_ms(lambda i: stat_walk(folder), rounds)
    with StateDB(root / "cache" / "state.db") as state:
        recheck = median_ms(lambda i: input_part(folder, state, "data"), rounds)
    print(f"unchanged folder of {count} files, median of {rounds}:")
    print(f"  first run (hashes it)            {first_ms:8.1f} ms")
    print(f"  bare scandir+lstat walk          {walk:8.1f} ms")
    print(f"  re-check of the input            {recheck:8.1f} ms   walk/re-check = "
          f"{walk / recheck:.2f}x, 0 bytes read")  # fmt: skip
    print(f"  cache hit                        {hit:8.1f} ms   added vs a 1 KiB input: "
          f"{hit - hit_small:+.1f} ms, history untouched")  # fmt: skip


def bench_process(spec: Path, small: Path, rounds: int) -> None:
    """Whole processes: a miss and a hit of `runner run`, against the module's script alone."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(RUNNER_ENV="host")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    out = spec.parent / "by-hand"
    out.mkdir()
    bare = [sys.executable, str(spec.parent / "script.py"), str(out), "1"]
    cli = [sys.executable, "-m", "runner", "run", str(spec), "-i", f"data={small}", "--quiet"]

    def run(argv: list[str]) -> None:
        subprocess.run(argv, check=True, capture_output=True, env=env)

    run(cli)
    by_hand = median_ms(lambda i: run(bare), rounds)
    cli_hit = median_ms(lambda i: run(cli), rounds)
    cli_miss = median_ms(lambda i: run([*cli, "-i", f"salt={5000 + i}"]), rounds)
    print(f"trivial module, whole process, median of {rounds}:")
    print(f"  `python script.py` by hand       {by_hand:8.1f} ms")
    print(f"  `runner run`, cache miss         {cli_miss:8.1f} ms   {cli_miss - by_hand:+.1f} ms")
    print(f"  `runner run`, cache hit          {cli_hit:8.1f} ms   miss/hit = "
          f"{cli_miss / cli_hit:.1f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the big input")
    parser.add_argument("--files", type=int, default=10_000, help="files in the folder input")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the inputs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        root = Path(scratch)
        os.environ["RUNNER_CACHE_DIR"] = str(root / "cache")
        os.environ["RUNNER_RUNS_DIR"] = str(root / "runs")
        (root / "module").mkdir()
        spec = root / "module" / "trivial.yaml"
        spec.write_text(SPEC)
        (root / "module" / "script.py").write_text(SCRIPT)
        settle(spec)
        settle(root / "module" / "script.py")
        small, big = root / "small.bin", root / "big.bin"
        small.write_bytes(b"x" * 1024)
        with big.open("wb") as stream:
            block = os.urandom(1 << 20)
            for _ in range(args.size_mib):
                stream.write(block)
        settle(small)
        settle(big)
        module = runner.load_module(spec)

        def run(data: Path, salt: int) -> runner.RunResult:
            result = module.run(data=data, salt=salt, quiet=True)
            assert result.ok, result.message
            return result

        # Misses: a new salt every round means a new key, so the module really runs.
        miss = median_ms(lambda i: run(small, 1000 + i), args.rounds)
        run(small, 0)
        hit = median_ms(lambda i: run(small, 0), args.rounds)
        assert run(small, 0).cached
        print(f"trivial module, in-process API, median of {args.rounds}:")
        print(f"  cache miss (runs the module)     {miss:8.1f} ms")
        print(f"  cache hit                        {hit:8.1f} ms   miss/hit = {miss / hit:.1f}x")

        first_big = time.perf_counter()
        run(big, 0)
        first_big_ms = (time.perf_counter() - first_big) * 1000
        settle(big)
        run(big, 0)
        hit_big = median_ms(lambda i: run(big, 0), args.rounds)
        check = run(big, 0)
        assert check.cached and hashed_bytes(check) == 0, "a hit must not read the big input"
        big.unlink()
        print(f"unchanged {args.size_mib} MiB input:")
        print(f"  first run (hashes it)            {first_big_ms:8.1f} ms")
        print(f"  cache hit                        {hit_big:8.1f} ms   added vs a 1 KiB input: "
              f"{hit_big - hit:+.1f} ms ({hit_big / hit:.2f}x), 0 bytes read")  # fmt: skip

        bench_folder(root, args.files, args.rounds, hit)
        bench_process(spec, small, min(args.rounds, 10))


if __name__ == "__main__":
    main()
