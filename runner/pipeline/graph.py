"""A pipeline as a graph of steps and edges: `runner pipeline show --json` and the web page.

The page contract (fixed by the issue that introduced the page): `steps` is a list of
`{"name", "component", "inputs", "outputs", ...}` and `edges` a list of
`{"from": "step.output", "to": "step.input", "type", ...}`; the page shows exactly these.
`component` is what the pipeline file names: a registered module as written there
(`azureml:sar_train:0.2.0`, `azureml:sar_train`; the `{name, version}` form as
`azureml:NAME:VERSION`), a spec file by its path relative to the pipeline file. Ports are named
by their python names (the names a pipeline file binds); extra fields carry what a view needs
(types, bound values, parameters, the registered name and version) and may grow.
"""

from __future__ import annotations

import os
from pathlib import Path

from runner.errors import RunnerError
from runner.pipeline.model import Literal, ParentInput, Pipeline, Step, StepOutput
from runner.registry.names import PREFIX, is_registered_form
from runner.spec.model import InputPort, ModuleSpec, Parameter
from runner.spec.source import load_document


def pipeline_graph(pipeline: Pipeline) -> dict[str, object]:
    """The steps (in definition order) and the edges between their ports."""
    base = pipeline.source.parent if pipeline.source else None
    registered = registered_components(pipeline)
    return {
        "name": pipeline.name,
        "display_name": pipeline.display_name,
        "source": str(pipeline.source) if pipeline.source else None,
        "inputs": [
            {"name": item.name, "type": item.type, "value": _plain(item.default)}
            for item in pipeline.inputs
        ],
        "steps": [
            _step(pipeline, step, base, registered.get(step.name)) for step in pipeline.steps
        ],
        "edges": [edge for step in pipeline.steps for edge in _edges(pipeline, step)],
    }


def component_path(module: ModuleSpec, base: Path | None) -> str:
    """The module's spec file as a pipeline in `base` names it (`./modules/train.yaml`)."""
    if base is None:
        return str(module.source)
    relative = Path(os.path.relpath(module.source, base)).as_posix()
    return relative if relative.startswith("../") else f"./{relative}"


def registered_name(module: ModuleSpec) -> str:
    """The name a module is registered under (NAMESPACE/NAME for a legacy module)."""
    return module.identity.removesuffix(f":{module.version}")


def registered_reference(module: ModuleSpec) -> str:
    """`azureml:NAME:VERSION`: how a pipeline file names this registered version."""
    return reference_text(registered_name(module), module.version)


def reference_text(name: str, version: str) -> str:
    return f"{PREFIX}{name}:{version}"


def registered_components(pipeline: Pipeline) -> dict[str, str]:
    """The steps whose component the pipeline file names in the registry, with the reference
    as written (the `{name, version}` form as `azureml:NAME:VERSION`). The file is read again
    (the model keeps modules, not how they were named); one that cannot be read names none."""
    if pipeline.source is None:
        return {}
    try:
        jobs = load_document(pipeline.source).root.get("jobs")
        written = {
            name: job.get("component") for name, job in (jobs.mapping() if jobs else {}).items()
        }
    except RunnerError:
        return {}
    found = {}
    for step in pipeline.steps:
        node = written.get(step.name)
        if node is None:
            continue
        if node.is_map():  # the loader takes no other mapping: {name, version[, namespace]}
            found[step.name] = registered_reference(step.module)
        elif isinstance(node.value, str) and is_registered_form(node.value):
            found[step.name] = node.value.strip()
    return found


def edge_type(types: tuple[str, ...]) -> str:
    return "/".join(types) or "any"


def _step(
    pipeline: Pipeline, step: Step, base: Path | None, reference: str | None
) -> dict[str, object]:
    module = step.module
    return {
        "name": step.name,
        "component": reference or component_path(module, base),
        "registered": (
            {"name": registered_name(module), "version": module.version} if reference else None
        ),
        "spec": str(module.source),
        "inputs": [port.python_name for port in module.ports],
        "outputs": [port.python_name for port in module.outputs],
        "module": module.identity,
        "display_name": module.display_name or module.name,
        "ports": {
            "inputs": [_input_port(pipeline, step, port) for port in module.ports],
            "outputs": [
                {"name": out.python_name, "types": list(out.types), "file": out.is_file}
                for out in module.outputs
            ],
        },
        "parameters": {
            item.python_name: _binding_text(pipeline, step, item)
            for item in module.parameters
            if item.name in step.bindings
        },
    }


def _input_port(pipeline: Pipeline, step: Step, port: InputPort) -> dict[str, object]:
    return {
        "name": port.python_name,
        "types": list(port.types),
        "optional": port.optional,
        "file": port.is_file,
        "bound": _binding_text(pipeline, step, port) if port.name in step.bindings else None,
    }


def _binding_text(pipeline: Pipeline, step: Step, item: InputPort | Parameter) -> object:
    """What an input is bound to, as a pipeline file writes it."""
    binding = step.bindings[item.name]
    if isinstance(binding, ParentInput):
        return f"${{{{parent.inputs.{binding.name}}}}}"
    if isinstance(binding, StepOutput):
        return f"${{{{parent.jobs.{binding.step}.outputs.{_output_name(pipeline, binding)}}}}}"
    assert isinstance(binding, Literal)
    return _plain(binding.value)


def _plain(value: object) -> object:
    return str(value) if isinstance(value, Path) else value


def _edges(pipeline: Pipeline, step: Step) -> list[dict[str, object]]:
    edges: list[dict[str, object]] = []
    for port in step.module.ports:
        binding = step.bindings.get(port.name)
        if not isinstance(binding, StepOutput):
            continue
        source = pipeline.find_step(binding.step)
        out = None if source is None else source.module.find_output(binding.output)
        edges.append(
            {
                "from": f"{binding.step}.{_output_name(pipeline, binding)}",
                "to": f"{step.name}.{port.python_name}",
                "type": edge_type(out.types) if out else "any",
            }
        )
    return edges


def _output_name(pipeline: Pipeline, ref: StepOutput) -> str:
    """The python name of the output `ref` reads (as written when it names no output)."""
    source = pipeline.find_step(ref.step)
    out = None if source is None else source.module.find_output(ref.output)
    return ref.output if out is None else out.python_name
