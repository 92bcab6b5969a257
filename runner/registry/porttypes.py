"""The built-in port data types, and the cheap checks every module load makes with them
(kept apart from runner.registry.datatypes so that loading a spec file imports little)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from runner.spec.model import EITHER_KIND_PORT_TYPES, ModuleSpec

# name -> (kind, description)
BUILT_IN: Mapping[str, tuple[str, str]] = {
    "AnyFile": ("file", "any single file"),
    "AnyDirectory": ("folder", "any folder"),
    "uri_file": ("file", "CLI v2: a file"),
    "uri_folder": ("folder", "CLI v2: a folder"),
    "mltable": ("folder", "CLI v2: a folder holding an MLTable file"),
    "mlflow_model": ("folder", "CLI v2: an MLflow model folder"),
    "custom_model": ("either", "CLI v2: a model, a file or a folder"),
    "triton_model": ("folder", "CLI v2: a Triton model folder"),
    "path": ("either", "CLI v2 / 2.0: a file or a folder"),
}
_BUILT_IN_LOWER = {name.lower(): name for name in BUILT_IN}


def built_in_name(name: str) -> str | None:
    return _BUILT_IN_LOWER.get(name.lower())


def is_known_port_type(name: str, registered: Mapping[str, object]) -> bool:
    """Built in, registered, or a parameter type used as a port (legacy `{inputPath: X}`)."""
    lowered = name.lower()
    return lowered in _BUILT_IN_LOWER or lowered in registered or lowered in EITHER_KIND_PORT_TYPES


def port_types(spec: ModuleSpec) -> Iterator[tuple[str, str]]:
    """(port name, type) of every input and output port."""
    for port in spec.ports:
        yield from ((port.name, t) for t in port.types)
    for out in spec.outputs:
        yield from ((out.name, t) for t in out.types)


def has_custom_types(spec: ModuleSpec) -> bool:
    return any(
        built_in_name(t) is None and t.lower() not in EITHER_KIND_PORT_TYPES
        for _, t in port_types(spec)
    )
