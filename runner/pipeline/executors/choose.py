"""The executor a user chose: `--executor`, RUNNER_EXECUTOR, the config file (runner.config)."""

from __future__ import annotations

from runner.pipeline.executors.base import Executor, LocalExecutor


def executor_for(name: str, ray_address: str | None = None) -> Executor:
    if name == "ray":
        from runner.pipeline.executors.ray_driver import RayExecutor  # Ray only when chosen

        return RayExecutor(ray_address)
    return LocalExecutor()
