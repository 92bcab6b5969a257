"""Saving a pipeline edited in the page as CLI v2 pipeline YAML that `runner pipeline run` takes.

An existing file is edited in place with ruamel.yaml's round trip: comments, key order,
quoting and everything the page does not edit (pipeline inputs and outputs, settings, step
outputs) stay as written; only the jobs and inputs that changed are touched. The text is
loaded back with the pipeline loader before anything is written: a file the loader refuses is
never saved. Graph problems (a required input not bound yet) are returned with the save, as
`runner pipeline run` would list them.

A job's `component` stays as written while it still names the step's module, in any form the
loader takes (`./train.yml`, `file:train.yml`, `azureml:train`, `azureml:train@latest`,
`{name: train, version: 1}`); a changed module is written `azureml:NAME:VERSION` when it is a
registered version, else as the path of its spec file relative to the pipeline file.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from runner.errors import RunnerError, UsageError
from runner.files import write_text_atomic
from runner.pipeline.graph import component_path
from runner.pipeline.load import load_pipeline_text
from runner.pipeline.validate import check
from runner.registry.api import is_registered_form, load_registered
from runner.spec.common import absolute
from runner.spec.load import load_spec
from runner.spec.model import ModuleSpec
from runner.struct import Struct

_PARENT_OUTPUT = re.compile(r"\$\{\{\s*parent\.outputs\.([\w-]+)\s*\}\}")
_JOB_OUTPUT = re.compile(r"\$\{\{\s*parent\.jobs\.([\w-]+)\.outputs\.")
NEW_PIPELINE = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: {name}
jobs: {{}}
"""

Value = str | int | float | bool


class StepEdit(Struct):
    """One step as the page has it: its module's spec file, every input written for it
    (python names; `${{...}}` text for bindings), and `component`: azureml:NAME:VERSION for a
    registered version ("" for a spec file, named by its path)."""

    name: str
    module: Path
    inputs: Mapping[str, Value]
    component: str = ""


class Saved(Struct):
    path: Path
    text: str
    problems: tuple[str, ...]


