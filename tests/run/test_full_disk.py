"""A full disk under the cache or the run folders: the run's status, outputs and log are still
reported (`--json`), the cache entry is simply not made, the notes say what is full and how
much was needed, and nothing partial is left in the store. Real small tmpfs mounts (as root)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mounts import small_disk
from storage_helpers import Ran, runner, write_module, write_pipeline

from runner.files import RUNS_MARKER

MIB = 1024 * 1024


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    return write_module(tmp_path / "module")


def stored_files(cache: Path) -> list[Path]:
    """What a publication would leave: objects, entries, and staged or temporary files."""
    found = [p for p in (cache / "objects").rglob("*") if p.is_file()]
    found += [p for p in (cache / "entries").rglob("*") if p.is_file()]
    return found + [p for p in cache.rglob("*") if p.name.endswith(".tmp")]


def test_a_full_cache_disk_reports_the_run_and_stores_nothing(spec: Path, tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "1m") as disk:
        cache = disk / "cache"
        ran = runner(
            "run", str(spec), "-i", "text=hello", "-i", f"size={2 * MIB}",
            "--cache-dir", str(cache), "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path,
        )  # fmt: skip
        assert ran.code == 0, ran.stderr
        assert ran.result["status"] == "succeeded"
        assert (ran.output() / "said.txt").read_text() == "hello"
        assert (ran.output() / "blob.bin").stat().st_size == 2 * MIB
        assert "stdout done" in Path(str(ran.result["log"])).read_text()
        (note,) = ran.notes
        assert re.fullmatch(
            rf"the result was not stored in the cache: the disk holding the cache folder "
            rf"{re.escape(str(cache))} is full \([0-9.]+ KiB free\); storing this result needs"
            r" up to 2\.0 MiB",
            note,
        ), note
        assert f"note: {note}" in ran.stderr
        assert stored_files(cache) == []
        listed = runner("cache", "ls", "--cache-dir", str(cache), cwd=tmp_path)
        assert listed.result["entries"] == []
        checked = runner("cache", "verify", "--cache-dir", str(cache), cwd=tmp_path)
        assert checked.code == 0 and checked.result["ok"] is True, checked.stderr


def full_run_notes(ran: Ran, folder: Path) -> None:
    """The notes of a run whose folder's disk filled while the module ran (it succeeded)."""
    record, log = folder / "run.json", folder / "execution.log"
    full = rf"the disk holding {re.escape(str(folder))} is full \(0 B free\)"
    assert any(
        re.fullmatch(
            rf"{re.escape(str(record))} was not updated with the result \([0-9.]+ KiB needed\): "
            + full,
            note,
        )
        for note in ran.notes
    ), ran.notes
    assert any(re.fullmatch(rf"{re.escape(str(log))} is incomplete: {full}", n) for n in ran.notes)
    assert "writing filler" in log.read_text()  # what was logged before the disk filled stays


