"""No process outlives its run, in both containments (a cgroup v2, and the subreaper where no
cgroup can be had): a descendant that double-forks, leaves the session and clears its
environment is still stopped by a timeout, Ctrl-C, SIGTERM and a normal exit, and a SIGKILL of
runner itself leaves nothing running (the watch). Each case runs runner in a real child
process, whose containment is chosen by RUNNER_CONTAINMENT."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from runner.process.tree import become_subreaper

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux containment")

PY = sys.executable

# The module's command: a main process that starts a ghost (fork, setsid, fork, then exec with
# an empty environment: no cookie, no session, no parent of ours), records the pids, and then
# exits or sleeps.
TREE = """
import os, sys, time
piddir, mode = sys.argv[1], sys.argv[2]
def record(name, pid):
    with open(os.path.join(piddir, name + ".tmp"), "w") as f:
        f.write(str(pid))
    os.replace(os.path.join(piddir, name + ".tmp"), os.path.join(piddir, name))
record("main", os.getpid())
GHOST = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(60)"
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        ghost = os.path.join(piddir, "ghost.tmp")
        os.execve(sys.executable, [sys.executable, "-c", GHOST, ghost], {})
    os._exit(0)
os.wait()
while not os.path.exists(os.path.join(piddir, "ghost.tmp")):
    time.sleep(0.01)
time.sleep(0.1)
os.replace(os.path.join(piddir, "ghost.tmp"), os.path.join(piddir, "ghost"))
print("tree ready", flush=True)
if mode == "sleep":
    time.sleep(60)
"""

DRIVER = """
import json, os, signal, sys
from pathlib import Path
# Background jobs start with SIGINT ignored; these tests need Ctrl-C's usual meaning.
signal.signal(signal.SIGINT, signal.default_int_handler)
from runner.process.local import Invocation, execute
tmp, mode, timeout = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]) or None
outcome = execute(Invocation(
    argv=(sys.executable, str(tmp / "tree.py"), str(tmp / "pids"), mode),
    cwd=tmp, env=dict(os.environ), log_path=tmp / "log.txt", grace=0.5, timeout=timeout,
))
print(json.dumps({"interrupted": outcome.interrupted, "timed_out": outcome.timed_out,
                  "exit_code": outcome.exit_code, "containment": outcome.containment}))