def save_pipeline(
    target: Path,
    steps: Sequence[StepEdit],
    display_name: str = "",
    *,
    new: bool = False,
    registry: Path | None = None,
) -> Saved:
    """Write `steps` as the jobs of the pipeline at `target` (made when it does not exist).
    `new`: the page made this pipeline, so an existing file there is never replaced.
    `registry`: where its registered components are (None: $RUNNER_REGISTRY, the default)."""
    if new and target.exists():
        raise UsageError(f"{target} already exists", "save the new pipeline under another name")
    if not target.name.endswith((".yml", ".yaml")):
        raise UsageError(f"{target.name}: a pipeline file ends in .yml or .yaml")
    if not steps:
        raise UsageError("a pipeline needs at least one step", "drag a module from the palette")
    yaml = _yaml()
    exists = target.is_file()
    text = target.read_text(encoding="utf-8") if exists else NEW_PIPELINE.format(
        name=display_name or target.stem
    )  # fmt: skip
    doc = yaml.load(text)
    if not isinstance(doc, CommentedMap) or doc.get("type") != "pipeline":
        raise UsageError(f"{target}: not a pipeline job (`type: pipeline`): not replaced")
    jobs = doc.get("jobs")
    if not isinstance(jobs, CommentedMap):
        jobs = doc["jobs"] = CommentedMap()
    _drop_outputs(doc, _apply(jobs, steps, target.parent, registry))
    stream = io.StringIO()
    yaml.dump(doc, stream)
    new_text = stream.getvalue()
    try:
        # "inspect": a step may keep a version disabled since; `runner pipeline run` says so.
        pipeline = load_pipeline_text(target, new_text, registry=registry, purpose="inspect")
    except RunnerError as exc:
        raise UsageError(f"not saved: {exc}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, new_text)
    return Saved(target, new_text, tuple(check(pipeline)))


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _apply(
    jobs: CommentedMap, steps: Sequence[StepEdit], folder: Path, registry: Path | None
) -> dict[str, object]:
    """Make `jobs` what the page has; the jobs removed are returned."""
    wanted = {step.name for step in steps}
    removed = {name: jobs.pop(name) for name in [key for key in jobs if key not in wanted]}
    for step in steps:
        spec = _spec(step.module)
        job = jobs.get(step.name)
        if not isinstance(job, CommentedMap):
            job = jobs[step.name] = CommentedMap()
            job["type"] = "command"
        if _written_spec(job.get("component"), folder, registry) != spec.source:
            job["component"] = step.component or component_path(spec, folder)
        _apply_inputs(job, spec, step.inputs)
    return removed


def _written_spec(written: object, folder: Path, registry: Path | None) -> Path | None:
    """The spec file the `component` written in a job loads, as the pipeline loader reads it;
    None when it loads none (then it is written anew)."""
    if isinstance(written, Mapping):  # {name, version[, namespace]}: a registered module
        name = "/".join(str(written[key]) for key in ("namespace", "name") if key in written)
        version = written.get("version")
        written = f"azureml:{name}" + ("" if version is None else f":{version}")
    if not isinstance(written, str):
        return None
    if not is_registered_form(written):
        return _resolve(folder, written)
    try:
        return load_registered(written, registry).source
    except RunnerError:
        return None  # unknown or damaged: the step's module is written instead


def _drop_outputs(doc: CommentedMap, removed: Mapping[str, object]) -> None:
    """Pipeline outputs bound to removed jobs go with them (as in Designer): those bound in
    the jobs' own outputs, and those bound at the top to one of their outputs."""
    outputs = doc.get("outputs")
    if not isinstance(outputs, CommentedMap) or not removed:
        return
    gone = set()
    for job in removed.values():
        job_outputs = job.get("outputs") if isinstance(job, Mapping) else None
        for value in (job_outputs or {}).values():
            found = _PARENT_OUTPUT.search(str(_written(value)))
            if found:
                gone.add(found.group(1))
    for name, value in outputs.items():
        found = _JOB_OUTPUT.search(str(_written(value)))
        if found and found.group(1) in removed:
            gone.add(name)
    for name in gone:
        outputs.pop(name, None)
    if not outputs:
        del doc["outputs"]


def _spec(path: Path) -> ModuleSpec:
    try:
        return load_spec(path)
    except RunnerError as exc:
        raise UsageError(f"not saved: {exc}") from None


def _resolve(folder: Path, written: str) -> Path | None:
    local = written[len("file:") :] if written.lower().startswith("file:") else written
    return absolute(folder, local)


def _apply_inputs(job: CommentedMap, spec: ModuleSpec, wanted: Mapping[str, Value]) -> None:
    inputs = job.get("inputs")
    if not isinstance(inputs, CommentedMap):
        if not wanted:
            job.pop("inputs", None)
            return
        inputs = job["inputs"] = CommentedMap()
    seen: set[str] = set()
    for key in list(inputs):
        item = spec.find_input(str(key))
        name = item.python_name if item else str(key)
        seen.add(name)
        if name not in wanted:
            del inputs[key]
        elif not _same(inputs[key], wanted[name]):
            _set(inputs, key, wanted[name])
    for name, value in wanted.items():
        if name not in seen:
            inputs[name] = value
    if not inputs:
        del job["inputs"]


def _written(node: object) -> object:
    """The value of an input as written: the `path` of the long form {type, path}."""
    return node.get("path") if isinstance(node, Mapping) else node


def _same(node: object, value: Value) -> bool:
    written = _written(node)
    if isinstance(value, bool) or isinstance(written, bool):
        return written is value or str(written).lower() == str(value).lower()
    return written == value or str(written) == str(value)


def _set(inputs: CommentedMap, key: object, value: Value) -> None:
    node = inputs[key]
    if isinstance(node, CommentedMap) and "path" in node:
        node["path"] = value
    else:
        inputs[key] = value


def relative_target(root: Path, written: str) -> Path:
    """Where a page may save: a path inside the served folder."""
    target = Path(os.path.normpath(root / written))
    if not target.is_relative_to(root):
        raise UsageError(f"{written!r}: save inside {root}")
    return target
