"""Check a pipeline before anything runs, and report EVERY problem found at once.

Port types (spec reference, section 5): an output may feed an input when their type sets
intersect (case-insensitively). AnyFile/uri_file (file), AnyDirectory/uri_folder/mltable
(folder) and path (either) are wildcards of their kind: paired with any type, they match
unless a file would feed a folder-only input. A folder feeding a file input is allowed, as a
run hands a file input the single file of a folder. Other types must match exactly, except that
a registered data type (runner.registry) also feeds its ancestors, and takes the kind (file or
folder) of the built-in type it descends from.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from runner.bind.coerce import coerce, label
from runner.errors import BindingError, PipelineError, quote
from runner.pipeline.model import (
    Binding,
    Literal,
    ParentInput,
    Pipeline,
    PipelineInput,
    Step,
    StepOutput,
    did_you_mean,
    find_cycle,
    unknown_input,
    unknown_step,
)
from runner.spec.model import (
    WILDCARD_PORT_TYPES,
    Input,
    InputPort,
    ModuleSpec,
    OutputPort,
    Parameter,
    port_kind,
)

# Types that take a file as well as a folder (as `runner.bind.ports` treats them).
FILE_INTO_FOLDER = "a file cannot feed a folder input"


def validate(pipeline: Pipeline) -> None:
    """Raise a PipelineError listing every problem of `pipeline`, one per line."""
    problems = check(pipeline)
    if problems:
        where = f" ({pipeline.source})" if pipeline.source is not None else ""
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        body = "\n".join(f"  {p}" for p in problems)
        raise PipelineError(
            f"pipeline {pipeline.name!r}{where} has {count}:\n{body}", problems=tuple(problems)
        )


def check(pipeline: Pipeline) -> list[str]:
    """Every problem of `pipeline`, in the order of the file: inputs, steps, outputs, cycles."""
    problems = [p for item in pipeline.inputs for p in _input_path_problems(item)]
    for step in pipeline.steps:
        problems += _step_problems(pipeline, step)
    for out in pipeline.outputs:
        problem = _output_ref_problem(pipeline, out.step, out.output)
        if problem:
            problems.append(f"pipeline output {out.name!r}: {problem}")
    cycle = find_cycle(pipeline)
    if cycle is not None:
        problems.append(f"cycle: {' -> '.join(cycle)}")
    return problems


# ---- port types ---------------------------------------------------------------------------


def port_mismatch(
    output_types: Sequence[str],
    input_types: Sequence[str],
    producer: ModuleSpec | None = None,
    consumer: ModuleSpec | None = None,
) -> str | None:
    """None when an output of `output_types` may feed an input of `input_types`; else why not
    ('' for unrelated types, FILE_INTO_FOLDER for a file into a folder-only input).
    `producer` and `consumer` know the registered types of their modules, if any."""
    outs = {t.lower() for t in output_types}
    ins = {t.lower() for t in input_types}
    if not outs or not ins or outs & ins:
        return None
    if producer is not None and any(
        ancestor.lower() in ins for out in outs for ancestor in producer.type_ancestors(out)
    ):
        return None
    kind_out = producer.type_kind if producer is not None else port_kind
    kind_in = consumer.type_kind if consumer is not None else port_kind
    reason = ""
    for out in outs:
        for into in ins:
            if out not in WILDCARD_PORT_TYPES and into not in WILDCARD_PORT_TYPES:
                continue
            if kind_out(out) == "file" and kind_in(into) == "folder":
                reason = FILE_INTO_FOLDER
            else:
                return None
    return reason


def _types(types: Iterable[str]) -> str:
    return " | ".join(types) or "any"


def _mismatch_text(
    port: InputPort,
    source: str,
    types: Sequence[str],
    consumer: ModuleSpec,
    producer: ModuleSpec | None = None,
) -> str | None:
    reason = port_mismatch(types, port.types, producer, consumer)
    if reason is None:
        return None
    text = f"{_types(port.types)} is not compatible with {source} ({_types(types)})"
    return f"{text}: {reason}" if reason else text


# ---- steps --------------------------------------------------------------------------------


def _step_problems(pipeline: Pipeline, step: Step) -> list[str]:
    module = step.module
    problems: list[str] = []
    for key, binding in step.bindings.items():
        item = module.find_input(key)
        if item is None:
            problems.append(f"step {step.name!r}: {_unknown_input(module, key)}")
            continue
        problem = _binding_problem(pipeline, module, item, binding)
        if problem:
            noun = "parameter" if isinstance(item, Parameter) else "input"
            problems.append(f"step {step.name!r}, {noun} {label(item)}{problem}")
    problems += _missing(pipeline, step)
    for key in step.outputs:
        if module.find_output(key) is None:
            problems.append(f"step {step.name!r}: {_unknown_output(module, key)}")
    return problems


def _names(items: Sequence[Input] | Sequence[OutputPort]) -> list[str]:
    return [n for item in items for n in dict.fromkeys((item.python_name, item.name))]


def _unknown_input(module: ModuleSpec, key: str) -> str:
    if module.find_output(key) is not None:
        return f"{key!r} is an output, not an input: bind it under the step's outputs"
    known = ", ".join(label(i) for i in module.inputs) or "(none)"
    return f"unknown input {key!r}{did_you_mean(key, _names(module.inputs))}; inputs: {known}"


def _unknown_output(module: ModuleSpec, key: str) -> str:
    known = ", ".join(label(o) for o in module.outputs) or "(none)"
    return f"unknown output {key!r}{did_you_mean(key, _names(module.outputs))}; outputs: {known}"


def _output_ref_problem(pipeline: Pipeline, step_name: str, output: str) -> str | None:
    """Why `step_name.output` names no output, or None."""
    source = pipeline.find_step(step_name)
    if source is None:
        return unknown_step(pipeline, step_name)
    if source.module.find_output(output) is None:
        return f"step {step_name!r} has {_unknown_output(source.module, output)}"
    return None


def _binding_problem(
    pipeline: Pipeline, module: ModuleSpec, item: Input, binding: Binding
) -> str | None:
    """What is wrong with `binding` for `item`, as the end of a line naming the step and the
    input (': ...' or ' takes ...'), or None."""
    if isinstance(binding, StepOutput):
        problem = _output_ref_problem(pipeline, binding.step, binding.output)
        if problem:
            return f": {problem}"
        producer = pipeline.step(binding.step).module
        out = producer.find_output(binding.output)
        assert out is not None  # checked just above
        source = f"output '{binding.step}.{out.python_name}'"
        if isinstance(item, Parameter):
            return f" takes a value ({item.type.value}), but is bound to {source}"
        mismatch = _mismatch_text(item, source, out.types, module, producer)
        return None if mismatch is None else f": {mismatch}"
    if isinstance(binding, ParentInput):
        return _parent_problem(pipeline, module, item, binding.name)
    return _literal_problem(module, item, binding)


def _parent_problem(pipeline: Pipeline, module: ModuleSpec, item: Input, name: str) -> str | None:
    parent = pipeline.find_input(name)
    if parent is None:
        return f": {unknown_input(pipeline, name)}"
    source = f"pipeline input {name!r}"
    if isinstance(item, Parameter):
        if parent.is_data:
            return f" takes a value ({item.type.value}), but {source} is data ({parent.type})"
        if parent.default is None:
            return None
        try:
            coerce(item, parent.default)
        except BindingError as exc:
            return f"{_after_label(exc.message)} (from {source})"
        return None
    if not parent.is_data:
        return f" takes a path ({_types(item.types)}), but {source} is a {parent.type} value"
    mismatch = _mismatch_text(item, source, (parent.type,), module)
    if mismatch is not None:
        return f": {mismatch}"
    if isinstance(parent.default, Path) and parent.default.exists():
        return _kind_problem(module, item, parent.default)
    return None


def _after_label(message: str) -> str:
    """`parameter 'x': expected ...` -> `: expected ...` (the caller names the parameter)."""
    head, sep, rest = message.partition(": ")
    return f": {rest}" if sep and head.startswith("parameter ") else f": {message}"


def _literal_problem(module: ModuleSpec, item: Input, binding: Literal) -> str | None:
    if isinstance(item, Parameter):
        try:
            coerce(item, binding.value)
        except BindingError as exc:
            return _after_label(exc.message)
        return None
    if not isinstance(binding.value, Path):
        return f": expected a path, got {quote(binding.value)}"
    if not binding.value.exists():
        return f": path {binding.value} does not exist"
    return _kind_problem(module, item, binding.value)


def _kind_problem(module: ModuleSpec, port: InputPort, path: Path) -> str | None:
    folder_only = bool(port.types) and all(module.type_kind(t) == "folder" for t in port.types)
    if folder_only and not path.is_dir():
        return f" takes a folder ({_types(port.types)}), but {path} is a file"
    return None


def _input_path_problems(item: PipelineInput) -> list[str]:
    # os.path.exists: False, not an OSError, for a path the system refuses (too long, NUL).
    if isinstance(item.default, Path) and not os.path.exists(item.default):  # noqa: PTH110
        return [f"pipeline input {item.name!r}: path {item.default} does not exist"]
    return []


def _missing(pipeline: Pipeline, step: Step) -> list[str]:
    """Required inputs with no value. Enum children are left to the run: whether they are
    required depends on their parent's value."""
    problems: list[str] = []
    for item in step.module.inputs:
        if item.optional or item.default is not None or item.enabled_by is not None:
            continue
        binding = step.bindings.get(item.name)
        if binding is None:
            problems.append(f"step {step.name!r}: missing required input {label(item)}")
        elif isinstance(binding, ParentInput):
            parent = pipeline.find_input(binding.name)
            if parent is not None and parent.default is None:
                problems.append(
                    f"step {step.name!r}: required input {label(item)} is bound to pipeline"
                    f" input {binding.name!r}, which has no value"
                )
    return problems