def test_a_full_runs_disk_still_reports_the_run(spec: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with small_disk(tmp_path / "disk", "1m") as disk:
        ran = runner(
            "run", str(spec), "-i", "text=filler", "-i", "size=-1",
            "--cache-dir", str(cache), "--runs-dir", str(disk / "runs"), cwd=tmp_path,
        )  # fmt: skip
        assert ran.code == 0, ran.stderr
        assert ran.result["status"] == "succeeded"
        assert (ran.output() / "said.txt").read_text() == "filler"
        full_run_notes(ran, Path(str(ran.result["workdir"])))
        # Its outputs were published whole (the cache has room): served elsewhere, a hit.
        again = runner(
            "run", str(spec), "-i", "text=filler", "-i", "size=-1",
            "--cache-dir", str(cache), "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path,
        )  # fmt: skip
        assert again.result["status"] == "cached", again.stderr
        assert (again.output() / "said.txt").read_text() == "filler"
        assert (again.output() / "blob.bin").stat().st_size == ran.output().joinpath(
            "blob.bin"
        ).stat().st_size


def test_a_pipeline_on_a_full_runs_disk_still_reports_its_steps(spec: Path, tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, "filler", -1)
    with small_disk(tmp_path / "disk", "1m") as disk:
        ran = runner(
            "pipeline", "run", str(pipeline), "--cache-dir", str(tmp_path / "cache"),
            "--runs-dir", str(disk / "runs"), cwd=tmp_path,
        )  # fmt: skip
        assert ran.code == 0, ran.stderr
        assert ran.result["status"] == "succeeded"
        step = ran.result["steps"]["only"]  # type: ignore[index]
        assert step["status"] == "succeeded"
        assert (Path(step["outputs"]["out"]) / "said.txt").read_text() == "filler"
        full_run_notes(Ran(ran.code, step, ran.stderr), Path(step["workdir"]))
        run_dir = Path(str(ran.result["run_dir"]))
        record = run_dir / "pipeline.json"
        assert any(
            note.startswith(f"{record} was not updated with the result (")
            and note.endswith(f"the disk holding {run_dir} is full (0 B free)")
            for note in ran.notes
        ), ran.notes
        for note in [*ran.notes, *step["notes"]]:
            assert f"note: {note}" in ran.stderr


def test_a_pipeline_on_a_full_cache_disk_reports_its_steps(spec: Path, tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, "filler", 2 * MIB)
    with small_disk(tmp_path / "disk", "1m") as disk:
        cache = disk / "cache"
        ran = runner(
            "pipeline", "run", str(pipeline), "--cache-dir", str(cache),
            "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path,
        )  # fmt: skip
        assert ran.code == 0, ran.stderr
        step = ran.result["steps"]["only"]  # type: ignore[index]
        assert step["status"] == "succeeded"
        assert (Path(step["outputs"]["out"]) / "blob.bin").stat().st_size == 2 * MIB
        (note,) = step["notes"]
        said = "the result was not stored in the cache: the disk holding the cache folder"
        assert note.startswith(f"{said} {cache} is full (")
        assert note.endswith(" free); storing this result needs up to 2.0 MiB")
        assert f"note: {note}" in ran.stderr
        assert stored_files(cache) == []


def fill(disk: Path) -> None:
    with open(disk / "filler", "wb", buffering=0) as stream:
        while True:
            try:
                stream.write(b"x" * 65536)
            except OSError:
                return


@pytest.mark.parametrize("kind", ["run", "pipeline"])
def test_a_runs_disk_full_before_the_run_is_said_and_leaves_no_run(
    spec: Path, tmp_path: Path, kind: str
) -> None:
    target = str(spec) if kind == "run" else str(write_pipeline(tmp_path, "filler"))
    command = ["run", target, "-i", "text=x"] if kind == "run" else ["pipeline", "run", target]
    with small_disk(tmp_path / "disk", "1m") as disk:
        runs, fresh = disk / "runs", disk / "fresh"
        runs.mkdir()
        (runs / RUNS_MARKER).touch()
        fill(disk)
        ran = runner(*command, "--runs-dir", str(runs), cwd=tmp_path)
        assert ran.code == 1, ran.stderr
        assert ran.result == {}
        said = (
            rf"could not be made: the disk holding {re.escape(str(runs))}\S* is full \(0 B free\)"
        )
        assert re.search(said, ran.stderr), ran.stderr
        assert "hint: free some space, or use another folder" in ran.stderr
        assert [p.name for p in runs.iterdir()] == [RUNS_MARKER]
        ran = runner(*command, "--runs-dir", str(fresh), cwd=tmp_path)
        assert ran.code == 1, ran.stderr
        assert (
            f"error: cannot create the runs folder {fresh}: the disk holding {fresh} is full"
            " (0 B free)\n  hint: free some space, or use another folder"
        ) in ran.stderr


def test_runs_and_cache_on_one_full_disk(spec: Path, tmp_path: Path) -> None:
    """Outputs hardlinked into the store need no space, the entry's records do: the entry is
    not made, and what was linked is only unreferenced objects, which `cache gc` removes."""
    with small_disk(tmp_path / "disk", "1m") as disk:
        ran = runner(
            "run", str(spec), "-i", "text=filler", "-i", "size=-1",
            "--cache-dir", "disk/cache", "--runs-dir", "disk/runs", cwd=tmp_path,
        )  # fmt: skip
        assert ran.code == 0 and ran.result["status"] == "succeeded", ran.stderr
        cache = disk / "cache"
        full = f"the disk holding the cache folder {cache} is full (0 B free)"
        assert f"the result was not stored in the cache: {full}; storing" in "\n".join(ran.notes)
        assert f"this run was not recorded for `runner explain`: {full}" in ran.notes
        assert (ran.output() / "said.txt").read_text() == "filler"
        assert not [p for p in (cache / "entries").rglob("*") if p.is_file()]
        gc = runner("cache", "gc", "--cache-dir", str(cache), cwd=tmp_path)
        assert gc.code == 0, gc.stderr
        assert stored_files(cache) == []
        assert (ran.output() / "said.txt").read_text() == "filler"  # the run's own link stays
