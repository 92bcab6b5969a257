"""The frozen, typed model of a pipeline (YAML or Python DSL) and its graph helpers.

A pipeline is steps, each running one module, whose inputs are bound to literal values, to
pipeline inputs or to other steps' outputs. Names are resolved to ORIGINAL input and output
names where the module knows them; a name it does not know is kept as written, so that
`validate` can report every problem at once instead of the loader stopping at the first.
"""

from __future__ import annotations

import graphlib
import heapq
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from runner.errors import PipelineError
from runner.spec.model import ModuleSpec, ParamValue, SpecWarning
from runner.struct import Struct, field, replace

# Step names, in YAML job keys and DSL `node.name`: `${{parent.jobs.<name>...}}` must parse.
STEP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# Pipeline input types that carry a value rather than a path (CLI v2 names).
PRIMITIVE_TYPES = ("string", "integer", "number", "boolean")


class Literal(Struct):
    """A value written in the pipeline: a parameter value, or an ABSOLUTE path for a port."""

    value: ParamValue | Path


class ParentInput(Struct):
    """`${{parent.inputs.<name>}}`: the value of a pipeline input."""

    name: str


class StepOutput(Struct):
    """`${{parent.jobs.<step>.outputs.<output>}}`; `output` is the ORIGINAL output name."""

    step: str
    output: str


Binding = Literal | ParentInput | StepOutput


class PipelineInput(Struct):
    """A pipeline-level input: a primitive value or data (a path), with its current value.

    `default` is a typed value for primitives and an absolute Path for data; None: no value
    yet (given when the pipeline runs, or the input is optional)."""

    name: str
    type: str  # string / integer / number / boolean, or a data type (uri_folder, AnyFile...)
    default: ParamValue | Path | None = None
    optional: bool = False
    description: str = ""

    @property
    def is_data(self) -> bool:
        return self.type not in PRIMITIVE_TYPES


class PipelineOutput(Struct):
    """A pipeline-level output: the output `output` (ORIGINAL name) of step `step`."""

    name: str
    step: str
    output: str


def _frozen(mapping: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping))


