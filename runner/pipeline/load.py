"""Load a CLI v2 pipeline job (`type: pipeline`) into the pipeline model.

Structure problems (bad YAML, a malformed `${{...}}`, a component that does not load) are
`SpecError`s with file, line, column and field. Graph problems (an unknown step or port, a
cycle, incompatible types) are left in the model for `validate`, which reports them all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from runner.errors import RunnerError, SpecError
from runner.pipeline.inputs import local_data_path, pipeline_inputs
from runner.pipeline.model import (
    STEP_NAME,
    Binding,
    Literal,
    ParentInput,
    Pipeline,
    PipelineOutput,
    Step,
    StepOutput,
)
from runner.registry.names import is_registered_form
from runner.registry.resolve import load_module_spec
from runner.spec.common import (
    Context,
    absolute,
    environment_variables,
    fields,
    limits_timeout,
    opt_text,
    present,
)
from runner.spec.files import is_remote
from runner.spec.load import detect_generation, load_inline_spec, pipeline_marker
from runner.spec.model import InputPort, ModuleSpec
from runner.spec.resources import step_resources
from runner.spec.source import Document, Node, load_document, parse_document
from runner.struct import Struct, field, replace

if TYPE_CHECKING:
    from runner.registry.lookup import Purpose

_TOP_KEYS = (
    *("$schema", "type", "name", "display_name", "description", "tags", "experiment_name"),
    *("inputs", "outputs", "jobs", "settings", "compute", "identity", "properties"),
)
_STEP_KEYS = (
    *("type", "component", "inputs", "outputs", "environment_variables"),
    *("name", "display_name", "description", "tags", "properties"),
    *("compute", "resources", "distribution", "limits", "identity", "services", "settings"),
)
# Cloud settings with no meaning on one machine: read, said to be ignored, never an error.
# (A step's `limits.timeout` is honoured: the step's run timeout unless --timeout overrides.)
_CLOUD_ONLY = ("settings", "compute", "identity", "resources", "distribution", "services")
_STEP_TYPES = ("command", "parallel")
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.DOTALL)
_PARENT_INPUT = re.compile(r"parent\.inputs\.([\w-]+)")
# Output names may be original ones, spaces and all (`Output path`).
_JOB_OUTPUT = re.compile(r"parent\.jobs\.([\w-]+)\.outputs\.([^.{}]+)")
_PARENT_OUTPUT = re.compile(r"parent\.outputs\.([\w-]+)")
_FORMS = "${{parent.inputs.<name>}} or ${{parent.jobs.<step>.outputs.<output>}}"


def load_pipeline(
    path: str | os.PathLike[str], *, registry: Path | None = None, purpose: Purpose = "run"
) -> Pipeline:
    """Read the pipeline job at `path`; its components are loaded relative to its folder, and
    registered ones (`azureml:...`) from `registry` (default: $RUNNER_REGISTRY, XDG). With
    `purpose="run"` a disabled registered version is refused."""
    doc = load_document(Path(os.path.normpath(Path(path).absolute())))
    return _load(doc, _Components(registry, purpose))


def load_pipeline_text(
    path: Path, text: str, *, registry: Path | None = None, purpose: Purpose = "run"
) -> Pipeline:
    """Load pipeline `text` as if read from `path` (named in messages, base of relative paths)."""
    doc = parse_document(Path(os.path.normpath(path.absolute())), text)
    return _load(doc, _Components(registry, purpose))


class _Components(Struct, frozen=False):
    """How this load finds components, and those it loaded (each file or name once)."""

    registry: Path | None
    purpose: Purpose
    loaded: dict[str, ModuleSpec] = field(default_factory=dict)


class _ParentOutput(Struct):
    """`${{parent.outputs.<name>}}`, only meaningful in a step's `outputs`."""

    name: str


class _Job(Struct, frozen=False):
    """A job read in the first pass; bindings wait until every step's module is known."""

    name: str
    node: Node
    module: ModuleSpec
    env: dict[str, str]
    outputs: dict[str, str | None] = field(default_factory=dict)


