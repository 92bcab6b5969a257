"""The connection to Ray, made only for `--executor ray` (importing Ray costs about a second):
joining a cluster at an address, or starting a small local instance that ends with the run,
and the check, before any step starts, that every node sees the runs folder and the cache."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.errors import RunnerError, UnsupportedError
from runner.pipeline.executors.ray_task import probe

INSTALL = "install it with: pip install 'runner[ray]' (on every node of the cluster too)"
# A local instance stores only the small results of steps (outputs go to the runs folder):
# Ray's default object store is 30% of the memory, reserved up front.
LOCAL_OBJECT_STORE = 80 * 1024**2
CONNECT_TIMEOUT = 5.0  # seconds for the cluster's address to answer
LINGER = 3.0  # seconds a local instance's processes have to end after shutdown
PROBE_TIMEOUT = 60.0  # seconds for every node to answer the storage probe
SHARED = (
    "the runs folder and the cache must be on storage that every node mounts at the same path "
    "(a shared file system): choose them with --runs-dir and --cache-dir / RUNNER_CACHE_DIR"
)


def require_ray() -> None:
    """Ray is installed (checked without importing it), or how to install it."""
    if importlib.util.find_spec("ray") is None:
        raise UnsupportedError("--executor ray needs Ray, which is not installed", INSTALL)


def import_ray() -> Any:
    """The `ray` module (typed Any: runner uses a few calls of it), or how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise UnsupportedError(
            "--executor ray needs Ray, which is not installed", INSTALL
        ) from None


def connect(address: str | None) -> Any:
    """Ray, initialised: joined to `address`, else a local instance (which `shutdown_local`
    ends)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    quiet: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address:
        _reachable(address)
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(
                address="local",
                num_cpus=os.cpu_count() or 1,
                object_store_memory=LOCAL_OBJECT_STORE,
                include_dashboard=False,
                **quiet,
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise RunnerError(
            f"cannot connect to {where}: {_first_line(exc)}",
            "start a cluster with `ray start --head`, and pass its address with --ray-address "
            "or RAY_ADDRESS (none: runner starts a local instance)",
        ) from None
    return ray


def _reachable(address: str) -> None:
    """A `HOST:PORT` address answers (Ray itself retries an unreachable one for minutes)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return  # "auto" and other forms are Ray's to resolve
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise RunnerError(
            f"no Ray cluster answers at {address}: {exc.strerror or exc}",
            "start one with `ray start --head` (its address is printed), check --ray-address "
            "or RAY_ADDRESS, or leave both unset to start a local instance",
        ) from None


def check_shared_storage(ray: Any, folders: Sequence[Path]) -> None:
    """Every alive node sees `folders` as the driver does (a token file written here is read
    there) and can write in them; else a RunnerError naming the node, before any step."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    token = f".runner-probe-{os.urandom(8).hex()}"
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / token).write_bytes(b"")
    try:
        remote = ray.remote(probe)
        nodes = [node for node in ray.nodes() if node.get("Alive")]
        refs = [
            remote.options(
                num_cpus=0,
                max_retries=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
            ).remote([str(f) for f in folders], token)
            for node in nodes
        ]
        answers = ray.get(refs, timeout=PROBE_TIMEOUT)
    finally:
        for folder in folders:
            (folder / token).unlink(missing_ok=True)
    problems = [
        f"node {node.get('NodeManagerAddress')} ({node['NodeID'][:12]}): {problem}"
        for node, found in zip(nodes, answers, strict=True)
        for problem in found
    ]
    if problems:
        raise RunnerError(
            "a Ray node cannot use the runs folder or the cache; nothing ran:\n  "
            + "\n  ".join(problems),
            SHARED,
        )


def shutdown_local(ray: Any) -> None:
    """End a local instance started here, and what `ray.shutdown()` leaves of it: its
    dashboard and runtime-env agents outlive it otherwise (seen with Ray 2.60, after a normal
    end as after Ctrl-C). Only this process's own descendants that are Ray's are touched."""
    import psutil  # here: only when a local instance ends

    ours = [p for p in psutil.Process().children(recursive=True) if _is_rays(p)]
    ray.shutdown()
    _, alive = psutil.wait_procs(ours, timeout=LINGER)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(alive, timeout=LINGER)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()


def _is_rays(process: Any) -> bool:
    try:
        return process.name().startswith(("ray::", "raylet", "gcs_server")) or any(
            f"{os.sep}ray{os.sep}" in part for part in process.cmdline()[:3]
        )
    except Exception:  # psutil.Error: it ended meanwhile, or is not ours to read
        return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
