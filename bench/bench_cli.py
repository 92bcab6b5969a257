"""The command line's own start-up: `runner --version`, `runner --help` and bare `runner` (which
import no command module and build no parser), and a light command for comparison, each against
`python -c pass` with the same interpreter.

    python bench/bench_cli.py             # 30 paired rounds
    python bench/bench_cli.py --rounds 60

Runs are paired: every round runs the baseline and then each command, so that a load change
on the machine hits both; the figure is the median over rounds of (command - baseline). The
target of issue 9 is at most 40 ms more than `python -c pass` for `--help` and `--version`.
Bytecode is on (PYTHONDONTWRITEBYTECODE is removed from the children's environment), as users
have it. Asserts behaviour (exit codes), never time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# What the `runner` console script does, with this very interpreter.
ENTRY = "import sys; from runner.cli.main import main; sys.exit(main())"
COMMANDS: dict[str, tuple[list[str], int]] = {
    "runner --version": (["--version"], 0),
    "runner --help": (["--help"], 0),
    "runner (bare: the list, exit 2)": ([], 2),
    "runner runs ls (a light command)": (["runs", "ls", "--runs-dir", "/nonexistent"], 0),
    "runner validate SPEC": (["validate", str(REPO / "samples/sar/modules/sar_train.yaml")], 0),
}
TARGET_MS = 40.0


def timed(argv: list[str], env: dict[str, str], expected: int) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != expected:
        raise SystemExit(f"{argv} exited {done.returncode}:\n{done.stderr.decode()[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    baseline = [sys.executable, "-c", "pass"]
    argvs = {name: ([sys.executable, "-c", ENTRY, *argv], code) for name, (argv, code) in
             COMMANDS.items()}  # fmt: skip
    for argv, code in argvs.values():  # bytecode written, files in the page cache
        timed(argv, env, code)
    base: list[float] = []
    deltas: dict[str, list[float]] = {name: [] for name in argvs}
    for _ in range(args.rounds):
        reference = timed(baseline, env, 0)
        base.append(reference)
        for name, (argv, code) in argvs.items():
            deltas[name].append(timed(argv, env, code) - reference)
    print(f"python {sys.version.split()[0]}, {args.rounds} paired rounds, bytecode on "
          "(PYTHONDONTWRITEBYTECODE unset for the children)")  # fmt: skip
    print(f"  {'python -c pass (baseline)':<36} {statistics.median(base) * 1000:7.1f} ms")
    for name, values in deltas.items():
        delta = statistics.median(values) * 1000
        mark = ""
        if name in ("runner --version", "runner --help"):
            mark = f"   target <= +{TARGET_MS:.0f} ms: {'met' if delta <= TARGET_MS else 'MISSED'}"
        print(f"  {name:<36} +{delta:6.1f} ms over the baseline{mark}")


if __name__ == "__main__":
    main()