def _load(doc: Document, components: _Components) -> Pipeline:
    ctx = Context(doc)
    root = doc.root
    _check_is_pipeline(root)
    fields(ctx, root, _TOP_KEYS)
    _warn_cloud_only(ctx, root)
    inputs = pipeline_inputs(ctx, present(root, "inputs"))
    jobs_node = root.require("jobs", "the steps of the pipeline")
    if not jobs_node.mapping():
        raise jobs_node.expected("at least one job")
    jobs = [_job(ctx, name, node, components) for name, node in jobs_node.mapping().items()]
    by_name = {job.name: job for job in jobs}
    bindings = {job.name: _bindings(ctx, job, by_name) for job in jobs}
    bound: dict[str, tuple[PipelineOutput, Node]] = {}
    for job in jobs:
        _step_outputs(ctx, job, bound)
    outputs = _pipeline_outputs(ctx, present(root, "outputs"), by_name, bound)
    return Pipeline(
        source=doc.path,
        name=opt_text(root, "name") or doc.path.stem,
        inputs=inputs,
        steps=tuple(Step(j.name, j.module, bindings[j.name], j.env, j.outputs) for j in jobs),
        outputs=outputs,
        display_name=opt_text(root, "display_name"),
        description=opt_text(root, "description"),
        warnings=tuple(ctx.warnings),
    )


def _check_is_pipeline(root: Node) -> None:
    if not root.is_map():
        raise root.expected("a mapping of pipeline fields")
    if pipeline_marker(root) is not None:
        return
    try:
        detect_generation(root)
    except SpecError:
        raise root.error(
            "not a pipeline job: expected `type: pipeline`",
            "a pipeline job has `type: pipeline` and a `jobs` mapping of steps",
        ) from None
    raise root.error("this is a module spec, not a pipeline", "run it with `runner run`")


def _warn_cloud_only(ctx: Context, node: Node, used: tuple[str, ...] = ()) -> None:
    for key in (key for key in _CLOUD_ONLY if key not in used):
        child = node.get(key)
        if child is not None:
            ctx.warn(child, f"'{key}' has no effect in a local run; ignored")


# ---- jobs ---------------------------------------------------------------------------------


def _job(ctx: Context, name: str, node: Node, components: _Components) -> _Job:
    if not STEP_NAME.fullmatch(name):
        raise node.error(
            f"job name {name!r} is not valid",
            "start with a letter or '_', then letters, digits, '_' or '-'",
        )
    if not node.is_map():
        raise node.expected("a mapping such as {component: ./train.yml, inputs: {...}}")
    fields(ctx, node, _STEP_KEYS)
    _warn_cloud_only(ctx, node, used=("resources",))  # a step's GPUs, CPUs, memory
    kind = present(node, "type")
    if kind is not None and kind.text().strip().lower() not in _STEP_TYPES:
        raise kind.error(
            f"job type {kind.text()!r} cannot run locally",
            "steps are `type: command` (or parallel) jobs running a component",
        )
    component = present(node, "component")
    if component is None:
        inline = "command" in node.mapping()
        raise node.error(
            f"job {name!r} has no component",
            "inline command jobs are not supported: put the command in a component file"
            " and name it with `component: ./file.yml`"
            if inline
            else "name its component file: `component: ./file.yml`",
        )
    module = _module(name, component, ctx.spec_dir, components)
    timeout = limits_timeout(ctx, present(node, "limits"))
    if timeout is not None:
        module = replace(module, timeout=timeout)
    env = dict(environment_variables(present(node, "environment_variables")))
    resources = present(node, "resources")
    if resources is not None:
        module = replace(module, resources=step_resources(ctx, resources, module.resources))
    return _Job(name, node, module, env)


def _module(step: str, node: Node, base: Path, components: _Components) -> ModuleSpec:
    if node.is_map() and not is_registered_mapping(node):
        return _inline(step, node)
    written = _registered_mapping(node) if node.is_map() else node.string().strip()
    if is_registered_form(written):
        key = written
    else:
        local = written[len("file:") :] if written.lower().startswith("file:") else written
        if not local or is_remote(local):
            raise node.expected("a path to a component file", "e.g. `component: ./train.yml`")
        key = str(absolute(base, local))
    if key not in components.loaded:
        try:
            components.loaded[key] = load_module_spec(
                key, registry=components.registry, purpose=components.purpose
            )
        except SpecError as exc:
            raise node.error(
                f"step {step!r}: cannot load component {written!r}: {exc.message}", exc.hint
            ) from None
        except RunnerError as exc:  # a registered name that is unknown or disabled
            raise node.error(f"step {step!r}: {exc.message}", exc.hint) from None
    return components.loaded[key]


