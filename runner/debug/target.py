"""The step to debug: a module with its values, or a pipeline's step with its upstream outputs
(from the cache, or run first when they must), laid out as a run folder that nothing starts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from runner.errors import PipelineError
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


def plan(target: Target, options: RunOptions) -> Job:
    """Bound, environment chosen, snapshot planned; never looked up in the cache."""
    return prepare_job(target.spec, target.values, target.outputs, replace(options, cache=False))


def prepare(job: Job) -> Prepared:
    """The step laid out (snapshot, inputs, fresh output folders, environment built) and
    recorded as `prepared`: nothing started."""
    return prepare_run(job, status="prepared")
