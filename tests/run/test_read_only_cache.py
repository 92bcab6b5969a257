"""A read-only cache (a shared, pre-filled cache on a read-only mount, or one used read-only on
purpose): hits are served, misses run and say their result was not stored, nothing is written
and nothing ends in an internal error. Real read-only bind mounts (as root)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from mounts import read_only_view
from storage_helpers import runner, tree_state, write_module


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    return write_module(tmp_path / "module")


@pytest.fixture
def filled(spec: Path, tmp_path: Path) -> Path:
    """A cache holding the result of `text=hello`, made by an ordinary (writable) run."""
    cache = tmp_path / "cache"
    first = runner("run", str(spec), "-i", "text=hello", "--cache-dir", str(cache), cwd=tmp_path)
    assert first.code == 0, first.stderr
    return cache


def test_a_hit_is_served_from_a_read_only_mount(spec: Path, filled: Path, tmp_path: Path) -> None:
    with read_only_view(filled, tmp_path / "view") as view:
        before = tree_state(filled)
        ran = runner("run", str(spec), "-i", "text=hello", "--cache-dir", str(view), cwd=tmp_path)
        assert ran.code == 0, ran.stderr
        assert ran.result["status"] == "cached"
        assert (ran.output() / "said.txt").read_text() == "hello"
        assert ran.notes == []
        assert tree_state(filled) == before


def test_a_miss_runs_and_says_its_result_was_not_stored(
    spec: Path, filled: Path, tmp_path: Path
) -> None:
    with read_only_view(filled, tmp_path / "view") as view:
        before = tree_state(filled)
        ran = runner("run", str(spec), "-i", "text=other", "--cache-dir", str(view), cwd=tmp_path)
        assert ran.code == 0, ran.stderr
        assert ran.result["status"] == "succeeded"
        assert (ran.output() / "said.txt").read_text() == "other"
        assert Path(str(ran.result["log"])).read_text().count("writing other") == 1
        assert ran.notes == [
            f"the result was not stored in the cache: the cache folder {view} is not writable"
            " (a read-only file system)"
        ]
        assert "note: the result was not stored in the cache" in ran.stderr
        assert tree_state(filled) == before
        # Nothing was stored: the same run runs again.
        again = runner("run", str(spec), "-i", "text=other", "--cache-dir", str(view), cwd=tmp_path)
        assert again.result["status"] == "succeeded"


def test_a_cache_that_cannot_even_be_made_is_a_miss_that_runs(
    spec: Path, filled: Path, tmp_path: Path
) -> None:
    with read_only_view(filled, tmp_path / "view") as view:
        missing = view / "not" / "there"
        ran = runner("run", str(spec), "-i", "text=x", "--cache-dir", str(missing), cwd=tmp_path)
        assert ran.code == 0, ran.stderr
        assert ran.result["status"] == "succeeded"
        assert "is not writable (a read-only file system)" in ran.notes[0]


def test_a_damaged_entry_in_a_read_only_cache_is_a_reported_miss(
    spec: Path, filled: Path, tmp_path: Path
) -> None:
    (manifest,) = filled.glob("entries/*/manifest.json")
    manifest.write_bytes(manifest.read_bytes()[:50])
    with read_only_view(filled, tmp_path / "view") as view:
        ran = runner("run", str(spec), "-i", "text=hello", "--cache-dir", str(view), cwd=tmp_path)
        assert ran.code == 0, ran.stderr
        assert ran.result["status"] == "succeeded"
        assert any("was damaged" in note for note in ran.notes)
        assert manifest.exists()  # reported, not repaired: nothing can be removed there


def test_maintenance_of_a_read_only_cache_is_refused_or_only_reads(
    spec: Path, filled: Path, tmp_path: Path
) -> None:
    with read_only_view(filled, tmp_path / "view") as view:
        listed = runner("cache", "ls", "--cache-dir", str(view), cwd=tmp_path)
        assert listed.code == 0 and len(listed.result["entries"]) == 1  # type: ignore[arg-type]
        checked = runner("cache", "verify", "--cache-dir", str(view), cwd=tmp_path)
        assert checked.code == 0 and checked.result["ok"] is True
        for argv in (["cache", "gc"], ["cache", "rm", str(listed.result["entries"][0]["key"])]):  # type: ignore[index]
            refused = runner(*argv, "--cache-dir", str(view), cwd=tmp_path)
            assert refused.code == 2, refused.stderr
            assert f"the cache folder {view} is not writable" in refused.stderr
        explained = runner(
            "explain", str(spec), "-i", "text=hello", "--cache-dir", str(view), cwd=tmp_path
        )
        assert explained.code == 0, explained.stderr


@pytest.mark.parametrize("how", ["flag", "variable"])
def test_a_writable_cache_used_read_only_on_purpose(
    spec: Path, filled: Path, tmp_path: Path, how: str
) -> None:
    flag = ["--cache-read-only"] if how == "flag" else []
    env = {"RUNNER_CACHE_READ_ONLY": "1"} if how == "variable" else {}
    shutil.rmtree(filled / "parsed", ignore_errors=True)  # nor is a spec's parsed form kept
    before = tree_state(filled)
    hit = runner(
        "run", str(spec), "-i", "text=hello", "--cache-dir", str(filled), *flag,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert hit.result["status"] == "cached", hit.stderr
    miss = runner(
        "run", str(spec), "-i", "text=new", "--cache-dir", str(filled), *flag,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert miss.result["status"] == "succeeded", miss.stderr
    assert miss.notes == [
        f"the result was not stored in the cache: the cache folder {filled} is used read-only"
    ]
    # A note said once per spec is said every time: no marker is kept to remember it.
    imaged = spec.with_name("imaged.yml")
    imaged.write_text(spec.read_text() + "environment: {image: python:3.11-slim}\n")
    for _ in range(2):
        noted = runner(
            "run", str(imaged), "-i", "text=imaged", "--cache-dir", str(filled), *flag,
            cwd=tmp_path, env=env,
        )  # fmt: skip
        assert noted.code == 0, noted.stderr
        assert "names the image python:3.11-slim, which a host run does not use" in noted.stderr
    # Nothing written: no entry, no last-used time, no memo row, no history, no lock. (A
    # reader of the memo shares SQLite's -shm index, which SQLite makes if it is missing.)
    after = tree_state(filled)
    for name in ("state.db-shm", "state.db-wal"):
        after.pop(name, None)
    assert after == before


PIPELINE = """\
type: pipeline
jobs:
  first:
    type: command
    component: ./module/writer.yml
    inputs: {text: one}
  second:
    type: command
    component: ./module/writer.yml
    inputs: {text: two}
