"""Ray nodes for tests: each started with `ray start --block` in its own session, one CPU and
a small object store (the machine is small and shared), and stopped with its process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from runner.struct import Struct

RAY = Path(sys.executable).with_name("ray")
OBJECT_STORE = str(80 * 1024**2)
STARTED = "Ray runtime started"
START_TIMEOUT = 120.0


class RayCluster(Struct):
    address: str
    temp_dir: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_node(
    args: list[str], env: dict[str, str], log: Path, wrap: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """One `ray start --block` (run by `wrap` when given), in its own session: its daemons
    share its process group, which `stop_node` ends."""
    argv = [*wrap, str(RAY), "start", "--block", "--disable-usage-stats", "--num-cpus", "1",
            "--object-store-memory", OBJECT_STORE,
            "--dashboard-agent-listen-port", str(free_port()), *args]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            argv, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + START_TIMEOUT
    while STARTED not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_node(process)
            raise RuntimeError(f"ray start failed: {log.read_text(errors='replace')}")
        time.sleep(0.2)
    return process


def stop_node(process: subprocess.Popen[bytes]) -> None:
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not _group_alive(process.pid):
                process.wait()
                return
            time.sleep(0.1)
    process.wait()


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group is still alive (zombies do not count: they are dead,
    waiting for a parent that may be gone)."""
    for process in psutil.process_iter(["status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != "zombie":
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def node_env() -> dict[str, str]:
    # Without RAY_AUTH_MODE, a head finding ~/.ray/auth_token (which a local `ray.init()`
    # writes) requires the token, and `ray start --address` of this Ray does not send it.
    return {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
