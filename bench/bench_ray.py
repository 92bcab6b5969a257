"""The Ray executor against the local one on the same machine: 16 independent 1-second steps
with `--jobs 2` locally and on a Ray cluster of 2 CPUs (one head started here with
`ray start`), and Ray's per-step overhead for a trivial step (`python -c pass`), as ratios
measured in this one run.

    python bench/bench_ray.py              # needs Ray: pip install 'runner[ray]'
    python bench/bench_ray.py --steps 8 --rounds 1

Every figure is a whole `runner pipeline run` process with a fresh cache (every step
executes), the best of the rounds. The per-step overhead is the slope between 16 trivial
steps and 1 (so a process's start-up, Ray's import and connection, are not counted), per
slot (two steps run at a time). Bytecode is allowed (PYTHONDONTWRITEBYTECODE removed).
Asserts behaviour (every step executed), never time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEP = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: nap
version: 1
inputs:
  tag: {type: integer}
  seconds: {type: number}
outputs:
  out: {type: uri_folder}
command: python -c "import time; time.sleep(${{inputs.seconds}})" ${{inputs.tag}}
"""
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV |= {"RUNNER_ENV": "host", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def write_pipeline(root: Path, steps: int, seconds: float) -> Path:
    (root / "nap.yml").write_text(STEP)
    jobs = "".join(
        f"  s{i}:\n    component: ./nap.yml\n    inputs: {{tag: {i}, seconds: {seconds}}}\n"
        for i in range(steps)
    )
    path = root / f"p-{steps}-{seconds}.yml"
    path.write_text(f"type: pipeline\nname: naps\njobs:\n{jobs}")
    return path


def timed(path: Path, root: Path, *extra: str) -> float:
    cache = tempfile.mkdtemp(dir=root)
    argv = [sys.executable, "-m", "runner", "pipeline", "run", str(path), "--jobs", "2",
            "--cache-dir", cache, "--runs-dir", str(root / "runs"), "--json", "-q",
            *extra]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(argv, env=ENV, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)["steps"].values()
    assert {s["status"] for s in steps} == {"succeeded"}, done.stdout
    return elapsed


def best(path: Path, root: Path, rounds: int, *extra: str) -> float:
    return min(timed(path, root, *extra) for _ in range(rounds))


def start_head(root: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    temp = Path(tempfile.mkdtemp(prefix="rb"))  # short: Ray's socket paths must fit
    log = root / "head.log"
    ray = Path(sys.executable).with_name("ray")
    argv = [str(ray), "start", "--head", "--block", "--port", str(port), "--num-cpus", "2",
            "--object-store-memory", str(80 * 1024**2), "--include-dashboard", "false",
            "--temp-dir", str(temp), "--node-ip-address", "127.0.0.1",
            "--disable-usage-stats"]  # fmt: skip
    with log.open("wb") as out:
        head = subprocess.Popen(argv, env=ENV, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    while "Ray runtime started" not in log.read_text(errors="replace"):
        assert head.poll() is None, log.read_text()
        time.sleep(0.2)
    return head, f"127.0.0.1:{port}", temp


def stop_head(head: subprocess.Popen[bytes], temp: Path) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(head.pid, sig)
        except ProcessLookupError:
            break
        time.sleep(3)
    head.wait()
    shutil.rmtree(temp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; steps: {args.steps}; best of {args.rounds} rounds")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        naps = write_pipeline(root, args.steps, 1.0)
        many, one = write_pipeline(root, args.steps, 0.0), write_pipeline(root, 1, 0.0)
        started = time.perf_counter()
        head, address, temp = start_head(root)
        print(f"ray start --head (2 CPUs): {time.perf_counter() - started:.2f} s")
        on_ray = ("--executor", "ray", "--ray-address", address)
        try:
            figures = {
                (kind, name): best(path, root, args.rounds, *extra)
                for kind, extra in (("local", ()), ("ray", on_ray))
                for name, path in (("naps", naps), ("many", many), ("one", one))
            }
        finally:
            stop_head(head, temp)
    ideal = args.steps * 1.0 / 2
    local, ray = figures["local", "naps"], figures["ray", "naps"]
    print(f"{args.steps} x 1-second steps: local --jobs 2 {local:.2f} s, Ray {ray:.2f} s: "
          f"Ray/local {ray / local:.2f}x (ideal {ideal:.1f} s: local {local / ideal:.2f}x, "
          f"Ray {ray / ideal:.2f}x)")  # fmt: skip
    slope = {
        kind: (figures[kind, "many"] - figures[kind, "one"]) / (args.steps - 1) * 2
        for kind in ("local", "ray")
    }
    print(f"a trivial step, per slot: local {slope['local'] * 1000:.0f} ms, "
          f"Ray {slope['ray'] * 1000:.0f} ms: Ray/local {slope['ray'] / slope['local']:.2f}x, "
          f"Ray's overhead {(slope['ray'] - slope['local']) * 1000:.0f} ms per step")  # fmt: skip
    print(f"one trivial step, whole process: local {figures['local', 'one']:.2f} s, "
          f"Ray {figures['ray', 'one']:.2f} s (import and connect included)")  # fmt: skip


if __name__ == "__main__":
    main()
