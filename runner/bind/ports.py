"""The paths of one run: input ports (given or default) and placed outputs, checked on disk."""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Mapping
from pathlib import Path

from runner.bind.coerce import label
from runner.errors import BindingError, quote
from runner.spec.model import InputPort, ModuleSpec, OutputPort


def bind_ports(
    spec: ModuleSpec, given: Mapping[str, object], enabled: set[str], base: Path
) -> dict[str, Path]:
    """The absolute path of every enabled port: the given one, else its default."""
    paths: dict[str, Path] = {}
    for port in spec.ports:
        if port.name not in enabled:
            continue
        if port.name in given:
            paths[port.name] = _port_path(spec, port, given[port.name], base, "path")
        elif port.default is not None:
            paths[port.name] = _default_path(spec, port, port.default)
    return paths


def _default_path(spec: ModuleSpec, port: InputPort, default: str) -> Path:
    if "://" in default or default.startswith("azureml:"):
        raise BindingError(
            f"input {label(port)}: its default {quote(default)} is not a local path",
            f"give a local path: -i {port.python_name}=<path>",
        )
    return _port_path(spec, port, default, spec.source.parent, "default path")


def _given_path(owner: str, raw: object) -> Path:
    if not isinstance(raw, (str, os.PathLike)) or not os.fsdecode(raw).strip():
        raise BindingError(f"{owner}: expected a path, got {quote(raw)}")
    return Path(os.fsdecode(raw)).expanduser()


def _absolute(path: Path, base: Path) -> Path:
    # normpath, not resolve(): a symlinked input keeps the name the user gave it.
    return Path(os.path.normpath(base / path))


def _port_path(spec: ModuleSpec, port: InputPort, raw: object, base: Path, what: str) -> Path:
    written = _given_path(f"input {label(port)}", raw)
    path = _absolute(written, base)
    try:
        is_dir = stat.S_ISDIR(path.stat().st_mode)
    except (FileNotFoundError, NotADirectoryError):
        raise BindingError(
            f"input {label(port)}: {what} {path} does not exist",
            None if written.is_absolute() else f"relative paths are taken from {base}",
        ) from None
    except OSError as exc:
        raise BindingError(
            f"input {label(port)}: cannot read {what} {path}: {exc.strerror or exc}"
        ) from None
    except ValueError as exc:  # an embedded NUL byte
        raise BindingError(f"input {label(port)}: cannot use {what} {path!r}: {exc}") from None
    if is_dir and spec.input_is_file(port):
        return _single_file(port, path)
    if not is_dir and not _accepts_file(spec, port):
        raise BindingError(
            f"input {label(port)} takes a folder ({', '.join(port.types)}), but {path} is a file",
            f"give the folder that holds it: -i {port.python_name}={shlex.quote(str(path.parent))}",
        )
    return path


def _accepts_file(spec: ModuleSpec, port: InputPort) -> bool:
    return not port.types or any(spec.type_kind(t) != "folder" for t in port.types)


def _single_file(port: InputPort, folder: Path) -> Path:
    """The one file in `folder`, for a file port given a folder (AzureML mounted files so).

    Hidden files (`.lock`, `.DS_Store`) do not count: tools leave them next to the data."""
    try:
        files = sorted(
            entry
            for entry in folder.iterdir()
            if entry.is_file() and not entry.name.startswith(".")
        )
    except OSError as exc:
        raise BindingError(f"input {label(port)}: cannot list {folder}: {exc.strerror}") from None
    if len(files) == 1:
        return files[0]
    if not files:
        raise BindingError(
            f"input {label(port)} takes one file, but folder {folder} holds no file",
            f"name the file itself: -i {port.python_name}=<file>",
        )
    shown = ", ".join(f.name for f in files[:5]) + (", ..." if len(files) > 5 else "")
    raise BindingError(
        f"input {label(port)} takes one file, but folder {folder} holds {len(files)} files:"
        f" {shown}",
        f"name the file itself: -i {port.python_name}={shlex.quote(str(files[0]))}",
    )


# ---- outputs ------------------------------------------------------------------------------


def bind_outputs(spec: ModuleSpec, given: Mapping[str, object], base: Path) -> dict[str, Path]:
    """The absolute path of every output the user placed, each of the right kind and its own."""
    paths: dict[str, Path] = {}
    placed_by: dict[Path, OutputPort] = {}
    for out in spec.outputs:
        if out.name not in given:
            continue
        path = _absolute(_given_path(f"output {label(out)}", given[out.name]), base)
        _check_output_kind(out, path)
        if path in placed_by:
            raise BindingError(
                f"outputs {label(placed_by[path])} and {label(out)} both go to {path}",
                "give each output its own path",
            )
        placed_by[path] = out
        paths[out.name] = path
    return paths


def _check_output_kind(out: OutputPort, path: Path) -> None:
    if out.is_file and path.is_dir():
        raise BindingError(
            f"output {label(out)} is a file, but {path} is an existing folder",
            f"name a file: -o {out.python_name}={shlex.quote(str(path / out.python_name))}",
        )
    if not out.is_file and path.exists() and not path.is_dir():
        raise BindingError(
            f"output {label(out)} is a folder, but {path} is an existing file",
            "name a folder (it is created when missing)",
        )
