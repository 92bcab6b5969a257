"""`runner explain`: would this invocation hit the cache, and if not, what changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runner.cache.history import last_run
from runner.cache.keys import explain
from runner.engine import RunOptions, prepare_job
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
    store, parts = job.store, job.parts
    assert store is not None and parts is not None, "explain needs the cache"
    key = parts.key
    if not spec.is_deterministic:
        reason = "the module is not deterministic (isDeterministic: false): it always runs"
        return Explanation(key, False, (reason,))
    if store.lookup(key) is not None:
        return Explanation(key, True, ())
    previous = last_run(store.root, spec)
    if previous is None:
        return Explanation(key, False, ("no earlier run of this module is recorded",))
    reasons = explain(previous.parts, parts)
    if not reasons:
        if previous.status != "succeeded" and previous.status != "cached":
            reasons = [
                f"the last run with the same inputs {previous.status}: only successes are cached"
            ]
        else:
            reasons = ["the cache entry of the last run is gone (removed, collected or damaged)"]
    notes = [f"cache: {problem}" for problem in store.problems]
    return Explanation(key, False, (*reasons, *notes))
