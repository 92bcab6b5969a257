"""Cache hits against misses for a trivial module, and what an unchanged 1 GiB input adds to a hit.

    python bench/bench_cache.py                  # 1 GiB input, 10 rounds
    python bench/bench_cache.py --size-mib 64    # quick run

Prints medians and ratios measured in this run; asserts behaviour (a hit reads no input byte),
never time.
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
command: >-
  python -c "import sys; open(sys.argv[1] + '/done', 'w').write(sys.argv[2])"
  {outputs.out} {inputs.salt}
"""


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the big input")
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
        settle(spec)
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

        first_big = time.perf_counter()
        run(big, 0)
        first_big_ms = (time.perf_counter() - first_big) * 1000
        settle(big)
        run(big, 0)
        hit_big = median_ms(lambda i: run(big, 0), args.rounds)
        check = run(big, 0)
        assert check.cached and hashed_bytes(check) == 0, "a hit must not read the big input"

        cli = [sys.executable, "-m", "runner", "run", str(spec), "-i", f"data={small}", "--quiet"]
        cli_hit = median_ms(lambda i: subprocess.run(cli, check=True, capture_output=True), 5)
        cli_miss = median_ms(
            lambda i: subprocess.run(
                [*cli, "-i", f"salt={5000 + i}"], check=True, capture_output=True
            ),
            5,
        )

    print(f"trivial module, in-process API, median of {args.rounds}:")
    print(f"  cache miss (runs the module)     {miss:8.1f} ms")
    print(f"  cache hit                        {hit:8.1f} ms   miss/hit = {miss / hit:.1f}x")
    print("trivial module, whole `runner run` process, median of 5:")
    print(f"  cache miss                       {cli_miss:8.1f} ms")
    ratio = cli_miss / cli_hit
    print(f"  cache hit                        {cli_hit:8.1f} ms   miss/hit = {ratio:.1f}x")
    print(f"unchanged {args.size_mib} MiB input:")
    print(f"  first run (hashes it)            {first_big_ms:8.1f} ms")
    print(
        f"  cache hit                        {hit_big:8.1f} ms   "
        f"added vs a 1 KiB input: {hit_big - hit:+.1f} ms ({hit_big / hit:.2f}x), 0 bytes read"
    )


if __name__ == "__main__":
    main()
