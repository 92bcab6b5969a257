"""What debugging costs: `runner run --debug` against a plain run, and `--in-process` against a
subprocess run of the same module, as ratios measured in the same run.

    python bench/bench_debug.py              # 11 pairs of each
    python bench/bench_debug.py --pairs 21   # steadier medians on a busy machine

The module is a python script that stamps `time.time()` in its output as its first statement.
(a) `runner run --no-cache` as a child process, alternated with the same command with
`--debug 0`, which an IDE stand-in (the tests' DAP client, tests/debug/dap.py) attaches to as
soon as runner prints the `debugger listening` line: debugpy's start, the listen, the attach
handshake and the source mappings are all in. Printed: the medians of the time to the module's
first line and of the whole command, and their ratios. (b) `runner.run_module(...,
cache=False)` in this interpreter, alternated with the same call with `in_process=True`:
medians and the ratio. Bytecode is on (PYTHONDONTWRITEBYTECODE is removed from the children's
environment, and warm-up runs write the .pyc files first). Asserts behaviour (each run
succeeded and stamped), never time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "debug"))
from dap import DapClient  # noqa: E402  (the tests' DAP client, not a package)

SPEC = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: stamp
version: 1
outputs:
  out: {type: uri_folder}
code: ./src
command: python main.py ${{outputs.out}}
"""
SCRIPT = """\
import sys, time
started = time.time()
from pathlib import Path
Path(sys.argv[1], "started").write_text(repr(started))
"""
LISTENING = re.compile(r"debugger listening on (\S+):(\d+)")


def make_module(root: Path) -> Path:
    (root / "module" / "src").mkdir(parents=True)
    (root / "module" / "src" / "main.py").write_text(SCRIPT)
    spec = root / "module" / "stamp.yml"
    spec.write_text(SPEC)
    return spec


def runner_prefix() -> list[str]:
    script = Path(sys.executable).parent / "runner"
    return [sys.executable, str(script)] if script.is_file() else [sys.executable, "-m", "runner"]


def stamped(result_json: str) -> float:
    result = json.loads(result_json)
    assert result["status"] == "succeeded", result
    return float(Path(result["outputs"]["out"], "started").read_text())


def plain(argv: list[str], env: Mapping[str, str]) -> tuple[float, float]:
    """(seconds to the module's first line, seconds for the whole command)."""
    began = time.time()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    ended = time.time()
    return stamped(done.stdout) - began, ended - began


def debugged(argv: list[str], env: Mapping[str, str]) -> tuple[float, float]:
    """The same, with --debug 0 and an IDE stand-in attaching as soon as it may."""
    began = time.time()
    proc = subprocess.Popen([*argv, "--debug", "0"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stderr is not None and proc.stdout is not None
    for line in proc.stderr:
        found = LISTENING.search(line)
        if found:
            break
    else:
        raise SystemExit(f"no `debugger listening` line (exit {proc.wait()})")
    with DapClient.open(found.group(1), int(found.group(2)), timeout=60) as client:
        client.attach_and_go()
        out = proc.stdout.read()
        proc.stderr.read()
        code = proc.wait(60)
    ended = time.time()
    assert code == 0, code
    return stamped(out) - began, ended - began


def in_process_pair(spec: Path) -> Callable[[bool], float]:
    import runner

    module = runner.load_module(spec)

    def one(in_process: bool) -> float:
        began = time.perf_counter()
        result = module.run(cache=False, quiet=True, in_process=in_process)
        elapsed = time.perf_counter() - began
        assert result.ok, result.message
        return elapsed

    return one


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=11)
    parser.add_argument("--dir", type=Path, default=None, help="where the module and runs go")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        root = Path(folder)
        spec = make_module(root)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(RUNNER_CACHE_DIR=str(root / "cache"), RUNNER_RUNS_DIR=str(root / "runs"))
        argv = [*runner_prefix(), "run", str(spec), "--no-cache", "--json", "--env", "host"]
        plain(argv, env), debugged(argv, env)  # warm-up: bytecode written, page cache filled
        runs: dict[str, list[tuple[float, float]]] = {"plain": [], "debug": []}
        for _ in range(args.pairs):
            runs["plain"].append(plain(argv, env))
            runs["debug"].append(debugged(argv, env))
        print(f"(a) runner run, {args.pairs} pairs, medians (bytecode on in the children)")
        print(f"{'':18}{'to first line':>15}{'whole command':>15}")
        for name, label in (("plain", "plain"), ("debug", "--debug + attach")):
            first = median_ms([r[0] for r in runs[name]])
            whole = median_ms([r[1] for r in runs[name]])
            print(f"{label:18}{first:12.0f} ms{whole:12.0f} ms")
        ratios = [
            statistics.median(d[i] for d in runs["debug"])
            / statistics.median(p[i] for p in runs["plain"])
            for i in (0, 1)
        ]
        added = median_ms([d[0] - p[0] for d, p in zip(runs["debug"], runs["plain"], strict=True)])
        print(f"{'ratio':18}{ratios[0]:14.2f}x{ratios[1]:14.2f}x")
        print(f"--debug adds {added:.0f} ms to the step's start (median of the pairs' differences)")

        os.environ.update(RUNNER_CACHE_DIR=str(root / "cache"), RUNNER_RUNS_DIR=str(root / "runs"))
        one = in_process_pair(spec)
        one(True), one(False)  # warm-up
        timings: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.pairs):
            timings[False].append(one(False))
            timings[True].append(one(True))
        sub, inproc = median_ms(timings[False]), median_ms(timings[True])
        byte = "off" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
        print(f"\n(b) runner.run_module in this interpreter, {args.pairs} pairs (bytecode {byte})")
        print(f"subprocess run     {sub:8.1f} ms")
        print(f"in_process=True    {inproc:8.1f} ms")
        print(f"ratio              {sub / inproc:8.2f}x  (subprocess / in-process)")


if __name__ == "__main__":
    main()
