"""A module's normalised interface as JSON-ready data: `runner show --json`, and the forms and
palette of the web page."""

from __future__ import annotations

from runner.spec.model import EnvironmentSpec, InputPort, ModuleSpec, Parameter
from runner.template.text import template_text


def interface(spec: ModuleSpec) -> dict[str, object]:
    return {
        "source": str(spec.source),
        "generation": spec.generation.value,
        "namespace": spec.namespace,
        "name": spec.name,
        "version": spec.version,
        "display_name": spec.display_name,
        "description": spec.description,
        "job_type": spec.job_type.value,
        "is_deterministic": spec.is_deterministic,
        "successful_return_code": spec.return_code.value,
        "inputs": [_input_json(item) for item in spec.inputs],
        "outputs": [
            {
                "name": out.name,
                "python_name": out.python_name,
                "types": list(out.types),
                "kind": "file" if out.is_file else "folder",
                "description": out.description,
            }
            for out in spec.outputs
        ],
        "command": template_text(spec.command),
        "environment": _environment_json(spec.environment),
        "environment_variables": dict(spec.environment_variables),
        "code": str(spec.code.base) if spec.code else None,
        "additional_includes": [inc.path for inc in spec.code.includes] if spec.code else [],
        "warnings": [str(w) for w in spec.warnings],
    }


def _input_json(item: InputPort | Parameter) -> dict[str, object]:
    common: dict[str, object] = {
        "name": item.name,
        "python_name": item.python_name,
        "optional": item.optional,
        "default": item.default,
        "description": item.description,
        "enabled_by": (
            {"parent": item.enabled_by.parent, "option": item.enabled_by.option}
            if item.enabled_by
            else None
        ),
    }
    if isinstance(item, InputPort):
        return {**common, "kind": "port", "types": list(item.types), "file": item.is_file}
    return {
        **common,
        "kind": "parameter",
        "type": item.type.value,
        "min": item.min,
        "max": item.max,
        "options": list(item.option_values),
    }


def _environment_json(env: EnvironmentSpec) -> dict[str, object]:
    conda = env.conda
    return {
        "image": env.image,
        "base_image": env.base_image,
        "named": env.named,
        "conda": (
            {
                "python": conda.python_version,
                "channels": list(conda.channels),
                "dependencies": list(conda.dependencies),
                "pip": list(conda.pip),
            }
            if conda
            else None
        ),
        "pip_requirements": list(env.pip_requirements),
        "os": env.os,
    }
