"""`runner explain`: would this invocation hit the cache, and if not, what changed.

A miss is compared with the NEAREST cached entry of the same module (the one whose key parts
differ in the fewest ways, the most recent among equals): that is the result the user hoped
to get back, whereas the module's last run may have failed or had other inputs. Only when the
cache holds no entry of the module is its last recorded run the reference.
"""

from __future__ import annotations

from collections.abc import Mapping

from runner.cache.store import CacheStore, Entry
from runner.run.history import last_run
from runner.run.job import Job, RunOptions, prepare_job
from runner.run.key import KeyParts, explain
from runner.spec.model import ModuleSpec
from runner.struct import Struct


class Explanation(Struct):
    key: str
    would_hit: bool
    reasons: tuple[str, ...]  # why it would run; empty on a hit
    nearest: str | None = None  # the key of the cached entry the reasons compare with

    def to_json(self) -> dict[str, object]:
        return {
            "cache_key": self.key,
            "would_hit": self.would_hit,
            "nearest": self.nearest,
            "reasons": list(self.reasons),
        }

    def text(self) -> str:
        if self.would_hit:
            return f"would be served from the cache (key {self.key})"
        against = f"; compared with the nearest cached entry {self.nearest}" if self.nearest else ""
        lines = [f"would run (key {self.key}{against}):"]
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
    nearest = nearest_entry(store, spec, parts)
    if nearest is not None:
        found, reasons = nearest
        reasons = reasons or ["the key differs in a part that is not recorded"]
        explanation = Explanation(key, False, (*reasons, *_notes(store)), found.key)
        return explanation, None
    return Explanation(key, False, (*_since_last_run(store, spec, parts), *_notes(store))), None


def nearest_entry(
    store: CacheStore, spec: ModuleSpec, parts: KeyParts
) -> tuple[Entry, list[str]] | None:
    """The cached entry of this module (same spec file) closest to `parts`, with what differs."""
    best: tuple[int, float, Entry, list[str]] | None = None
    for entry in store.entries():
        if entry.meta.get("spec") != str(spec.source):
            continue
        try:
            reasons = explain(KeyParts.from_json(entry.parts), parts)
        except (KeyError, TypeError, ValueError):
            continue  # parts written by another cache format: not comparable
        rank = (len(reasons), -entry.created_at)
        if best is None or rank < (best[0], best[1]):
            best = (*rank, entry, reasons)
    return None if best is None else (best[2], best[3])


def _since_last_run(store: CacheStore, spec: ModuleSpec, parts: KeyParts) -> list[str]:
    previous = last_run(store.root, spec)
    if previous is None:
        return ["no result of this module is cached, and no earlier run is recorded"]
    reasons = explain(previous.parts, parts)
    if reasons:
        return [f"no result of this module is cached (its last run {previous.status})", *reasons]
    if previous.status not in ("succeeded", "cached"):
        return [f"the last run with the same inputs {previous.status}: only successes are cached"]
    return ["the cache entry of the last run is gone (removed, collected or damaged)"]


def _notes(store: CacheStore) -> list[str]:
    return [f"cache: {problem}" for problem in store.problems]
