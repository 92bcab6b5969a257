"""Pipelines: the SAR sample's cached re-run against its first run, and runner's per-step
overhead on a 20-step chain of trivial modules against the same 20 commands in a shell loop.

    python bench/bench_pipeline.py            # both
    python bench/bench_pipeline.py --steps 10 # a shorter chain

Prints times and ratios measured in this run; asserts behaviour (every step of the re-run is
cached), never time.
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
command: python relay.py {outputs.out} {inputs.tag} [{inputs.source}]
"""
RELAY = """\
import sys
from pathlib import Path
out, tag = Path(sys.argv[1]), sys.argv[2]
before = Path(sys.argv[3], "n").read_text() if len(sys.argv) > 3 else ""
(out / "n").write_text(before + tag + "\\n")
"""


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def runner_argv(pipeline: Path, runs: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "runner", "pipeline", "run", str(pipeline), "--runs-dir",
            str(runs), *extra]  # fmt: skip


def last_record(runs: Path) -> dict[str, object]:
    record = max(runs.glob("*/pipeline.json"), key=lambda p: p.stat().st_mtime)
    data: dict[str, object] = json.loads(record.read_text())
    return data


def bench_sar(root: Path, rounds: int) -> None:
    env = {**os.environ, "RUNNER_CACHE_DIR": str(root / "cache")}
    first = timed(runner_argv(SAR, root / "runs"), env)
    reruns = [timed(runner_argv(SAR, root / "runs"), env) for _ in range(rounds)]
    steps = last_record(root / "runs")["steps"]
    assert isinstance(steps, dict)
    assert {step["status"] for step in steps.values()} == {"cached"}, steps
    rerun = statistics.median(reruns)
    print("SAR pipeline (7 steps), whole `runner pipeline run` process:")
    print(f"  first run (builds the venv, runs every step)  {first * 1000:9.0f} ms")
    print(f"  fully cached re-run, median of {rounds}            {rerun * 1000:9.0f} ms"
          f"   first/re-run = {first / rerun:.1f}x")  # fmt: skip


def bench_chain(root: Path, steps: int, rounds: int) -> None:
    modules = root / "chain"
    modules.mkdir()
    (modules / "relay.yaml").write_text(STEP)
    (modules / "relay.py").write_text(RELAY)
    jobs = []
    for i in range(steps):
        source = f"\n      source: ${{{{parent.jobs.s{i - 1}.outputs.out}}}}" if i else ""
        jobs.append(f"  s{i}:\n    component: ./relay.yaml\n    inputs:\n      tag: {i}{source}")
    pipeline = modules / "chain.yml"
    pipeline.write_text("type: pipeline\nname: chain\njobs:\n" + "\n".join(jobs) + "\n")

    # The same commands by hand: one python process per step, each reading the previous output.
    script = ["set -e", f"cd {modules}"]
    for i in range(steps):
        source = f" {root}/sh/o{i - 1}" if i else ""
        script += [f"mkdir -p {root}/sh/o{i}", f"python relay.py {root}/sh/o{i} {i}{source}"]
    shell = ["bash", "-c", "\n".join(script)]
    env = {**os.environ, "RUNNER_CACHE_DIR": str(root / "cache"), "RUNNER_ENV": "host"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    by_hand = statistics.median(timed(shell, env) for _ in range(rounds))
    misses = []
    for n in range(rounds):
        # --force on every step: each round really runs all of them (a fresh cache is not
        # needed, and the stat memo stays warm as in a user's edit-run loop).
        forced = [arg for i in range(steps) for arg in ("--force", f"s{i}")]
        misses.append(timed(runner_argv(pipeline, root / f"runs{n}", *forced), env))
    cached = statistics.median(
        timed(runner_argv(pipeline, root / "runs-cached"), env) for _ in range(rounds)
    )
    run = statistics.median(misses)
    per_step = (run - by_hand) / steps * 1000
    print(f"{steps}-step chain of trivial modules, median of {rounds}:")
    print(f"  plain shell loop running the {steps} commands   {by_hand * 1000:9.0f} ms")
    print(f"  runner, every step executed                  {run * 1000:9.0f} ms"
          f"   ratio {run / by_hand:.2f}x, overhead {per_step:+.1f} ms per step")  # fmt: skip
    print(f"  runner, every step cached                    {cached * 1000:9.0f} ms"
          f"   {cached * 1000 / steps:.1f} ms per step, whole process included")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-sar", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runner-bench-") as scratch:
        root = Path(scratch)
        if not args.skip_sar:
            bench_sar(root / "sar", args.rounds)
        bench_chain(root, args.steps, args.rounds)


if __name__ == "__main__":
    main()
