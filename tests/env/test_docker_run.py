"""run_container against a real engine: log format, ownership, mounts, timeout, Ctrl-C."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import docker
import pytest

from runner.env.container import (
    ContainerInvocation,
    container_name,
    host_has_gpu,
    run_container,
)
from runner.process.local import Outcome

pytestmark = pytest.mark.docker

LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (stdout|stderr|runner) .*")


def invocation(image: str, tmp_path: Path, *argv: str, **fields: object) -> ContainerInvocation:
    return ContainerInvocation(
        image=image,
        argv=argv,
        log_path=tmp_path / "run.log",
        **fields,  # type: ignore[arg-type]
    )


def records(log: Path, tag: str) -> list[str]:
    return [line.split(" ", 2)[2] for line in log.read_text().splitlines() if f" {tag} " in line]


def gone(client: docker.DockerClient, name: str) -> bool:
    return not client.containers.list(all=True, filters={"name": f"^/{name}$"})


def test_output_streams_and_log_format(base_image: str, tmp_path: Path) -> None:
    echo = io.StringIO()
    inv = invocation(
        base_image,
        tmp_path,
        "python",
        "-c",
        "import os, sys; print('out', os.environ['GREETING']); print('err', file=sys.stderr);"
        "print(os.getcwd(), os.environ['HOME'], os.environ['PYTHONUNBUFFERED'])",
        env={"GREETING": "hello world", "PYTHONUNBUFFERED": "1"},
        workdir="/tmp",
        echo=echo,
    )
    outcome = run_container(inv)
    assert (outcome.exit_code, outcome.timed_out, outcome.interrupted) == (0, False, False)
    assert outcome.start_error is None
    log = inv.log_path.read_text().splitlines()
    assert all(LINE.fullmatch(line) for line in log), log
    assert records(inv.log_path, "stdout") == ["out hello world", "/tmp /tmp 1"]
    assert records(inv.log_path, "stderr") == ["err"]
    notes = records(inv.log_path, "runner")
    assert notes[0].startswith("command: python -c ")
    assert notes[-1].startswith("end: exit code 0, duration ")
    assert "out hello world" in echo.getvalue()


def test_exit_code_and_removal(base_image: str, tmp_path: Path, docker_client) -> None:
    inv = invocation(base_image, tmp_path, "sh", "-c", "exit 3")
    assert run_container(inv).exit_code == 3
    assert gone(docker_client, inv.name)


def test_outputs_belong_to_the_given_user_and_inputs_are_read_only(
    base_image: str, tmp_path: Path
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "data.txt").write_text("data\n")
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    outputs.chmod(0o777)  # the test runs as root; the container as another uid
    script = (
        "cat /mnt/in/data.txt > /mnt/out/copy.txt; id -u > /mnt/out/uid.txt;"
        " if echo x > /mnt/in/new.txt; then echo wrote-input; else echo input-read-only; fi"
    )
    inv = invocation(
        base_image,
        tmp_path,
        "sh",
        "-c",
        script,
        mounts=((inputs, "/mnt/in", True), (outputs, "/mnt/out", False)),
        user="1000:1000",
    )
    outcome = run_container(inv)
    assert outcome.exit_code == 0, inv.log_path.read_text()
    assert records(inv.log_path, "stdout") == ["input-read-only"]
    assert any("Read-only file system" in line for line in records(inv.log_path, "stderr"))
    assert not (inputs / "new.txt").exists()
    assert (outputs / "copy.txt").read_text() == "data\n"
    for name in ("copy.txt", "uid.txt"):
        info = (outputs / name).stat()
        assert (info.st_uid, info.st_gid) == (1000, 1000)


def test_runs_as_the_calling_user_by_default(base_image: str, tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    inv = invocation(base_image, tmp_path, "touch", "/out/made", mounts=((outputs, "/out", False),))
    assert run_container(inv).exit_code == 0
    info = (outputs / "made").stat()
    assert (info.st_uid, info.st_gid) == (os.getuid(), os.getgid())


def test_timeout_stops_the_container_quickly(
    base_image: str, tmp_path: Path, docker_client
) -> None:
    inv = invocation(
        base_image, tmp_path, "python", "-c", "import time; time.sleep(60)", timeout=1.0, grace=2
    )
    started = time.monotonic()
    outcome = run_container(inv)
    assert time.monotonic() - started < 6
    assert outcome.timed_out and not outcome.interrupted
    assert outcome.exit_code == -signal.SIGINT  # python dies of the SIGINT it was sent
    assert "timeout after 1.0 s: stopping the container" in records(inv.log_path, "runner")
    assert gone(docker_client, inv.name)


def test_a_command_ignoring_signals_is_killed(
    base_image: str, tmp_path: Path, docker_client
) -> None:
    inv = invocation(
        base_image, tmp_path, "sh", "-c", "trap '' INT TERM; sleep 60", timeout=0.5, grace=0.5
    )
    started = time.monotonic()
    outcome = run_container(inv)
    assert time.monotonic() - started < 10
    assert outcome.timed_out
    assert outcome.exit_code == -signal.SIGKILL
    assert gone(docker_client, inv.name)


def test_ctrl_c_stops_the_container(base_image: str, tmp_path: Path, docker_client) -> None:
    inv = invocation(
        base_image,
        tmp_path,
        "python",
        "-c",
        "import time; print('ready', flush=True); time.sleep(60)",
        grace=2,
    )
    main = threading.main_thread().ident
    assert main is not None

    def interrupt_when_ready() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if inv.log_path.exists() and "ready" in records(inv.log_path, "stdout"):
                signal.pthread_kill(main, signal.SIGINT)
                return
            time.sleep(0.05)

    # A test run started in the background has SIGINT ignored: give it Ctrl-C's usual meaning.
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Thread(target=interrupt_when_ready, daemon=True).start()
        started = time.monotonic()
        outcome: Outcome = run_container(inv)
        elapsed = time.monotonic() - started
    finally:
        signal.signal(signal.SIGINT, saved)
    assert outcome.interrupted and not outcome.timed_out
    assert "interrupted: stopping the container" in records(inv.log_path, "runner")
    # The real end: python died of the SIGINT it was sent, after it had printed "ready".
    assert outcome.exit_code == -signal.SIGINT
    assert 0.2 < outcome.duration <= elapsed
    assert records(inv.log_path, "runner")[-1].startswith(
        f"end: exit code -2, duration {outcome.duration:.3f} s"
    )
    assert gone(docker_client, inv.name)


KILLED_DRIVER = """
import sys
from pathlib import Path
from runner.env.container import ContainerInvocation, run_container
run_container(ContainerInvocation(
    image=sys.argv[1], log_path=Path(sys.argv[2]), name=sys.argv[3],
    argv=("python", "-c", "import time; print('ready', flush=True); time.sleep(60)"),
))
"""


def test_sigkill_of_runner_removes_its_container(
    base_image: str, tmp_path: Path, docker_client
) -> None:
    name = container_name("sigkill")
    log = tmp_path / "run.log"
    process = subprocess.Popen([sys.executable, "-c", KILLED_DRIVER, base_image, str(log), name])
    try:
        deadline = time.monotonic() + 30
        while not (log.exists() and "ready" in records(log, "stdout")):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        assert not gone(docker_client, name)
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 60  # a busy machine gives the watch little time
    while not gone(docker_client, name) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gone(docker_client, name), "the watch removes the container of a killed runner"


def test_cancel_from_another_thread_stops_the_container(
    base_image: str, tmp_path: Path, docker_client
) -> None:
    cancel = threading.Event()
    inv = invocation(base_image, tmp_path, "sleep", "60", grace=1, cancel=cancel, timeout=30)
    threading.Timer(1.0, cancel.set).start()
    outcome = run_container(inv)
    assert outcome.interrupted and not outcome.timed_out
    assert outcome.duration < 10
    assert gone(docker_client, inv.name)


def test_command_not_found_is_a_start_error(base_image: str, tmp_path: Path, docker_client) -> None:
    inv = invocation(base_image, tmp_path, "no-such-command", "x")
    outcome = run_container(inv)
    assert outcome.exit_code is None
    assert outcome.start_error == "command not found: no-such-command"
    assert "start failed: command not found: no-such-command" in records(inv.log_path, "runner")
    assert gone(docker_client, inv.name)


def test_missing_mount_source_is_a_start_error(base_image: str, tmp_path: Path) -> None:
    inv = invocation(base_image, tmp_path, "true", mounts=((tmp_path / "nope", "/x", True),))
    outcome = run_container(inv)
    assert outcome.exit_code is None
    assert outcome.start_error is not None and "nope" in outcome.start_error


@pytest.mark.skipif(host_has_gpu(), reason="this host has a GPU: the request is honoured")
def test_gpu_request_without_gpu_is_noted(base_image: str, tmp_path: Path) -> None:
    inv = invocation(base_image, tmp_path, "true", gpus=1, shm_size="256m")
    assert run_container(inv).exit_code == 0
    assert "gpus: 1 requested, but this host has no NVIDIA GPU" in records(inv.log_path, "runner")
