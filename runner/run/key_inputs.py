"""Gather a run's cache-key parts: digest its inputs (through the stat memo) and its command."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from runner.cache.state import StateDB
from runner.cache.trees import check_input
from runner.errors import BindingError
from runner.run.key import InputPart, KeyParts, abstract_paths, module_digest
from runner.run.launch import command
from runner.snapshot.model import SnapshotPlan
from runner.spec.model import ModuleSpec, ParamValue


def key_parts(
    spec: ModuleSpec,
    values: Mapping[str, ParamValue],
    inputs: Mapping[str, Path],
    plan: SnapshotPlan | None,
    environment: str,
    state: StateDB | None,
) -> KeyParts:
    abstract_inputs, abstract_outputs = abstract_paths(spec)
    given = {name: abstract_inputs[name] for name in inputs if name in abstract_inputs}
    argv = command(spec, values, given, abstract_outputs, "<parallel-driver>")
    return KeyParts(
        module=module_digest(spec),
        command=tuple(argv),
        parameters=dict(values),
        inputs={name: input_part(path, state, name) for name, path in inputs.items()},
        code=plan.digest if plan else "",
        environment=environment,
        environment_variables=dict(spec.environment_variables),
        code_files={entry.relpath: entry.content for entry in plan.entries} if plan else {},
    )


def input_part(path: Path, state: StateDB | None, name: str) -> InputPart:
    try:
        checked = check_input(path, state)
    except OSError as exc:
        raise BindingError(f"input '{name}': cannot read {path}: {exc.strerror or exc}") from None
    if checked.single_file:
        return InputPart(checked.digest, path.name, {path.name: checked.files.get("", "")})
    return InputPart(checked.digest, None, checked.files)
