"""`runner explain`: would this invocation hit the cache, and if not, what changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runner.cache.store import Entry
from runner.run.history import last_run
from runner.run.job import Job, RunOptions, prepare_job
from runner.run.key import explain
from runner.spec.model import ModuleSpec


@dataclass(frozen=True)
class Explanation:
    key: str
    would_hit: bool
    reasons: tuple[str, ...]  # why it would run; empty on a hit

    def to_json(self) -> dict[str, object]:
        return {"cache_key": self.key, "would_hit": self.would_hit, "reasons": list(self.reasons)}

    def text(self) -> str:
        if self.would_hit:
            return f"would be served from the cache (key {self.key})"
        lines = [f"would run (key {self.key}):"]
        lines += [f"  {reason}" for reason in self.reasons]
        return "\n".join(lines)


def explain_module(
    spec: ModuleSpec,
    values: Mapping[str, object],
    outputs: Mapping[str, object] | None,
    options: RunOptions,
) -> Explanation:
    job = prepare_job(spec, values, outputs, options)
    try:
        return explain_job(job)[0]
    finally:
        if job.store is not None:
            job.store.close()


def explain_job(job: Job) -> tuple[Explanation, Entry | None]:
    """Would this prepared run hit, and why not; with the entry it would be served from."""
    store, parts, spec = job.store, job.parts, job.spec
    assert store is not None and parts is not None, "explain needs the cache"
    key = parts.key
    if not spec.is_deterministic:
        reason = "the module is not deterministic (isDeterministic: false): it always runs"
        return Explanation(key, False, (reason,)), None
    entry = store.lookup(key)
    if entry is not None:
        return Explanation(key, True, ()), entry
    previous = last_run(store.root, spec)
    if previous is None:
        return Explanation(key, False, ("no earlier run of this module is recorded",)), None
    reasons = explain(previous.parts, parts)
    if not reasons:
        if previous.status not in ("succeeded", "cached"):
            reasons = [
                f"the last run with the same inputs {previous.status}: only successes are cached"
            ]
        else:
            reasons = ["the cache entry of the last run is gone (removed, collected or damaged)"]
    notes = [f"cache: {problem}" for problem in store.problems]
    return Explanation(key, False, (*reasons, *notes)), None
