"""What the step panel shows: a step's record in a run, and why it ran or came from the cache.

The explanation is `runner explain` on the step's module with the values the step ran with
(its run.json), so the panel shows the same text as that command, and the command itself.
Before a step has run, it is the pipeline's dry run for that step (`--dry-run`).
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

from runner.cache.location import default_cache_root
from runner.cache.store import CacheStore
from runner.errors import RunnerError
from runner.pipeline.dryrun import dry_run
from runner.pipeline.model import Pipeline
from runner.run.explain import explain_module
from runner.run.job import RunOptions
from runner.run.key import KeyParts, explain
from runner.spec.load import load_spec
from runner.ui.jobs import shown_path


def step_record(folder: Path) -> dict[str, object] | None:
    """The run.json of a step's module run, or None before it exists."""
    try:
        data = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def step_detail(record: dict[str, object], folder: Path) -> dict[str, object]:
    """The panel's fields from a step's run.json, values keyed by python names."""
    spec = record.get("spec") if isinstance(record.get("spec"), dict) else {}
    argv = record.get("argv") or []
    return {
        "module": spec,
        "parameters": _python_named(record.get("parameters"), spec),
        "inputs": _python_named(record.get("inputs"), spec),
        "cache_key": record.get("cache_key"),
        "status": record.get("status"),
        "message": record.get("message") or "",
        "exit_code": record.get("exit_code"),
        "argv": shlex.join(str(a) for a in argv) if isinstance(argv, list) else "",
        "workdir": str(folder),
        "rerun": str(folder / "rerun.sh") if (folder / "rerun.sh").is_file() else None,
    }


def _python_named(values: object, spec_info: object) -> dict[str, object]:
    """run.json keys values by original name (`Input path`); the page by python name."""
    if not isinstance(values, dict):
        return {}
    path = spec_info.get("path") if isinstance(spec_info, dict) else None
    try:
        spec = load_spec(path) if isinstance(path, str) else None
    except RunnerError:
        spec = None
    named: dict[str, object] = {}
    for key, value in values.items():
        item = spec.find_input(str(key)) if spec else None
        named[item.python_name if item else str(key)] = value
    return named


def explain_step(record: dict[str, object], cwd: Path) -> dict[str, object]:
    """`runner explain` for a step as it ran: the text and the command that prints it."""
    spec_info = record.get("spec")
    if not isinstance(spec_info, dict) or not isinstance(spec_info.get("path"), str):
        return {"text": "this run record names no module", "command": None}
    spec_path = Path(spec_info["path"])
    values: dict[str, object] = {}
    for key in ("parameters", "inputs"):
        part = record.get(key)
        if isinstance(part, dict):
            values.update(part)
    argv = ["runner", "explain", shown_path(spec_path, cwd)]
    for name, value in values.items():
        argv += ["-i", f"{name}={_cli_value(value)}"]
    try:
        explanation = explain_module(load_spec(spec_path), values, None, RunOptions())
    except RunnerError as exc:
        return {"text": f"cannot explain: {exc}", "command": shlex.join(argv)}
    text = explanation.text()
    if record.get("status") == "succeeded" and isinstance(record.get("cache_key"), str):
        past = why_it_ran(str(record["cache_key"]), str(spec_path))
        text = f"{past}\nnow: {text}"
    return {"text": text, "command": shlex.join(argv)}


def why_it_ran(key: str, spec_path: str, cache_root: Path | None = None) -> str:
    """Why a step that ran did not come from the cache: its key parts against those of the
    module's newest earlier cache entry, in `runner explain`'s words."""
    with CacheStore(cache_root or default_cache_root(os.environ)) as store:
        entries = store.entries()  # oldest first
    mine = next((entry for entry in entries if entry.key == key), None)
    if mine is None:
        return f"ran (key {key}); its result is not in the cache now"
    earlier = [
        entry
        for entry in entries
        if entry.meta.get("spec") == spec_path
        and entry.key != key
        and entry.created_at < mine.created_at
    ]
    if not earlier:
        return f"ran (key {key}): no earlier cached run of this module"
    try:
        reasons = explain(KeyParts.from_json(earlier[-1].parts), KeyParts.from_json(mine.parts))
    except (KeyError, TypeError, ValueError):
        return f"ran (key {key}); the earlier entry cannot be compared"
    lines = [f"ran (key {key}), since the module's previous cached run:"]
    lines += [f"  {reason}" for reason in reasons or ["nothing changed: it was forced"]]
    return "\n".join(lines)


def _cli_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def plan_step(pipeline: Pipeline, step: str, cwd: Path) -> dict[str, object]:
    """Before a run: would this step hit the cache, and why not (the dry run's answer)."""
    command = shlex.join(
        ["runner", "pipeline", "run", shown_path(pipeline.source or cwd, cwd), "--dry-run"]
    )
    try:
        report = dry_run(pipeline, base_dir=cwd)
    except RunnerError as exc:
        return {"text": f"cannot tell: {exc}", "command": command}
    for plan in report.steps:
        if plan.name == step:
            lines = [f"would {plan.would}", *(f"  {reason}" for reason in plan.reasons)]
            return {"text": "\n".join(lines), "command": command, "argv": plan.command}
    return {"text": f"no step {step!r} in this pipeline", "command": command}
