"""Runs the ranks of a distributed step on this machine: N copies of a command, each with the
environment its framework expects, each with its own log (`<logs>/rank-K.log`, and its lines
in the run's log prefixed `[rank K]`); when one rank fails, the others are stopped and the
step fails with that rank's exit code.

    python distributed_run.py --kind pytorch|tensorflow --per-instance P --instances I
                              --logs DIR -- COMMAND...

pytorch: MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE, NODE_RANK
(as torchrun sets them). tensorflow: TF_CONFIG with one worker per rank.

Standalone (stdlib only, imports nothing of runner): it runs in the step's environment, which
may be a venv or a container without runner in it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

GRACE = 5.0  # seconds the other ranks have to stop after a failure, before SIGKILL
POLL = 0.1


def free_ports(count: int) -> list[int]:
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def rank_environments(kind: str, per_instance: int, instances: int) -> list[dict[str, str]]:
    world = per_instance * instances
    if kind == "tensorflow":
        workers = [f"127.0.0.1:{port}" for port in free_ports(world)]
        return [
            {"TF_CONFIG": json.dumps({"cluster": {"worker": workers},
                                      "task": {"type": "worker", "index": rank}})}
            for rank in range(world)
        ]  # fmt: skip
    (port,) = free_ports(1)
    return [
        {
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "WORLD_SIZE": str(world),
            "RANK": str(rank),
            "LOCAL_RANK": str(rank % per_instance),
            "LOCAL_WORLD_SIZE": str(per_instance),
            "NODE_RANK": str(rank // per_instance),
        }
        for rank in range(world)
    ]


def pump(rank: int, stream: object, log_path: Path, lock: threading.Lock) -> None:
    """A rank's output into its own log and, prefixed, into ours (the run's log)."""
    with log_path.open("wb") as log:
        for line in iter(stream.readline, b""):  # type: ignore[attr-defined]
            log.write(line)
            log.flush()
            with lock:
                sys.stdout.buffer.write(f"[rank {rank}] ".encode() + line)
                sys.stdout.buffer.flush()


def stop(ranks: list[subprocess.Popen[bytes]]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for process in ranks:
            if process.poll() is None:
                os.killpg(process.pid, sig)
        deadline = time.monotonic() + GRACE
        while time.monotonic() < deadline and any(p.poll() is None for p in ranks):
            time.sleep(POLL)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=("pytorch", "tensorflow"), required=True)
    parser.add_argument("--per-instance", type=int, default=1)
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--logs", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    ranks, pumps = [], []
    envs = rank_environments(args.kind, args.per_instance, args.instances)
    for rank, extra in enumerate(envs):
        # Each rank in its own process group, so that stopping one stops what it started.
        process = subprocess.Popen(command, env={**os.environ, **extra},
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
        ranks.append(process)
        log = logs / f"rank-{rank}.log"
        thread = threading.Thread(target=pump, args=(rank, process.stdout, log, lock))
        thread.start()
        pumps.append(thread)

    def stopped(number: int, _frame: object) -> None:
        stop(ranks)
        sys.exit(128 + number)

    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGINT, stopped)
    code = 0
    while None in (exits := [p.poll() for p in ranks]):  # every rank polled, every time
        failed = [(r, c) for r, c in enumerate(exits) if c not in (None, 0)]
        if failed:
            rank, code = failed[0]
            print(f"[runner] rank {rank} failed (exit {code}): stopping the others", flush=True)
            stop(ranks)
            break
        time.sleep(POLL)
    for thread in pumps:
        thread.join()
    if code == 0:
        failed = [(r, p.returncode) for r, p in enumerate(ranks) if p.returncode != 0]
        if failed:
            rank, code = failed[0]
            print(f"[runner] rank {rank} failed (exit {code})", flush=True)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