"""

MODES = ["cgroup", "subreaper"]


def start(tmp_path: Path, containment: str, mode: str, timeout: float = 0) -> subprocess.Popen[str]:
    (tmp_path / "tree.py").write_text(TREE)
    (tmp_path / "driver.py").write_text(DRIVER)
    (tmp_path / "pids").mkdir()
    env = {**os.environ, "RUNNER_CONTAINMENT": containment}
    return subprocess.Popen(
        [PY, str(tmp_path / "driver.py"), str(tmp_path), mode, str(timeout)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def tree_pids(tmp_path: Path) -> list[int]:
    piddir = tmp_path / "pids"
    deadline = time.monotonic() + 20
    while not all((piddir / name).exists() for name in ("main", "ghost")):
        assert time.monotonic() < deadline, "the tree never got ready"
        time.sleep(0.02)
    return [int((piddir / name).read_text()) for name in ("main", "ghost")]


def finish(process: subprocess.Popen[str]) -> dict[str, object]:
    try:
        stdout, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    result: dict[str, object] = json.loads(stdout)
    return result


def running(pids: list[int], seconds: float = 0.0) -> list[int]:
    """The pids still running (zombies are not running) after waiting up to `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        alive = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.05)


def check_containment(result: dict[str, object], containment: str) -> None:
    if containment == "cgroup" and result["containment"] != "cgroup":
        pytest.skip("this system gives runner no cgroup of its own")
    assert result["containment"] == containment


@pytest.mark.parametrize("containment", MODES)
def test_a_ghost_does_not_outlive_a_normal_exit(tmp_path: Path, containment: str) -> None:
    process = start(tmp_path, containment, "exit")
    pids = tree_pids(tmp_path)
    result = finish(process)
    check_containment(result, containment)
    assert result["exit_code"] == 0
    assert running(pids) == []
    log = (tmp_path / "log.txt").read_text()
    assert f"runner containment: {containment}" in log


@pytest.mark.parametrize("containment", MODES)
def test_a_ghost_does_not_outlive_a_timeout(tmp_path: Path, containment: str) -> None:
    process = start(tmp_path, containment, "sleep", timeout=3)
    pids = tree_pids(tmp_path)
    result = finish(process)
    check_containment(result, containment)
    assert result["timed_out"] is True
    assert running(pids) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("containment", MODES)
def test_a_ghost_does_not_outlive_an_interruption(
    tmp_path: Path, containment: str, signum: int
) -> None:
    process = start(tmp_path, containment, "sleep")
    pids = tree_pids(tmp_path)
    process.send_signal(signum)
    result = finish(process)
    check_containment(result, containment)
    assert result["interrupted"] is True
    assert running(pids) == []


@pytest.mark.parametrize("containment", MODES)
def test_sigkill_of_runner_leaves_nothing_running(tmp_path: Path, containment: str) -> None:
    # Orphans of the killed runner come to us, and are reaped here rather than left as zombies.
    become_subreaper()
    process = start(tmp_path, containment, "sleep")
    pids = tree_pids(tmp_path)
    # The subreaper finds the ghost at its next scan of /proc (every 0.1 s at first) and
    # tells the watch; the cgroup holds it from birth.
    time.sleep(1)
    log = tmp_path / "log.txt"
    in_force = next(
        line.split("containment: ", 1)[1].split()[0]
        for line in log.read_text().splitlines()
        if "runner containment: " in line
    )
    process.kill()
    process.communicate()
    if containment == "cgroup" and in_force != "cgroup":
        pytest.skip("this system gives runner no cgroup of its own")
    assert running(pids, seconds=60) == []  # a busy machine gives the watch little time
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    if in_force == "cgroup":
        cgroup = next(
            line.split("cgroup v2 ", 1)[1]
            for line in log.read_text().splitlines()
            if "cgroup v2 " in line
        )
        deadline = time.monotonic() + 60
        while Path(cgroup).parent.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(cgroup).parent.exists(), "the watch removes runner's cgroups"


def test_a_shell_ghost_forked_at_once_does_not_outlive_its_run(tmp_path: Path) -> None:
    """A command may fork in its first microseconds: started directly, it is stopped while it
    moves into its cgroup, so even that ghost is held."""
    from runner.process.local import Invocation, execute

    ghost = tmp_path / "ghost"
    script = (
        f"env -i setsid sh -c 'echo $$ > {ghost}.tmp; mv {ghost}.tmp {ghost}; exec sleep 60' &"
        f" while [ ! -e {ghost} ]; do sleep 0.01; done"
    )
    outcome = execute(
        Invocation(("sh", "-c", script), tmp_path, dict(os.environ), tmp_path / "log.txt")
    )
    assert outcome.exit_code == 0
    assert running([int(ghost.read_text())], seconds=5) == []


def test_verbose_output_and_run_json_say_what_holds_the_processes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from runner.cli.main import main

    monkeypatch.setenv("RUNNER_ENV", "host")
    spec = tmp_path / "m.yaml"
    spec.write_text(
        "$schema: http://azureml/sdk-2-0/CommandComponent.json\ntype: CommandComponent\n"
        "name: m\nversion: 1\ncommand: python -c pass\n"
    )
    assert main(["run", str(spec), "--runs-dir", str(tmp_path / "runs"), "-v", "--no-cache"]) == 0
    said = capsys.readouterr().out
    assert "runner: the command's processes are held by " in said
    (record,) = (tmp_path / "runs").glob("*/run.json")
    mode = json.loads(record.read_text())["containment"]
    assert mode in ("cgroup", "subreaper")
    assert f"held by {'cgroup v2' if mode == 'cgroup' else 'subreaper'}" in said
