"""`runner pipeline run --dry-run`: every step's command and whether it would hit the cache.

A step fed by a step that would hit is checked for real: the upstream entry's outputs are
placed in a scratch folder (links, no copies) so its key can be computed. A step fed by a step
that would run cannot be known before that runs, and says so.
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Mapping
from pathlib import Path

from runner.pipeline.inputs import bind_inputs
from runner.pipeline.model import Pipeline, step_values, topological_order
from runner.pipeline.validate import validate
from runner.run.explain import explain_job
from runner.run.job import RunOptions, prepare_job, preview_command
from runner.struct import Struct, replace
from runner.template.text import template_text


class StepPlan(Struct):
    name: str
    would: str  # "hit" | "run" | "run after upstream"
    command: str
    reasons: tuple[str, ...] = ()


class DryRun(Struct):
    steps: tuple[StepPlan, ...]

    def text(self) -> str:
        lines = []
        for plan in self.steps:
            lines.append(f"{plan.name}: would {plan.would}")
            lines.append(f"  $ {plan.command}")
            lines += [f"  - {reason}" for reason in plan.reasons]
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {
            "steps": {
                p.name: {"would": p.would, "command": p.command, "reasons": list(p.reasons)}
                for p in self.steps
            }
        }


def dry_run(
    pipeline: Pipeline,
    *,
    sets: Mapping[str, object] | None = None,
    options: RunOptions | None = None,
    base_dir: Path | None = None,
) -> DryRun:
    base_dir = base_dir or Path.cwd()
    pipeline = bind_inputs(pipeline, sets or {}, base_dir)
    validate(pipeline)
    options = replace(options or RunOptions(), base_dir=base_dir, force=False)
    plans: list[StepPlan] = []
    placed: dict[tuple[str, str], Path] = {}  # (step, output) -> where a hit's output lies
    with tempfile.TemporaryDirectory(prefix="runner-dry-run-") as scratch:
        for name in topological_order(pipeline):
            step = pipeline.step(name)
            values, waiting = step_values(pipeline, step, placed)
            if waiting:
                command = template_text(step.module.command)
                reason = f"its inputs come from {', '.join(sorted(waiting))}, which would run"
                plans.append(StepPlan(name, "run after upstream", command, (reason,)))
                continue
            module = step.effective_module
            command = shlex.join(preview_command(module, values, None, base_dir))
            job = prepare_job(module, values, None, options)
            try:
                explanation, entry = explain_job(job)
                if entry is not None and job.store is not None:
                    where = {
                        out.name: Path(scratch, name, out.python_name)
                        for out in step.module.outputs
                    }
                    for path in where.values():
                        path.parent.mkdir(parents=True, exist_ok=True)
                    job.store.materialize(entry, where)
                    placed.update({(name, key): path for key, path in where.items()})
            finally:
                if job.store is not None:
                    job.store.close()
            would = "hit" if explanation.would_hit else "run"
            plans.append(StepPlan(name, would, command, explanation.reasons))
    return DryRun(tuple(plans))
