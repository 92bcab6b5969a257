"""The key parts of each module's recent runs, so `explain` can say what changed since the last.

One folder per module (spec file) under `<cache>/history/`:

    <spec digest>/<key>.json          a run with this key succeeded (or was served): its parts
    <spec digest>/<key>.failed.json   a run with this key failed
    <spec digest>/trees/<id>.json     a file list (relpath -> digest) of an input or of the code,
                                      named by its own digest and shared by the keys that use it

A run writes only what is new: a hit, or any run of a key already recorded the same way, costs
one stat and one utime (its file's mtime says when it last ran: the latest is "the last run");
a new key writes its small parts file and only the file lists not stored yet, so a large input
that did not change is never written again. A folder keeps about the last `KEEP` keys.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from runner.clock import now_iso
from runner.files import make_folder, storage_problem, write_json_atomic
from runner.hashing import hash_text
from runner.run.key import KeyParts
from runner.spec.model import ModuleSpec
from runner.struct import Struct

KEEP = 512  # keys per module; pruned (oldest first) once twice as many have piled up
_OK = frozenset({"succeeded", "cached"})


class LastRun(Struct):
    key: str
    parts: KeyParts
    status: str
    at: float


def _folder(cache_root: Path, spec: ModuleSpec) -> Path:
    # One module = one spec file: the same file edited is the same module.
    return cache_root / "history" / hash_text(str(spec.source))


def _name(key: str, status: str) -> str:
    return f"{key}.json" if status in _OK else f"{key}.failed.json"


def record_last_run(cache_root: Path, spec: ModuleSpec, parts: KeyParts, status: str) -> str | None:
    """Record a run; returns a note when the cache folder refused the write (full, read-only):
    the run stands, only `explain` will not know it."""
    try:
        _record(cache_root, spec, parts, status)
    except OSError as exc:
        problem = storage_problem(exc, cache_root, f"the cache folder {cache_root.absolute()}")
        if problem is None:
            raise
        return f"this run was not recorded for `runner explain`: {problem}"
    return None


def _record(cache_root: Path, spec: ModuleSpec, parts: KeyParts, status: str) -> None:
    folder = _folder(cache_root, spec)
    path = folder / _name(parts.key, status)
    try:
        os.utime(path)  # recorded already: now the latest
        return
    except FileNotFoundError:
        pass
    trees = folder / "trees"
    if not trees.is_dir():
        make_folder(trees, parents=True)  # steps of one module may race here
        folder.with_suffix(".json").unlink(missing_ok=True)  # the one-file record of 0.x
    data = parts.identity()
    data["input_trees"] = {
        name: _store_tree(trees, part.files) for name, part in parts.inputs.items()
    }
    data["code_tree"] = _store_tree(trees, parts.code_files)
    record = {"spec": str(spec.source), "key": parts.key, "status": status, "at": now_iso()}
    write_json_atomic(path, {**record, "parts": data})
    # Counted only now and then (keys are uniformly random): a run never lists the folder, so
    # a pipeline of a thousand steps of one module costs the same per step as one of ten.
    if int(parts.key[:8], 16) % max(1, KEEP // 8) == 0:
        _prune(folder)


def _store_tree(trees: Path, files: Mapping[str, str]) -> str:
    text = json.dumps(dict(files), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    tree_id = hash_text(text)
    path = trees / f"{tree_id}.json"
    if not path.exists():
        write_json_atomic(path, json.loads(text))
    return tree_id


def _prune(folder: Path) -> None:
    """Keep the last KEEP runs, and the file lists they use."""
    runs = [entry for entry in os.scandir(folder) if entry.is_file()]
    if len(runs) <= 2 * KEEP:
        return
    runs.sort(key=lambda entry: entry.stat().st_mtime_ns)
    for entry in runs[:-KEEP]:
        Path(entry.path).unlink(missing_ok=True)
    used: set[str] = set()
    for entry in runs[-KEEP:]:
        used.update(_tree_ids(Path(entry.path)))
    for tree in (folder / "trees").iterdir():
        if tree.stem not in used:
            tree.unlink(missing_ok=True)


def _tree_ids(path: Path) -> list[str]:
    try:
        parts = json.loads(path.read_text(encoding="utf-8"))["parts"]
        return [*parts["input_trees"].values(), parts["code_tree"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def last_run(cache_root: Path, spec: ModuleSpec) -> LastRun | None:
    """The last recorded run, or None when there is none or it cannot be read."""
    folder = _folder(cache_root, spec)
    try:
        runs = [entry for entry in os.scandir(folder) if entry.is_file()]
        latest = max(runs, key=lambda entry: entry.stat().st_mtime_ns, default=None)
        if latest is None:
            return None
        data = json.loads(Path(latest.path).read_text(encoding="utf-8"))
        parts = dict(data["parts"])
        trees = folder / "trees"
        parts["input_files"] = {
            name: _load_tree(trees, tree_id) for name, tree_id in parts["input_trees"].items()
        }
        parts["code_files"] = _load_tree(trees, parts["code_tree"])
        return LastRun(
            key=str(data["key"]),
            parts=KeyParts.from_json(parts),
            status=str(data["status"]),
            at=latest.stat().st_mtime,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _load_tree(trees: Path, tree_id: str) -> dict[str, str]:
    """A stored file list; an empty one when it is gone (explain then names no files)."""
    try:
        loaded = json.loads((trees / f"{tree_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
