"""The step to debug: a module with its values, or a pipeline's step with its upstream outputs
(from the cache, or run first when they must), laid out as a run folder that nothing starts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from runner.errors import PipelineError, UsageError
from runner.pipeline.model import Pipeline, dependencies, step_values, upstream
from runner.run.engine import Prepared, RunOptions, prepare_run
from runner.run.job import Job, prepare_job
from runner.spec.model import ModuleSpec
from runner.struct import Struct, replace


class Target(Struct):
    spec: ModuleSpec
    values: Mapping[str, object]
    outputs: Mapping[str, object]
    label: str  # the module, or pipeline/step
    snapshot_digest: object = None  # a recorded run's: its files changed when it differs


def pipeline_target(
    pipeline: Pipeline, step_name: str, sets: Mapping[str, object], options: RunOptions
) -> Target:
    """The step with its inputs: upstream steps come from the cache (they run when not there,
    as `runner pipeline run --until` would run them), pipeline inputs from `sets`."""
    from runner.pipeline.inputs import bind_inputs
    from runner.pipeline.run import run_pipeline
    from runner.pipeline.validate import validate

    base_dir = options.base_dir or Path.cwd()
    bound = bind_inputs(pipeline, sets, base_dir)
    validate(bound)
    step = bound.step(step_name)
    produced: dict[tuple[str, str], Path] = {}
    needed = sorted(dependencies(step))
    if needed:
        result = run_pipeline(
            pipeline,
            sets=sets,
            until=needed,
            options=replace(options, echo=None),
            base_dir=base_dir,
        )
        for name in upstream(bound, needed):
            found = result.steps[name]
            if not found.state.ok:
                raise PipelineError(
                    f"step {step_name!r} needs step {name!r}, which {found.state.value}: "
                    f"{found.message}",
                    f"see {found.log or result.run_dir}",
                )
            for port in bound.step(name).module.outputs:
                produced[(name, port.name)] = Path(found.outputs[port.python_name])
    values, waiting = step_values(bound, step, produced)
    assert not waiting, waiting
    outputs = {key: path for key, path in step.outputs.items() if path}
    label = f"{pipeline.name}/{step_name}"
    return Target(step.effective_module, values, outputs, label)


def record_target(folder: Path) -> Target:
    """The run a folder records (a cached one: nothing was laid out there), to lay out anew:
    its spec file and values; its inputs where the record names them."""
    from runner.registry.resolve import load_module_spec

    record = read_record(folder)
    spec_record = record.get("spec")
    path = spec_record.get("path") if isinstance(spec_record, dict) else None
    if not isinstance(path, str):
        raise UsageError(f"{folder / 'run.json'}: names no spec file", "give the spec itself")
    values: dict[str, object] = {}
    for field_name in ("parameters", "inputs"):
        recorded = record.get(field_name)
        if isinstance(recorded, dict):
            values.update(recorded)
    spec = load_module_spec(Path(path))
    return Target(spec, values, {}, spec.name, record.get("snapshot_digest"))


def read_record(folder: Path) -> dict[str, object]:
    record_path = folder / "run.json"
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"{folder}: not a module run folder ({record_path}: {exc})",
            "give a run folder (`runner runs ls`), a step's folder (<pipeline run>/steps/STEP),"
            " a spec with its -i values, or a pipeline with --step",
        ) from None
    if not isinstance(record, dict):
        raise UsageError(f"{record_path}: not a run record", "give a run folder")
    return record


def drift(target: Target, job: Job) -> str | None:
    """Why the laid-out step may differ from the recorded run: its files changed since."""
    if target.snapshot_digest is None or job.plan is None:
        return None
    if job.plan.digest == target.snapshot_digest:
        return None
    return (
        f"the module's files changed since that run: {target.spec.source} is laid out as it is now"
    )


def plan(target: Target, options: RunOptions) -> Job:
    """Bound, environment chosen, snapshot planned; never looked up in the cache."""
    return prepare_job(target.spec, target.values, target.outputs, replace(options, cache=False))


def prepare(job: Job) -> Prepared:
    """The step laid out (snapshot, inputs, fresh output folders, environment built) and
    recorded as `prepared`: nothing started."""
    return prepare_run(job, status="prepared")