def _inline(step: str, node: Node) -> ModuleSpec:
    """`component: {type: command, ...}`: a component written in the pipeline file; its paths
    (`code`, conda files) are relative to the pipeline's folder, as the service takes them."""
    kind = present(node, "type")
    if kind is None or kind.text().strip().lower() != "command":
        raise node.error(
            f"step {step!r}: an inline component needs `type: command`",
            "or put the component in its own file: `component: ./file.yml`",
        )
    try:
        return load_inline_spec(node)
    except SpecError as exc:
        raise SpecError(
            exc.location, f"step {step!r}: inline component: {exc.reason}", exc.hint
        ) from None


def is_registered_mapping(node: Node) -> bool:
    """`{name, version[, namespace]}`: a registered component; other mappings are inline."""
    keys = set(node.mapping())
    return "name" in keys and keys <= {"name", "version", "namespace"}


def _registered_mapping(node: Node) -> str:
    """`component: {name: X, version: V}` (a legacy-style reference to a registered module;
    `namespace` optional) as `azureml:[NS/]X:V`."""
    name = node.require("name").text().strip()
    namespace = present(node, "namespace")
    if namespace is not None:
        name = f"{namespace.text().strip()}/{name}"
    version = present(node, "version")
    return f"azureml:{name}" + ("" if version is None else f":{version.text().strip()}")


# ---- bindings -----------------------------------------------------------------------------


def _expression(node: Node) -> ParentInput | StepOutput | _ParentOutput | None:
    """The `${{...}}` binding written at `node`, or None for a plain value."""
    if not isinstance(node.value, str) or "${{" not in node.value:
        return None
    whole = _EXPRESSION.fullmatch(node.value.strip())
    if whole is None:
        raise node.error(
            "a `${{...}}` binding must be the whole value", f"write {_FORMS} on its own"
        )
    body = whole.group(1)
    if found := _PARENT_INPUT.fullmatch(body):
        return ParentInput(found.group(1))
    if found := _JOB_OUTPUT.fullmatch(body):
        return StepOutput(found.group(1), found.group(2))
    if found := _PARENT_OUTPUT.fullmatch(body):
        return _ParentOutput(found.group(1))
    raise node.error(f"unknown binding `${{{{{body}}}}}`", f"bindings are {_FORMS}")


def _bindings(ctx: Context, job: _Job, jobs: Mapping[str, _Job]) -> dict[str, Binding]:
    node = present(job.node, "inputs")
    bindings: dict[str, Binding] = {}
    written_as: dict[str, str] = {}
    for key, value_node in ({} if node is None else node.mapping()).items():
        if value_node.value is None:
            continue  # `name:` with nothing after it binds nothing
        item = job.module.find_input(key)
        name = key if item is None else item.name
        if name in written_as:
            raise value_node.error(
                f"input {name!r} is bound twice: as {written_as[name]!r} and as {key!r}",
                "bind it once, by either name",
            )
        written_as[name] = key
        bindings[name] = _binding(ctx, value_node, isinstance(item, InputPort), jobs)
    return bindings


def _binding(ctx: Context, node: Node, is_port: bool, jobs: Mapping[str, _Job]) -> Binding:
    if node.is_map():
        # The long form {type: uri_folder, path: ./data | ${{...}}}; `type`, `mode` are
        # the cloud's business: the module declares what it takes.
        fields(ctx, node, ("type", "path", "mode", "description", "optional"))
        path = present(node, "path")
        if path is None:
            raise node.error("missing required field 'path'", f"give a path or {_FORMS}")
        return _binding(ctx, path, True, jobs)
    if isinstance(node.value, list):
        raise node.expected(f"a value, a path or {_FORMS}")
    found = _expression(node)
    if isinstance(found, _ParentOutput):
        raise node.error("`${{parent.outputs...}}` binds a step OUTPUT; an input takes " + _FORMS)
    if isinstance(found, StepOutput):
        return _resolve_output(found, jobs)
    if found is not None:
        return found
    if not is_port:
        assert isinstance(node.value, (str, int, float, bool))  # null and containers are out
        return Literal(node.value)
    return Literal(local_data_path(node, node.doc.path.parent))