class Step(Struct):
    """One module run in the pipeline. `bindings` are keyed by ORIGINAL input name;
    `outputs` holds per-output settings written for the step (an absolute path, or None)."""

    name: str
    module: ModuleSpec
    bindings: Mapping[str, Binding] = field(default_factory=dict)
    environment_variables: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Read-only copies: a frozen step must not change behind a scheduler's back.
        for name in ("bindings", "environment_variables", "outputs"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @property
    def effective_module(self) -> ModuleSpec:
        """The module as this step runs it: the step's environment variables over the
        module's own (they are part of its cache key, so a dry run must see them too)."""
        if not self.environment_variables:
            return self.module
        merged = {**dict(self.module.environment_variables), **self.environment_variables}
        return replace(self.module, environment_variables=tuple(sorted(merged.items())))


class Pipeline(Struct):
    source: Path | None  # the YAML file; None for a pipeline built in Python
    name: str
    inputs: tuple[PipelineInput, ...] = ()
    steps: tuple[Step, ...] = ()  # in definition order
    outputs: tuple[PipelineOutput, ...] = ()
    display_name: str = ""
    description: str = ""
    warnings: tuple[SpecWarning, ...] = ()  # about the pipeline file; modules keep their own

    def find_step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)

    def step(self, name: str) -> Step:
        """The step called `name`; a PipelineError (with a did-you-mean) when there is none."""
        found = self.find_step(name)
        if found is None:
            raise unknown_step_error(self, name)
        return found

    def find_input(self, name: str) -> PipelineInput | None:
        return next((i for i in self.inputs if i.name == name), None)

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for a close match among `known`, else ''."""
    import difflib  # here: about 1 ms to import, for error messages only

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_step(pipeline: Pipeline, name: str) -> str:
    known = ", ".join(pipeline.step_names) or "(none)"
    return f"unknown step {name!r}{did_you_mean(name, pipeline.step_names)}; steps: {known}"


def unknown_step_error(pipeline: Pipeline, name: str) -> PipelineError:
    return PipelineError(unknown_step(pipeline, name))


def unknown_input(pipeline: Pipeline, name: str) -> str:
    names = [i.name for i in pipeline.inputs]
    known = ", ".join(names) or "(none)"
    return f"unknown pipeline input {name!r}{did_you_mean(name, names)}; pipeline inputs: {known}"


# ---- the graph ----------------------------------------------------------------------------


def dependencies(step: Step) -> set[str]:
    """The steps whose outputs `step` reads (possibly unknown ones; `validate` reports them)."""
    return {b.step for b in step.bindings.values() if isinstance(b, StepOutput)}


def _graph(pipeline: Pipeline) -> dict[str, set[str]]:
    """step -> the known steps it depends on."""
    known = set(pipeline.step_names)
    return {s.name: dependencies(s) & known for s in pipeline.steps}


def find_cycle(pipeline: Pipeline) -> list[str] | None:
    """One cycle as a closed path in data-flow order (`['split', 'train', 'split']`), starting
    at its earliest-defined step so that the message is the same on every run; else None."""
    try:
        graphlib.TopologicalSorter(_graph(pipeline)).prepare()
    except graphlib.CycleError as exc:
        # graphlib gives each node followed by one that reads it: data-flow order already.
        ring: list[str] = list(exc.args[1][:-1])
        position = {name: i for i, name in enumerate(pipeline.step_names)}
        first = min(range(len(ring)), key=lambda i: position[ring[i]])
        ring = ring[first:] + ring[:first]
        return [*ring, ring[0]]
    return None


def cycle_error(cycle: list[str]) -> PipelineError:
    return PipelineError(
        f"cycle: {' -> '.join(cycle)}", "a step cannot depend, even indirectly, on itself"
    )


def topological_order(pipeline: Pipeline) -> list[str]:
    """Every step after the steps it depends on. Of the steps ready at any point, the
    earliest-defined goes first, so the order is stable and follows the file where it can.
    A cycle is a PipelineError naming it."""
    sorter = graphlib.TopologicalSorter(_graph(pipeline))
    try:
        sorter.prepare()
    except graphlib.CycleError:
        raise cycle_error(find_cycle(pipeline) or []) from None
    position = {name: i for i, name in enumerate(pipeline.step_names)}
    ready: list[tuple[int, str]] = []
    order: list[str] = []
    while sorter.is_active():
        for name in sorter.get_ready():
            heapq.heappush(ready, (position[name], name))
        _, name = heapq.heappop(ready)
        order.append(name)
        sorter.done(name)
    return order


def dependents(pipeline: Pipeline) -> dict[str, set[str]]:
    """step -> the steps that read its outputs directly."""
    out: dict[str, set[str]] = {name: set() for name in pipeline.step_names}
    for name, deps in _graph(pipeline).items():
        for dep in deps:
            out[dep].add(name)
    return out


def _closure(pipeline: Pipeline, steps: Iterable[str], edges: Mapping[str, set[str]]) -> set[str]:
    start = [pipeline.step(name).name for name in steps]
    seen = set(start)
    while start:
        for nxt in edges[start.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                start.append(nxt)
    return seen


def upstream(pipeline: Pipeline, steps: Iterable[str]) -> set[str]:
    """The given steps and every step they depend on, transitively (`--until`)."""
    return _closure(pipeline, steps, _graph(pipeline))


def downstream(pipeline: Pipeline, steps: Iterable[str]) -> set[str]:
    """The given steps and every step depending on them, transitively (`--from`)."""
    return _closure(pipeline, steps, dependents(pipeline))


def step_values(
    pipeline: Pipeline, step: Step, produced: Mapping[tuple[str, str], Path]
) -> tuple[dict[str, object], set[str]]:
    """The values for a step's inputs, and the upstream steps whose outputs are not there yet.

    `produced` maps (step, ORIGINAL output name) to where that output is. A pipeline input
    with no value leaves its binding out, so the module's own default or optionality applies.
    """
    values: dict[str, object] = {}
    waiting: set[str] = set()
    for key, binding in step.bindings.items():
        if isinstance(binding, Literal):
            values[key] = binding.value
        elif isinstance(binding, ParentInput):
            item = pipeline.find_input(binding.name)
            if item is not None and item.default is not None:
                values[key] = item.default
        elif (binding.step, binding.output) in produced:
            values[key] = produced[(binding.step, binding.output)]
        else:
            waiting.add(binding.step)
    return values, waiting
