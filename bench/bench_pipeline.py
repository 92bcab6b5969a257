"""Pipelines: the SAR sample's cached re-run against its first run, and runner's own cost per
step on chains of trivial steps (`python -c pass`), cached and executed, up to 1,000 steps.

    python bench/bench_pipeline.py                       # SAR + chains of 1, 20, 100, 1000 steps
    python bench/bench_pipeline.py --skip-sar --steps 20 100

Every figure is a whole `runner pipeline run` process, the best of the rounds (the machine may
be shared: the minimum is what the work itself costs). A step's cost is the slope between a
chain of N steps and a chain of 1 (so the process's start-up is not counted); an executed
step's overhead is that slope less what its child costs alone (`python -c pass`, measured in
the same run). Prints times and ratios measured in this run; asserts behaviour (every step of
a re-run is cached, every forced step executed), never time. Bytecode is allowed to be
written and used, as users have it (PYTHONDONTWRITEBYTECODE is removed from the environment).
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
from pathlib import Path

from runner.clock import parse_iso

REPO = Path(__file__).resolve().parent.parent
SAR = REPO / "samples" / "sar" / "pipeline.yml"

STEP = """\
$schema: http://azureml/sdk-2-0/CommandComponent.json
type: CommandComponent
name: relay
version: 1
inputs:
  source: {type: AnyDirectory, optional: true}
  tag: {type: Integer}
outputs:
  out: {type: AnyDirectory}
command: python -c pass {outputs.out} {inputs.tag} [{inputs.source}]
"""


def environment(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(RUNNER_CACHE_DIR=str(cache), RUNNER_ENV="host")
    # `python` in the steps is this interpreter, as for the baseline below.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def runner_argv(pipeline: Path, runs: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "runner", "pipeline", "run", str(pipeline), "--runs-dir",
            str(runs), *extra]  # fmt: skip


def statuses(runs: Path) -> set[str]:
    record = max(runs.glob("*/pipeline.json"), key=lambda p: p.stat().st_mtime)
    return {step["status"] for step in json.loads(record.read_text())["steps"].values()}


def bench_sar(root: Path, rounds: int) -> None:
    env = environment(root / "cache")
    first = timed(runner_argv(SAR, root / "runs"), env)
    reruns = [timed(runner_argv(SAR, root / "runs"), env) for _ in range(rounds)]
    assert statuses(root / "runs") == {"cached"}
    rerun = statistics.median(reruns)
    print("SAR pipeline (7 steps), whole `runner pipeline run` process:")
    print(f"  first run (builds the venv, runs every step)  {first * 1000:9.0f} ms")
    print(f"  fully cached re-run, median of {rounds}            {rerun * 1000:9.0f} ms"
          f"   first/re-run = {first / rerun:.1f}x")  # fmt: skip


def chain(folder: Path, steps: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "relay.yaml").write_text(STEP)
    jobs = []
    for i in range(steps):
        source = f"\n      source: ${{{{parent.jobs.s{i - 1}.outputs.out}}}}" if i else ""
        jobs.append(f"  s{i}:\n    component: ./relay.yaml\n    inputs:\n      tag: {i}{source}")
    pipeline = folder / "chain.yml"
    pipeline.write_text("type: pipeline\nname: chain\njobs:\n" + "\n".join(jobs) + "\n")
    return pipeline


def chain_times(root: Path, steps: int, rounds: int) -> tuple[float, float]:
    """Whole-process time of a `steps`-step chain (best of `rounds`): every step executed (the
    stat memo warm, as in a user's edit-run loop), and all cached."""
    pipeline = chain(root / f"chain{steps}", steps)
    env = environment(root / "cache")
    forced = [arg for i in range(steps) for arg in ("--force", f"s{i}")]
    runs = root / f"runs{steps}"
    timed(runner_argv(pipeline, runs), env)  # the first run: fills the cache and the memo
    executed, cached = [], []
    for _ in range(rounds):
        executed.append(timed(runner_argv(pipeline, runs, *forced), env))
        assert statuses(runs) == {"succeeded"}
        TENTHS["executed"] = tenths(runs, "running")
        cached.append(timed(runner_argv(pipeline, runs), env))
        assert statuses(runs) == {"cached"}
        TENTHS["cached"] = tenths(runs, "cached")
    return min(executed), min(cached)


# The last run's per-step time in its first and last tenth of steps, by kind of run.
TENTHS: dict[str, tuple[float, float]] = {}


def tenths(runs: Path, status: str) -> tuple[float, float]:
    """Seconds per step in the first and the last tenth of the latest run with steps in
    `status`: within one run, so a load that comes and goes weighs on both alike."""
    latest = max(runs.glob("*/events.jsonl"), key=lambda p: p.stat().st_mtime)
    events = [json.loads(line) for line in latest.read_text().splitlines()]
    starts = [parse_iso(e["at"]) for e in events if e.get("status") == "running"]
    if status == "cached":  # a cached step has no running event: its end marks it
        starts = [parse_iso(e["at"]) for e in events if e.get("status") == "cached"]
    tenth = max(2, len(starts) // 10)
    first, last = starts[:tenth], starts[-tenth:]
    return (first[-1] - first[0]) / (tenth - 1), (last[-1] - last[0]) / (tenth - 1)


def bench_chains(root: Path, lengths: list[int], rounds: int) -> None:
    env = environment(root / "cache")
    child = min(timed([sys.executable, "-c", "pass"], env) for _ in range(max(10, rounds * 3)))
    exec1, cached1 = chain_times(root, 1, rounds * 3)
    print(f"chains of trivial steps (`python -c pass`), whole process, best of {rounds}:")
    print(f"  `python -c pass` alone (the child's own time)  {child * 1000:8.1f} ms")
    print(f"  1 step: executed {exec1 * 1000:.0f} ms, cached {cached1 * 1000:.0f} ms")
    print("  steps    executed   per step   beyond child     cached   per step")
    slopes: list[tuple[float, float]] = []
    for steps in lengths:
        executed, cached = chain_times(root, steps, rounds)
        per_exec = (executed - exec1) / (steps - 1)
        per_cached = (cached - cached1) / (steps - 1)
        slopes.append((per_exec, per_cached))
        row = f"  {steps:5d} {executed * 1000:10.0f} ms {per_exec * 1000:7.1f} ms"
        row += f" {(per_exec - child) * 1000:+9.1f} ms {cached * 1000:9.0f} ms"
        print(f"{row} {per_cached * 1000:7.2f} ms")
    if len(slopes) > 1:
        (exec_first, cached_first), (exec_last, cached_last) = slopes[0], slopes[-1]
        executed_ratio, cached_ratio = exec_last / exec_first, cached_last / cached_first
        print(f"  per-step cost at {lengths[-1]} steps / at {lengths[0]} steps (1.0 = linear):"
              f" executed {executed_ratio:.2f}x, cached {cached_ratio:.2f}x")  # fmt: skip
    (exec_head, exec_tail), (cached_head, cached_tail) = TENTHS["executed"], TENTHS["cached"]
    executed_growth, cached_growth = exec_tail / exec_head, cached_tail / cached_head
    print(f"  within one {lengths[-1]}-step run, last tenth / first tenth of its steps:"
          f" executed {executed_growth:.2f}x, cached {cached_growth:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[20, 100, 1000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-sar", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runner-bench-") as scratch:
        root = Path(scratch)
        if not args.skip_sar:
            bench_sar(root / "sar", args.rounds)
        bench_chains(root, sorted(n for n in args.steps if n > 1), args.rounds)


if __name__ == "__main__":
    main()
