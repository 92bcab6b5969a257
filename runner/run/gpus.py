"""The GPUs of this machine and who holds which: found with NVML (when `pynvml` is installed)
or `nvidia-smi`, or named by `RUNNER_GPUS=0,1,...` (tests, and sharing a machine: each user
names their own); handed out whole, each to one step at a time, through CUDA_VISIBLE_DEVICES
(docker: a device request for exactly those ids)."""

from __future__ import annotations

import functools
import importlib
import shutil
import threading
from collections.abc import Mapping

from runner.errors import InterruptedRun, RunnerError

DETECT_TIMEOUT = 10.0  # seconds for nvidia-smi to answer
WAIT_POLL = 0.2  # seconds between looks at the cancel event while waiting for GPUs
SOURCES = "RUNNER_GPUS=0,1,..., NVML or nvidia-smi"


def detect_gpus(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The ids of the GPUs runner may hand out: `RUNNER_GPUS` when set (empty: none), else
    every GPU the driver reports."""
    listed = environ.get("RUNNER_GPUS")
    if listed is not None:
        return tuple(part.strip() for part in listed.split(",") if part.strip())
    return _found()


@functools.lru_cache(maxsize=1)
def _found() -> tuple[str, ...]:
    count = _nvml_count()
    if count is None:
        return _smi()
    return tuple(str(index) for index in range(count))


def _nvml_count() -> int | None:
    try:
        nvml = importlib.import_module("pynvml")
    except ImportError:
        return None
    try:
        nvml.nvmlInit()
        try:
            return int(nvml.nvmlDeviceGetCount())
        finally:
            nvml.nvmlShutdown()
    except Exception:  # no driver, no device: NVML raises its own error classes
        return None


def _smi() -> tuple[str, ...]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return ()
    import subprocess  # here: only on a machine with an NVIDIA driver

    try:
        done = subprocess.run(
            [smi, "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=DETECT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ()
    if done.returncode != 0:
        return ()
    return tuple(line.strip() for line in done.stdout.splitlines() if line.strip())


def too_many(who: str, wanted: int, ids: tuple[str, ...]) -> RunnerError:
    have = f"{len(ids)} ({', '.join(ids)})" if ids else "none"
    return RunnerError(
        f"{who} asks for {wanted} GPU{'s' if wanted != 1 else ''}; this machine has {have}",
        f"lower its gpu count, or name the GPUs runner may use with {SOURCES.split(',')[0]}",
    )


class GpuPool:
    """GPU ids handed out whole: `acquire` waits until enough are free (steps queue for them),
    and never gives one id to two holders at once. Thread-safe."""

    def __init__(self, ids: tuple[str, ...]) -> None:
        self.ids = ids
        self._free = list(ids)
        self._changed = threading.Condition()

    def acquire(self, count: int, cancel: threading.Event | None = None) -> tuple[str, ...]:
        if count > len(self.ids):
            raise too_many("the step", count, self.ids)
        with self._changed:
            while len(self._free) < count:
                if cancel is not None and cancel.is_set():
                    raise InterruptedRun("interrupted while waiting for GPUs")
                self._changed.wait(WAIT_POLL)
            taken, self._free = tuple(self._free[:count]), self._free[count:]
            return taken

    def release(self, ids: tuple[str, ...]) -> None:
        with self._changed:
            self._free.extend(ids)
            self._free.sort(key=self.ids.index)
            self._changed.notify_all()


def visible_devices(ids: tuple[str, ...]) -> dict[str, str]:
    """What a command is given to see exactly `ids`."""
    return {"CUDA_VISIBLE_DEVICES": ",".join(ids)}


__all__ = ["GpuPool", "detect_gpus", "too_many", "visible_devices"]