"""


def test_a_pipeline_on_a_read_only_cache(spec: Path, filled: Path, tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline.yml"
    pipeline.write_text(textwrap.dedent(PIPELINE), encoding="utf-8")
    warm = runner("pipeline", "run", str(pipeline), "--cache-dir", str(filled), cwd=tmp_path)
    assert warm.code == 0, warm.stderr
    with read_only_view(filled, tmp_path / "view") as view:
        cached = runner("pipeline", "run", str(pipeline), "--cache-dir", str(view), cwd=tmp_path)
        assert cached.code == 0, cached.stderr
        assert cached.result["status"] == "succeeded"
        steps = cached.result["steps"]
        assert isinstance(steps, dict)
        assert {step["status"] for step in steps.values()} == {"cached"}
        forced = runner(
            "pipeline", "run", str(pipeline), "--cache-dir", str(view), "--force", "second",
            cwd=tmp_path,
        )  # fmt: skip
        assert forced.code == 0, forced.stderr
        assert forced.result["steps"]["second"]["status"] == "succeeded"  # type: ignore[index]


def test_a_registry_on_a_read_only_mount_serves_its_modules(spec: Path, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    registered = runner("module", "register", str(spec), "--registry", str(registry), cwd=tmp_path)
    assert registered.code == 0, registered.stderr
    with read_only_view(registry, tmp_path / "view") as view:
        ran = runner(
            "run", "writer", "-i", "text=hi", "--registry", str(view),
            "--cache-dir", str(tmp_path / "cache"), cwd=tmp_path,
        )  # fmt: skip
        assert ran.code == 0, ran.stderr
        assert (ran.output() / "said.txt").read_text() == "hi"
        listed = runner("module", "list", "--registry", str(view), cwd=tmp_path)
        assert listed.code == 0, listed.stderr
        pipeline = tmp_path / "registered.yml"
        pipeline.write_text(
            "type: pipeline\njobs:\n  only:\n    type: command\n"
            "    component: azureml:writer\n    inputs: {text: piped}\n",
            encoding="utf-8",
        )
        piped = runner(
            "pipeline", "run", str(pipeline), "--registry", str(view),
            "--cache-dir", str(tmp_path / "cache"), cwd=tmp_path,
        )  # fmt: skip
        assert piped.code == 0 and piped.result["status"] == "succeeded", piped.stderr
        refused = runner("module", "register", str(spec), "--registry", str(view), cwd=tmp_path)
        assert refused.code == 2 and "is not writable" in refused.stderr, refused.stderr
