"""The `run.json` record of one module run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from runner._version import __version__
from runner.clock import iso, now_iso
from runner.run.job import Job

if TYPE_CHECKING:
    from runner.process.local import Outcome


def run_record(
    job: Job, output_paths: Mapping[str, Path], argv: list[str], cache_key: str | None
) -> dict[str, object]:
    spec, bindings, plan = job.spec, job.bindings, job.plan
    return {
        "runner_version": __version__,
        "spec": {
            "path": str(spec.source),
            "generation": spec.generation.value,
            "name": spec.name,
            "namespace": spec.namespace,
            "version": spec.version,
            "job_type": spec.job_type.value,
            "is_deterministic": spec.is_deterministic,
        },
        "parameters": dict(bindings.values),
        "inputs": {name: str(path) for name, path in bindings.inputs.items()},
        "outputs": {name: str(path) for name, path in output_paths.items()},
        "argv": argv,
        "snapshot_digest": plan.digest if plan else None,
        "cache_key": cache_key,
        "hashed_bytes": job.hashed_bytes,
        "started_at": now_iso(),
        **(job.options.recorded or {}),
    }


now = now_iso  # what the engine stamps its own lines of a run's log with


def outcome_record(outcome: Outcome, status: str, message: str) -> dict[str, object]:
    return {
        "status": status,
        "message": message,
        "exit_code": outcome.exit_code,
        "started_at": iso(outcome.started_at),
        "ended_at": iso(outcome.ended_at),
        "duration": round(outcome.duration, 3),
        "timed_out": outcome.timed_out,
    }
