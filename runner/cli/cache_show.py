"""`runner cache show KEY`: one entry, as JSON and as text for people."""

from __future__ import annotations

from collections.abc import Mapping

from runner.cache.store import Entry
from runner.cli.output import local_time, size_text
from runner.clock import iso

DIGEST_SHOWN = 16


def entry_summary(entry: Entry) -> dict[str, object]:
    """An entry in `cache ls --json`."""
    return {
        "key": entry.key,
        "created_at": iso(entry.created_at),
        "last_used": iso(entry.last_used),
        "size": entry.size,
        "meta": dict(entry.meta),
        "outputs": sorted(entry.outputs),
    }


def entry_json(entry: Entry) -> dict[str, object]:
    """An entry in `cache show --json`: its outputs in detail, and its key parts."""
    return {
        **entry_summary(entry),
        "outputs": {
            name: {"kind": record.kind, "digest": record.digest, "files": len(record.files)}
            for name, record in entry.outputs.items()
        },
        "parts": dict(entry.parts),
    }


def entry_text(entry: Entry) -> str:
    meta = entry.meta
    lines = [
        f"entry      {entry.key}",
        f"module     {meta.get('module', '?')}  ({meta.get('spec', 'spec file unknown')})",
        f"created    {local_time(entry.created_at)}   last used {local_time(entry.last_used)}",
        f"size       {size_text(entry.size)}",
    ]
    if "duration" in meta:
        lines.append(f"ran in     {meta['duration']} s, in {meta.get('workdir', '?')}")
    lines.append("outputs:")
    width = max((len(name) for name in entry.outputs), default=0)
    for name, record in sorted(entry.outputs.items()):
        count = f"{len(record.files)} files" if record.kind == "dir" else "file"
        lines.append(f"  {name:<{width}}  {count:<10}  {_short(record.digest)}")
    lines.append("key parts:")
    lines += [f"  {line}" for line in _parts_lines(entry.parts)]
    return "\n".join(lines)


def _parts_lines(parts: Mapping[str, object]) -> list[str]:
    lines = []
    command = parts.get("command")
    if isinstance(command, list):
        lines.append(f"command      {' '.join(str(arg) for arg in command)}")
    parameters = parts.get("parameters")
    if isinstance(parameters, dict) and parameters:
        shown = ", ".join(f"{name}={value!r}" for name, value in parameters.items())
        lines.append(f"parameters   {shown}")
    inputs, files = parts.get("inputs"), parts.get("input_files")
    if isinstance(inputs, dict):
        for name, part in inputs.items():
            digest = part.get("digest", "?") if isinstance(part, dict) else "?"
            count = len(files.get(name) or ()) if isinstance(files, dict) else 0
            what = f" ({count} files)" if count > 1 else ""
            lines.append(f"input        {name}: {_short(str(digest))}{what}")
    for label, name in (("code", "code"), ("environment", "environment"), ("module", "module")):
        if name in parts:
            lines.append(f"{label:<12} {_short(str(parts[name]))}")
    variables = parts.get("environment_variables")
    if isinstance(variables, dict) and variables:
        lines.append("env vars     " + ", ".join(f"{k}={v}" for k, v in variables.items()))
    return lines


def _short(digest: str) -> str:
    """A digest cut for reading; an environment keeps its backend prefix (`venv:1a2b...`)."""
    backend, sep, rest = digest.rpartition(":")
    return f"{backend}{sep}{rest[:DIGEST_SHOWN]}"
