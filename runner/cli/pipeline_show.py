"""`runner pipeline show PIPELINE` for people: headed by its display name, then its inputs,
steps in run order with their edges and port types, and outputs."""

from __future__ import annotations

import textwrap

from runner.pipeline.model import Pipeline, Step, StepOutput, topological_order


def pipeline_text(pipeline: Pipeline) -> str:
    where = f"{pipeline.source}" if pipeline.source else "built in Python"
    lines = [pipeline.display_name or pipeline.name, f"  name: {pipeline.name}   file: {where}"]
    if pipeline.description:
        lines += textwrap.wrap(
            pipeline.description, 96, initial_indent="  ", subsequent_indent="  "
        )
    if pipeline.inputs:
        lines.append("inputs:")
        for item in pipeline.inputs:
            default = "" if item.default is None else f" = {item.default}"
            lines.append(f"  {item.name}: {item.type}{default}")
    lines.append("steps (in run order):")
    for name in topological_order(pipeline):
        lines += _step_lines(pipeline, pipeline.step(name))
    if pipeline.outputs:
        lines.append("outputs:")
        lines += [f"  {out.name} <- {out.step}.{out.output}" for out in pipeline.outputs]
    return "\n".join(lines)


def _step_lines(pipeline: Pipeline, step: Step) -> list[str]:
    module = step.module
    lines = [f"  {step.name}: {module.identity}  ({module.source})"]
    for key, binding in step.bindings.items():
        if not isinstance(binding, StepOutput):
            continue
        source = pipeline.step(binding.step).module.find_output(binding.output)
        port = module.find_input(key)
        source_types = "/".join(source.types) if source else "?"
        target_types = "/".join(getattr(port, "types", ())) or "?"
        lines.append(
            f"    <- {binding.step}.{binding.output} ({source_types}) -> {key} ({target_types})"
        )
    return lines
