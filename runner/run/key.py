"""The cache key: a pure, versioned function of everything that can change a module's outputs.

Parts (all path-independent; no mtimes):
- `format`: the cache format version, bumped whenever the meaning of a key changes;
- `module`: the digest of the spec's normalised definition (interface, command template, job
  settings), without documentation fields (description, display name, tags, version), so that a
  cosmetic edit does not re-run anything;
- `command`: the argv rendered with abstract paths (`<inputs/NAME>`, `<outputs/NAME>`);
- `parameters`: bound parameter values, typed;
- `inputs`: per input port, the content digest of the file or of every file in the folder, plus
  a file input's basename (a script may dispatch on the extension);
- `code`: the snapshot digest;
- `environment`: the environment's content fingerprint;
- `environment_variables`: the variables the spec declares.

`explain` compares the parts of two keys and says in words what changed, down to the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from runner.errors import quote
from runner.hashing import hash_text
from runner.spec.model import Input, InputPort, ModuleSpec, ParamValue
from runner.struct import Struct, field
from runner.template.text import template_text

CACHE_FORMAT = 1


class InputPart(Struct):
    digest: str
    basename: str | None = None  # files only
    files: Mapping[str, str] = field(default_factory=dict)  # relpath -> digest, for explain

    def identity(self) -> dict[str, object]:
        return {"digest": self.digest, "basename": self.basename}


class KeyParts(Struct):
    module: str
    command: tuple[str, ...]
    parameters: Mapping[str, ParamValue]
    inputs: Mapping[str, InputPart]
    code: str
    environment: str
    environment_variables: Mapping[str, str]
    code_files: Mapping[str, str] = field(default_factory=dict)  # relpath -> content, for explain
    format: int = CACHE_FORMAT

    def identity(self) -> dict[str, object]:
        """Exactly what the key is a digest of."""
        return {
            "format": self.format,
            "module": self.module,
            "command": list(self.command),
            "parameters": dict(sorted(self.parameters.items())),
            "inputs": {name: part.identity() for name, part in sorted(self.inputs.items())},
            "code": self.code,
            "environment": self.environment,
            "environment_variables": dict(sorted(self.environment_variables.items())),
        }

    @property
    def key(self) -> str:
        return hash_text(_canonical(self.identity()))

    def to_json(self) -> dict[str, object]:
        """The identity plus the per-file details that let `explain` name changed files."""
        data = self.identity()
        data["input_files"] = {name: dict(part.files) for name, part in self.inputs.items()}
        data["code_files"] = dict(self.code_files)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> KeyParts:
        """Rebuild stored parts; raises KeyError/TypeError/ValueError on malformed data."""
        inputs_raw = _mapping(data["inputs"])
        files_raw = _mapping(data.get("input_files", {}))
        inputs = {
            name: InputPart(
                digest=str(_mapping(part)["digest"]),
                basename=_optional_str(_mapping(part).get("basename")),
                files={k: str(v) for k, v in _mapping(files_raw.get(name, {})).items()},
            )
            for name, part in inputs_raw.items()
        }
        command = data["command"]
        if not isinstance(command, list):
            raise TypeError("command is not a list")
        return cls(
            module=str(data["module"]),
            command=tuple(str(arg) for arg in command),
            parameters={k: _param(v) for k, v in _mapping(data["parameters"]).items()},
            inputs=inputs,
            code=str(data["code"]),
            environment=str(data["environment"]),
            environment_variables={
                k: str(v) for k, v in _mapping(data["environment_variables"]).items()
            },
            code_files={k: str(v) for k, v in _mapping(data.get("code_files", {})).items()},
            format=int(str(data["format"])),
        )


def _canonical(data: object) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _mapping(value: object) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise TypeError("expected a mapping")
    return value


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _param(value: object) -> ParamValue:
    if isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"unexpected parameter value {quote(value)}")


def module_digest(spec: ModuleSpec) -> str:
    """What in a spec changes what the command does; documentation and identity are left out."""
    definition = {
        "job_type": spec.job_type.value,
        "return_code": spec.return_code.value,
        "inputs": [_input_definition(item) for item in spec.inputs],
        "outputs": [[out.name, list(out.types), out.is_file] for out in spec.outputs],
        "command": template_text(spec.command),
        "parallel": (
            [
                list(spec.parallel.input_data),
                spec.parallel.output_data,
                spec.parallel.entry,
                template_text(spec.parallel.args),
                spec.parallel.mini_batch_size,
                spec.parallel.error_threshold,
            ]
            if spec.parallel
            else None
        ),
        "distribution": (
            [spec.distribution.type, spec.distribution.process_count] if spec.distribution else None
        ),
        "instance_count": spec.resources.instance_count,
    }
    return hash_text(_canonical(definition))


def _input_definition(item: Input) -> list[object]:
    if isinstance(item, InputPort):
        return ["port", item.name, list(item.types), item.optional]
    return [
        "parameter",
        item.name,
        item.type.value,
        item.optional,
        item.default,
        item.min,
        item.max,
        list(item.option_values),
        [item.enabled_by.parent, item.enabled_by.option] if item.enabled_by else None,
    ]


def abstract_paths(spec: ModuleSpec) -> tuple[dict[str, str], dict[str, str]]:
    """Stand-ins for host paths, so the key never depends on where files live."""
    inputs = {port.name: f"<inputs/{port.python_name}>" for port in spec.ports}
    outputs = {out.name: f"<outputs/{out.python_name}>" for out in spec.outputs}
    return inputs, outputs


def explain(old: KeyParts, new: KeyParts) -> list[str]:
    """What changed from `old` to `new`, one line per difference, in words a user acts on."""
    if old.format != new.format:
        return [f"the cache format changed ({old.format} -> {new.format})"]
    reasons: list[str] = []
    if old.module != new.module:
        reasons.append("the module spec changed (interface, command or job settings)")
    parameter_changes = _parameter_changes(old.parameters, new.parameters)
    # A changed parameter or a newly given input changes the command too; say it only when the
    # command changed on its own (e.g. a different spec generation rendering).
    if (
        old.module == new.module
        and old.command != new.command
        and not parameter_changes
        and set(old.inputs) == set(new.inputs)
    ):
        reasons.append(f"command: {_argv(old.command)} -> {_argv(new.command)}")
    reasons += parameter_changes
    reasons += _input_changes(old.inputs, new.inputs)
    if old.code != new.code:
        details = _file_changes(old.code_files, new.code_files) or ["the snapshot changed"]
        reasons += [f"code: {line}" for line in details]
    if old.environment != new.environment:
        reasons.append("environment changed")
    for name in sorted(set(old.environment_variables) | set(new.environment_variables)):
        before = old.environment_variables.get(name)
        after = new.environment_variables.get(name)
        if before != after:
            reasons.append(f"environment variable {name}: {quote(before)} -> {quote(after)}")
    return reasons


def _argv(argv: Sequence[str]) -> str:
    return " ".join(argv)


def _parameter_changes(old: Mapping[str, ParamValue], new: Mapping[str, ParamValue]) -> list[str]:
    lines = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            lines.append(f"parameter {name}: set to {quote(new[name])}")
        elif name not in new:
            lines.append(f"parameter {name}: no longer set (was {quote(old[name])})")
        elif old[name] != new[name] or type(old[name]) is not type(new[name]):
            lines.append(f"parameter {name}: {quote(old[name])} -> {quote(new[name])}")
    return lines


def _input_changes(old: Mapping[str, InputPart], new: Mapping[str, InputPart]) -> list[str]:
    lines = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            lines.append(f"input '{name}': now given")
        elif name not in new:
            lines.append(f"input '{name}': no longer given")
        elif old[name].digest != new[name].digest or old[name].basename != new[name].basename:
            details = _file_changes(old[name].files, new[name].files)
            if old[name].basename != new[name].basename:
                details.insert(0, f"file name {old[name].basename} -> {new[name].basename}")
            lines += [f"input '{name}': {d}" for d in details] or [f"input '{name}': changed"]
    return lines


def _file_changes(old: Mapping[str, str], new: Mapping[str, str], limit: int = 10) -> list[str]:
    changed = sorted(p for p in set(old) & set(new) if old[p] != new[p])
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    lines = [f"{p} changed" for p in changed]
    lines += [f"{p} added" for p in added]
    lines += [f"{p} removed" for p in removed]
    if len(lines) > limit:
        return [*lines[:limit], f"... and {len(lines) - limit} more files"]
    return lines
