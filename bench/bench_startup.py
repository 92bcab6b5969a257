"""Start-up: what each `runner` command costs over python's own start, as whole processes.

    python bench/bench_startup.py              # 21 pairs per command
    python bench/bench_startup.py --pairs 41   # steadier medians on a busy machine
    python bench/bench_startup.py --cache-dir DIR   # reuse a cache that holds the SAR venv

Every command runs as a child of the interpreter running this script, through the installed
`runner` script next to it (else `python -m runner`), alternated with `python -c pass` run by the
same interpreter: each pair gives one difference, and the median of the differences is printed.
Pairing cancels what both share (the interpreter, `site`, the machine's load at that moment).
The commands: --version, --help, validate, a cache hit of a tiny module (also through the
Python API, without the CLI), render, and the 7-step SAR pipeline fully cached. Then the ten
costliest imports of the cached `runner run`, from `python -X importtime`.

Bytecode is on: PYTHONDONTWRITEBYTECODE is removed from the children's environment and a
warm-up run of every command writes the .pyc files first (users have bytecode). Asserts
behaviour (the cache hits are hits), never time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAR = REPO / "samples" / "sar" / "pipeline.yml"
VALIDATE = REPO / "samples" / "sar" / "modules" / "sar_score.yaml"
RENDER = REPO / "samples" / "cliv2" / "csv_summary" / "csv_summary.yml"
SALES = REPO / "samples" / "data" / "sales.csv"

TRIVIAL = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: trivial
version: 1
inputs:
  salt: {type: integer, default: 0}
outputs:
  out: {type: uri_folder}
command: python -c "open('${{outputs.out}}/done', 'w').write('${{inputs.salt}}')"
"""

# The same hit through `runner.load_module(...).run()`: what the CLI adds is the difference.
API_HIT = "import runner, sys; assert runner.load_module(sys.argv[1]).run(quiet=True).cached"

# The targets, in ms over `python -c pass`.
TARGETS = {"--version": 40.0, "--help": 40.0, "cache hit": 60.0}


def runner_prefix() -> list[str]:
    script = Path(sys.executable).parent / "runner"
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "runner"]


def child_env(root: Path, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(RUNNER_CACHE_DIR=str(cache), RUNNER_RUNS_DIR=str(root / "runs"), COLUMNS="100")
    return env


def timed(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed


def paired(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path, pairs: int
) -> tuple[float, float]:
    """(median of command - bare python, median of bare python), in ms."""
    bare = [sys.executable, "-c", "pass"]
    timed(argv, env, cwd)  # warm-up: bytecode, page cache
    diffs, bases = [], []
    for i in range(pairs):
        # Alternate which goes first, so that neither always follows the other.
        if i % 2:
            base, cost = timed(bare, env, cwd), timed(argv, env, cwd)
        else:
            cost, base = timed(argv, env, cwd), timed(bare, env, cwd)
        diffs.append(cost - base)
        bases.append(base)
    return statistics.median(diffs), statistics.median(bases)


def run_json(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> dict[str, object]:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=True)
    data: dict[str, object] = json.loads(done.stdout)
    return data


def check_sar_cached(runs: Path) -> None:
    record = max(runs.glob("*/pipeline.json"), key=lambda p: p.stat().st_mtime)
    steps = json.loads(record.read_text())["steps"]
    states = {step["status"] for step in steps.values()}
    assert states == {"cached"}, f"the SAR re-run was not fully cached: {states}"


def importtime_top(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path, n: int, runs: int = 5
) -> tuple[list[tuple[int, int, str]], int]:
    """The n imports with the largest self time, and the sum of all self times (us): each the
    least of `runs` runs, to see through the machine's noise."""
    best: dict[str, tuple[int, int]] = {}
    for _ in range(runs):
        done = subprocess.run(
            [argv[0], "-X", "importtime", *argv[1:]],
            env=env, cwd=cwd, capture_output=True, text=True, check=True,
        )  # fmt: skip
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, cumulative, name = line.removeprefix("import time:").split("|", 2)
            seen = best.get(name.strip(), (10**12, 10**12))
            best[name.strip()] = (min(seen[0], int(self_us)), min(seen[1], int(cumulative)))
    rows = sorted(((s, c, name) for name, (s, c) in best.items()), reverse=True)
    return rows[:n], sum(s for s, _, _ in rows)


def bytecode_note() -> str:
    main = REPO / "runner" / "cli" / "main.py"
    pyc = Path(importlib.util.cache_from_source(str(main)))
    state = "written" if pyc.exists() else "MISSING"
    return f"bytecode on (PYTHONDONTWRITEBYTECODE removed for the children; {pyc.name}: {state})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=21, help="pairs per command")
    parser.add_argument("--cache-dir", type=Path, help="cache to use (default: a fresh one)")
    parser.add_argument("--skip-sar", action="store_true", help="leave out the SAR pipeline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runner-bench-") as scratch:
        root = Path(scratch)
        env = child_env(root, args.cache_dir or root / "cache")
        (root / "trivial").mkdir()
        trivial = root / "trivial" / "trivial.yaml"
        trivial.write_text(TRIVIAL)
        runner = runner_prefix()
        hit = [*runner, "run", str(trivial), "--json"]
        first = run_json(hit, env, root)
        assert first["status"] in ("succeeded", "cached"), first
        assert run_json(hit, env, root)["cached"] is True, "the trivial module did not hit"
        commands = {
            "--version": [*runner, "--version"],
            "--help": [*runner, "--help"],
            "validate": [*runner, "validate", str(VALIDATE)],
            "cache hit": [*hit[:-1], "--quiet"],
            "cache hit, Python API (no CLI)": [sys.executable, "-c", API_HIT, str(trivial)],
            "render": [*runner, "render", str(RENDER), "-i", f"table={SALES}"],
        }
        if not args.skip_sar:
            sar = [*runner, "pipeline", "run", str(SAR), "--runs-dir", str(root / "sar-runs")]
            print("building the SAR environment and running it once ...", flush=True)
            timed(sar, env, root)
            commands["SAR pipeline, 7 steps cached"] = sar
        print(f"{bytecode_note()}; {args.pairs} pairs per command, python {sys.version.split()[0]}")
        print(f"{'command':<32}{'over python -c pass':>20}{'python -c pass':>16}{'target':>10}")
        for label, argv in commands.items():
            over, base = paired(argv, env, root, args.pairs)
            target = TARGETS.get(label)
            verdict = f"<= {target:.0f} {'ok' if over <= target else 'MISSED'}" if target else ""
            print(f"{label:<32}{over:>17.1f} ms{base:>13.1f} ms  {verdict}")
        if not args.skip_sar:
            check_sar_cached(root / "sar-runs")
        top, total = importtime_top(hit, env, root, 10)
        print(f"\n-X importtime of a cached `runner run` (least of 5 runs per module): "
              f"{total / 1000:.1f} ms of imports in all; the 10 largest self times:")  # fmt: skip
        for self_us, cumulative, name in top:
            with_imports = f"(with what it imports {cumulative / 1000:5.1f} ms)"
            print(f"  {self_us / 1000:6.1f} ms   {with_imports}  {name}")


if __name__ == "__main__":
    main()
