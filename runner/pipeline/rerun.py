"""How to re-run a pipeline from a failed step, with a selection that really works.

`--from STEP` runs the step and everything after it; the steps upstream of that selection must
come from the cache (nothing is re-run behind the user's back). When one of them is not cached
(a non-deterministic module, `--no-cache`, an entry collected since), the selection widens to
start at it too, until every step left out is cached; with an empty cache that is the whole
pipeline, said as a plain run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from runner.cache.location import default_cache_root
from runner.pipeline.model import Pipeline, downstream, upstream
from runner.pipeline.state import PipelineResult, StepState
from runner.run.job import RunOptions
from runner.struct import Struct


class Rerun(Struct):
    from_steps: tuple[str, ...]  # the --from steps; empty: run the whole pipeline
    cached: tuple[str, ...]  # the steps left out, served from the cache
    widened: bool  # the failed step alone was not enough (something upstream is not cached)


def rerun_from(pipeline: Pipeline, failed: str, cached: Callable[[str], bool]) -> Rerun:
    """The smallest `--from` selection starting at `failed` whose left-out upstream steps are
    all `cached`."""
    starts = {failed}
    while True:
        chosen = downstream(pipeline, starts)
        needed = upstream(pipeline, chosen) - chosen
        missing = {name for name in needed if not cached(name)}
        if not missing:
            break
        starts |= missing
    # A start inside another start's downstream adds nothing.
    starts = {s for s in starts if s not in downstream(pipeline, starts - {s})}
    order = [name for name in pipeline.step_names if name in starts]
    everything = chosen == set(pipeline.step_names)
    return Rerun(
        from_steps=() if everything else tuple(order),
        cached=tuple(name for name in pipeline.step_names if name in needed),
        widened=starts != {failed},
    )


def advise(
    pipeline: Pipeline, result: PipelineResult, options: RunOptions | None = None
) -> dict[str, Rerun]:
    """A re-run for each failed step of `result`, a run made with `options`."""
    options = options or RunOptions()
    cache_root = (options.cache_dir or default_cache_root(os.environ)) if options.cache else None
    keys = {
        name: step.cache_key
        for name, step in result.steps.items()
        if step.state in (StepState.SUCCEEDED, StepState.CACHED) and step.cache_key
    }
    present = _present(cache_root, keys.values()) if cache_root else set()
    failed = [name for name, step in result.steps.items() if step.state is StepState.FAILED]
    return {
        name: rerun_from(pipeline, name, lambda step: keys.get(step) in present)
        for name in failed
        if pipeline.find_step(name) is not None
    }


def _present(cache_root: Path, keys: Iterable[str]) -> set[str]:
    """The keys whose entries are in the cache now (sound, as a lookup would find them)."""
    from runner.cache.store import CacheStore  # only when a step failed

    with CacheStore(cache_root) as store:
        found = set()
        for key in keys:
            reading = store.read(key)
            if reading is not None and reading.manifest is not None and reading.problem is None:
                found.add(key)
        return found