def _resolve_output(ref: StepOutput, jobs: Mapping[str, _Job]) -> StepOutput:
    """The output by its original name when the step and output are known (else as written,
    for `validate` to report)."""
    job = jobs.get(ref.step)
    output = None if job is None else job.module.find_output(ref.output)
    return ref if output is None else StepOutput(ref.step, output.name)


# ---- outputs ------------------------------------------------------------------------------

_OUTPUT_KEYS = ("type", "path", "mode", "description", "name", "version")


def _path_part(ctx: Context, node: Node) -> Node:
    """The node holding an output's path or binding: the value itself, or the `path` of the
    long form `{type: uri_folder, path: ...}` (a null node when that has no path)."""
    if not node.is_map():
        return node
    fields(ctx, node, _OUTPUT_KEYS)
    return node.get("path") or node.child("path", None)


def _step_outputs(ctx: Context, job: _Job, bound: dict[str, tuple[PipelineOutput, Node]]) -> None:
    """Settings per output of `job` (a local path or None), and the pipeline outputs bound to
    its outputs with `${{parent.outputs.<name>}}`."""
    node = present(job.node, "outputs")
    for key, value in ({} if node is None else node.mapping()).items():
        out = job.module.find_output(key)
        name = key if out is None else out.name
        target = _path_part(ctx, value)
        found = _expression(target)
        if isinstance(found, _ParentOutput):
            _bind_pipeline_output(bound, PipelineOutput(found.name, job.name, name), target)
            job.outputs[name] = None
        elif found is not None:
            raise target.error(
                "a step output is bound to a pipeline output: `${{parent.outputs.<name>}}`"
            )
        elif target.value is None:
            job.outputs[name] = None
        else:
            job.outputs[name] = str(local_data_path(target, ctx.spec_dir))


def _bind_pipeline_output(
    bound: dict[str, tuple[PipelineOutput, Node]], output: PipelineOutput, node: Node
) -> None:
    first, first_node = bound.setdefault(output.name, (output, node))
    if first != output:
        where = first_node.location()
        raise node.error(
            f"pipeline output {output.name!r} is bound twice: also to"
            f" {first.step}.{first.output} ({where.field}, line {where.line})"
        )


def _pipeline_outputs(
    ctx: Context,
    node: Node | None,
    jobs: Mapping[str, _Job],
    bound: dict[str, tuple[PipelineOutput, Node]],
) -> tuple[PipelineOutput, ...]:
    """Top-level `outputs`: bound here to a step output, or declared here and bound in a step.
    A local `path` places the step output there unless the step already places it."""
    for name, value in ({} if node is None else node.mapping()).items():
        target = _path_part(ctx, value)
        found = _expression(target)
        place: Path | None = None
        if found is None and target is not value and target.value is not None:
            place = local_data_path(target, ctx.spec_dir)
        if isinstance(found, StepOutput):
            ref = _resolve_output(found, jobs)
            _bind_pipeline_output(bound, PipelineOutput(name, ref.step, ref.output), target)
        elif found is not None:
            raise target.error(
                "a pipeline output is bound to a step output:"
                " `${{parent.jobs.<step>.outputs.<output>}}`"
            )
        if name not in bound:
            raise value.error(
                f"pipeline output {name!r} is not bound to any step output",
                f"bind it here as ${{{{parent.jobs.<step>.outputs.<output>}}}}, or in a step's"
                f" outputs as ${{{{parent.outputs.{name}}}}}",
            )
        output = bound[name][0]
        job = jobs.get(output.step)
        if place is not None and job is not None and job.outputs.get(output.output) is None:
            job.outputs[output.output] = str(place)
    return tuple(output for output, _ in bound.values())
