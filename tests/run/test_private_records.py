"""Records are private to the user whatever the umask (run folders and the cache 0700, files
0600, cached objects 0400), since they hold a spec's `environment_variables`; a cache folder
made setgid by the user is shared on purpose, and what runner makes in it takes the group
mode of that folder."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from storage_helpers import runner, write_module, write_pipeline


def modes(root: Path) -> dict[Path, int]:
    return {path: stat.S_IMODE(path.lstat().st_mode) for path in [root, *root.rglob("*")]}


def run_all(tmp_path: Path, cache: Path, umask: int) -> Path:
    """A miss, a hit and a pipeline run, all under `umask`; returns the runs folder."""
    spec = write_module(tmp_path / "module")
    runs = tmp_path / "runs"
    pipeline = write_pipeline(tmp_path, "piped")
    flags = ["--cache-dir", str(cache), "--runs-dir", str(runs)]
    for argv in (
        ["run", str(spec), "-i", "text=secret", *flags],
        ["run", str(spec), "-i", "text=secret", *flags],
        ["pipeline", "run", str(pipeline), *flags],
    ):
        ran = runner(*argv, cwd=tmp_path, umask=umask)
        assert ran.code == 0, ran.stderr
    return runs


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_run_folders_and_the_cache_are_private(tmp_path: Path, umask: int) -> None:
    cache = tmp_path / "cache"
    runs = run_all(tmp_path, cache, umask)
    assert stat.S_IMODE(runs.stat().st_mode) == 0o700
    run_folders = [p for p in runs.iterdir() if p.is_dir()]
    assert len(run_folders) == 3
    for folder in run_folders:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    records = [
        *runs.glob("*/run.json"), *runs.glob("*/rerun.sh"), *runs.glob("*/execution.log"),
        *runs.glob("*/pipeline.json"), *runs.glob("*/events.jsonl"),
        *runs.glob("*/steps/*/run.json"), *runs.glob("*/steps/*/rerun.sh"),
        *runs.glob("*/steps/*/execution.log"),
    ]  # fmt: skip
    assert len(records) == 3 + 2 + 2 + 3  # a miss, a hit (no rerun.sh), a pipeline, its step
    assert any("not-for-other-users" in p.read_text() for p in runs.glob("*/rerun.sh"))
    for record in records:
        expected = 0o700 if record.name == "rerun.sh" else 0o600
        assert stat.S_IMODE(record.stat().st_mode) == expected, record
    cached = modes(cache)
    assert {"manifest.json", "state.db"} <= {p.name for p in cached}
    assert any(p.parent.parent.name == "history" for p in cached)  # the history is there
    for path, mode in cached.items():
        assert mode & 0o077 == 0, f"{path} is {mode:o}"
        if path.is_dir():
            assert mode == 0o700, path
        elif path.parent.parent.name == "objects":
            assert mode == 0o400, path
        else:
            assert mode == 0o600, path


def test_a_setgid_cache_folder_is_shared_with_its_group(tmp_path: Path) -> None:
    cache = tmp_path / "shared"
    cache.mkdir()
    cache.chmod(0o2770)  # the documented group mode: `chmod 2770` (and `chgrp` the group)
    run_all(tmp_path, cache, 0o077)  # even under a private umask
    cached = modes(cache)
    assert len(cached) > 10
    for path, mode in cached.items():
        if path.is_dir():
            assert mode == 0o2770, f"{path} is {mode:o}"
        elif path.parent.parent.name == "objects":
            assert mode == 0o440, f"{path} is {mode:o}"
        else:
            assert mode == 0o660, f"{path} is {mode:o}"
