"""EnvStore: build once under a per-fingerprint lock, publish atomically, keep build logs."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from runner.env.store import BuildLog, EnvRecord, EnvStore
from runner.errors import EnvironmentBuildError


def always_healthy(record: EnvRecord) -> bool:
    return True


def counting_builder(counter: Path, pause: float = 0.0):  # type: ignore[no-untyped-def]
    def build(target: Path, log: BuildLog) -> tuple[str, Mapping[str, object]]:
        log.write("building\n")
        with counter.open("a") as stream:
            stream.write("built\n")
        time.sleep(pause)
        (target / "marker").write_text("ok")
        return "a test environment", {"pause": pause}

    return build


def _ensure_in_child(root: str, counter: str, relocatable: bool) -> None:
    store = EnvStore(Path(root))
    record = store.ensure(
        "venv",
        "f" * 32,
        counting_builder(Path(counter), pause=0.5),
        healthy=always_healthy,
        relocatable=relocatable,
    )
    assert (record.path / "marker").read_text() == "ok"


@pytest.mark.parametrize("relocatable", [True, False])
def test_concurrent_ensures_build_once(tmp_path: Path, relocatable: bool) -> None:
    counter = tmp_path / "count"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(
            target=_ensure_in_child, args=(str(tmp_path / "envs"), str(counter), relocatable)
        )
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert counter.read_text() == "built\n"


def test_reuse_touches_and_rebuilds_when_broken(tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    counter = tmp_path / "count"
    first = store.ensure(
        "venv", "a" * 32, counting_builder(counter), healthy=always_healthy, relocatable=True
    )
    assert first.description == "a test environment"
    assert first.log.read_text() == "building\n"
    again = store.ensure(
        "venv", "a" * 32, counting_builder(counter), healthy=always_healthy, relocatable=True
    )
    assert again.path == first.path and counter.read_text() == "built\n"

    def healthy(record: EnvRecord) -> bool:
        return (record.path / "marker").exists()

    (first.path / "marker").unlink()
    store.ensure("venv", "a" * 32, counting_builder(counter), healthy=healthy, relocatable=True)
    assert counter.read_text() == "built\nbuilt\n"
    assert (first.path / "marker").exists()


def test_failed_build_leaves_nothing_and_shows_the_log(tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")

    def failing(target: Path, log: BuildLog) -> tuple[str, Mapping[str, object]]:
        for i in range(40):
            log.write(f"line {i}\n")
        raise EnvironmentBuildError("pip could not install frobnicate")

    with pytest.raises(EnvironmentBuildError) as caught:
        store.ensure("venv", "b" * 32, failing, healthy=always_healthy, relocatable=True)
    message = str(caught.value)
    assert "pip could not install frobnicate" in message
    assert "line 39" in message and "line 10" not in message  # the tail, not the whole log
    assert store.record("venv", "b" * 32) is None
    assert not store.location("venv", "b" * 32).exists()
    assert list((tmp_path / "envs" / "tmp").iterdir()) == []
    assert store.log_path("venv", "b" * 32).is_file()  # kept for the user


def _build_forever(root: str, ready: str) -> None:
    def build(target: Path, log: BuildLog) -> tuple[str, Mapping[str, object]]:
        (target / "half").write_text("half")
        Path(ready).write_text("building")
        time.sleep(600)
        return "never", {}

    EnvStore(Path(root)).ensure("conda", "c" * 32, build, healthy=always_healthy, relocatable=False)


def test_killed_build_is_never_used_and_is_rebuilt(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=_build_forever, args=(str(tmp_path / "envs"), str(ready)))
    child.start()
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    store = EnvStore(tmp_path / "envs")
    assert store.record("conda", "c" * 32) is None  # half-built: not usable
    record = store.ensure(
        "conda", "c" * 32, counting_builder(tmp_path / "n"), healthy=always_healthy,
        relocatable=False,
    )  # fmt: skip
    assert not (record.path / "half").exists()
    assert (record.path / "marker").read_text() == "ok"


def test_remove_and_records(tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    store.ensure(
        "venv", "d" * 32, counting_builder(tmp_path / "n"), healthy=always_healthy,
        relocatable=True,
    )  # fmt: skip
    assert [(r.backend, r.fingerprint) for r in store.records()] == [("venv", "d" * 32)]
    assert store.remove("venv", "d" * 32)
    assert store.records() == []
    assert not store.remove("venv", "d" * 32)
