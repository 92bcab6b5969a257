"""runner.process.local with real child processes: logs, echo, start errors, timeout, no orphans."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timezone
from pathlib import Path

import psutil
import pytest

from runner.process.local import EXECUTION_ID_VAR, Invocation, Outcome, execute

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process groups are POSIX")

PY = sys.executable
GRACE = 0.5
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (stdout|stderr|runner) (.*)$")


def run(tmp_path: Path, *argv: str, **options: object) -> Outcome:
    settings: dict[str, object] = {
        "cwd": tmp_path,
        "env": dict(os.environ),
        "log_path": tmp_path / "log.txt",
        "grace": GRACE,
    }
    settings.update(options)
    return execute(Invocation(argv=tuple(argv), **settings))  # type: ignore[arg-type]


def python(tmp_path: Path, code: str, *args: str, **options: object) -> Outcome:
    return run(tmp_path, PY, "-c", textwrap.dedent(code), *args, **options)


def log_records(tmp_path: Path) -> list[tuple[str, str]]:
    records = []
    for line in (tmp_path / "log.txt").read_text(encoding="utf-8").splitlines():
        match = LINE.match(line)
        assert match, f"malformed log line: {line!r}"
        records.append((match.group(1), match.group(2)))
    return records


def output(tmp_path: Path, stream: str) -> list[str]:
    return [text for tag, text in log_records(tmp_path) if tag == stream]


def survivors(pids: list[int]) -> list[int]:
    """The pids still present: alive, or zombies nobody reaped."""
    return [pid for pid in pids if psutil.pid_exists(pid)]


def wait_for_files(paths: list[Path], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not all(p.exists() for p in paths):
        assert time.monotonic() < deadline, f"never appeared: {paths}"
        time.sleep(0.02)


# --- exit codes, log, echo ------------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 1, 7])
def test_exit_code(tmp_path: Path, code: int) -> None:
    outcome = python(tmp_path, f"import sys; sys.exit({code})")
    assert outcome.exit_code == code
    assert not outcome.timed_out and not outcome.interrupted and outcome.start_error is None


def test_killed_by_signal_is_negative(tmp_path: Path) -> None:
    outcome = python(tmp_path, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert outcome.exit_code == -signal.SIGKILL


def test_times_are_utc_and_ordered(tmp_path: Path) -> None:
    outcome = python(tmp_path, "import time; time.sleep(0.2)")
    assert outcome.started_at.tzinfo is timezone.utc
    assert outcome.ended_at.tzinfo is timezone.utc
    assert 0.2 <= outcome.duration < 5


def test_log_has_both_streams_tagged_and_timestamped(tmp_path: Path) -> None:
    python(
        tmp_path,
        """
        import sys
        print("to out", flush=True)
        print("to err", file=sys.stderr, flush=True)
        print("out again", flush=True)
        """,
    )
    assert output(tmp_path, "stdout") == ["to out", "out again"]
    assert output(tmp_path, "stderr") == ["to err"]
    notes = output(tmp_path, "runner")
    assert notes[0].startswith(f"command: {PY} -c ")
    assert f"cwd: {tmp_path}" in notes
    assert any(n.startswith("start: ") for n in notes)
    assert notes[-1].startswith("end: exit code 0, duration ")


def test_log_is_appended(tmp_path: Path) -> None:
    python(tmp_path, "print('first')")
    python(tmp_path, "print('second')")
    assert output(tmp_path, "stdout") == ["first", "second"]


def test_argv_values_arrive_intact(tmp_path: Path) -> None:
    values = ["a b  c", "$HOME", "'quoted' \"double\"", "", "*", "semi;colon && echo no"]
    python(tmp_path, "import json, sys; print(json.dumps(sys.argv[1:]))", *values)
    assert json.loads(output(tmp_path, "stdout")[0]) == values


def test_env_is_the_given_one_plus_the_cookie(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ONLY_THIS": "yes"}
    python(tmp_path, "import json, os; print(json.dumps(dict(os.environ)))", env=env)
    seen = json.loads(output(tmp_path, "stdout")[0])
    assert seen["ONLY_THIS"] == "yes"
    assert re.fullmatch(r"[0-9a-f]{32}", seen[EXECUTION_ID_VAR])
    # Python may add LC_CTYPE (PEP 538); nothing of ours leaks.
    assert set(seen) - {"LC_CTYPE"} == {"PATH", "ONLY_THIS", EXECUTION_ID_VAR}


def test_nested_cookie_is_appended(tmp_path: Path) -> None:
    env = {**os.environ, EXECUTION_ID_VAR: "outer"}
    python(tmp_path, f"import os; print(os.environ[{EXECUTION_ID_VAR!r}])", env=env)
    outer, inner = output(tmp_path, "stdout")[0].split()
    assert outer == "outer" and len(inner) == 32


def test_stdin_is_empty(tmp_path: Path) -> None:
    python(tmp_path, "import sys; print(repr(sys.stdin.read()))")
    assert output(tmp_path, "stdout") == ["''"]


class Recorder(io.StringIO):
    """An echo stream that releases the child once it has seen `ready` (proves liveness)."""

    def __init__(self, release: Path) -> None:
        super().__init__()
        self.release = release

    def write(self, text: str) -> int:
        written = super().write(text)
        if "ready" in self.getvalue():
            self.release.touch()
        return written


def test_echo_streams_live_and_raw(tmp_path: Path) -> None:
    release = tmp_path / "release"
    echo = Recorder(release)
    outcome = python(
        tmp_path,
        """
        import os, sys, time
        print("ready", flush=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(sys.argv[1]):
            if time.monotonic() > deadline:
                sys.exit(9)
            time.sleep(0.01)
        print("done", file=sys.stderr, flush=True)
        """,
        str(release),
        echo=echo,
    )
    assert outcome.exit_code == 0, "the echo did not see 'ready' while the child ran"
    assert echo.getvalue() == "ready\ndone\n"


def test_closed_echo_does_not_crash(tmp_path: Path) -> None:
    echo = io.StringIO()
    echo.close()
    outcome = python(tmp_path, "print('still logged')", echo=echo)
    assert outcome.exit_code == 0
    assert output(tmp_path, "stdout") == ["still logged"]


def test_partial_line_and_invalid_utf8(tmp_path: Path) -> None:
    echo = io.StringIO()
    python(
        tmp_path,
        r"""
        import sys
        sys.stdout.buffer.write(b"caf\xc3\xa9 bad \xff\xfe end\r\n")
        sys.stdout.buffer.write(b"no newline at the end")
        """,
        echo=echo,
    )
    assert output(tmp_path, "stdout") == ["café bad \ufffd\ufffd end", "no newline at the end"]
    assert echo.getvalue() == "café bad \ufffd\ufffd end\r\nno newline at the end"


def test_the_echo_never_splits_a_line(tmp_path: Path) -> None:
    """stdout's line is written in pieces, and stderr writes a whole line between them: in the
    echo (and the log) each line stays whole; a progress segment ending in \r is shown as it
    comes."""
    echo = io.StringIO()
    outcome = python(
        tmp_path,
        """
        import sys, time
        for piece in ("half ", "of a ", "line"):
            sys.stdout.write(piece); sys.stdout.flush(); time.sleep(0.05)
        sys.stderr.write("a whole error line\\n"); sys.stderr.flush(); time.sleep(0.2)
        sys.stdout.write(" ends here\\n10%\\r"); sys.stdout.flush(); time.sleep(0.2)
        sys.stdout.write("100%\\n")
        """,
        echo=echo,
    )
    assert outcome.exit_code == 0
    assert echo.getvalue() == "a whole error line\nhalf of a line ends here\n10%\r100%\n"
    log = (tmp_path / "log.txt").read_bytes().decode().split("\n")
    assert [line.split(" ", 2)[1:] for line in log if " std" in line] == [
        ["stderr", "a whole error line"],
        ["stdout", "half of a line ends here"],
        ["stdout", "10%\r100%"],
    ]


class TimedEcho(io.StringIO):
    """An echo stream that notes when each piece of text arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        self.pieces.append((time.monotonic(), text))
        return super().write(text)


def test_an_unfinished_line_is_a_prompt_and_shows_before_its_end(tmp_path: Path) -> None:
    echo = TimedEcho()
    outcome = python(
        tmp_path,
        """
        import sys, time
        sys.stdout.write("name: "); sys.stdout.flush(); time.sleep(1.5)
        sys.stdout.write("done\\n")
        """,
        echo=echo,
    )
    assert outcome.exit_code == 0
    assert echo.getvalue() == "name: done\n"
    (shown_at, first), *_, (ended_at, _) = echo.pieces
    assert first == "name: " and ended_at - shown_at > 0.5, echo.pieces


def test_newlines_in_argv_keep_the_log_parseable(tmp_path: Path) -> None:
    python(tmp_path, "print('x')\nprint('y')")
    log_records(tmp_path)  # every line is a well-formed record
    assert output(tmp_path, "stdout") == ["x", "y"]


# --- start errors ---------------------------------------------------------------------------


def test_command_not_found(tmp_path: Path) -> None:
    outcome = run(tmp_path, "no-such-command-for-runner-tests", "arg")
    assert outcome.exit_code is None
    assert outcome.start_error == "command not found: no-such-command-for-runner-tests"
    assert "start failed: command not found" in " ".join(output(tmp_path, "runner"))


def test_permission_denied(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    outcome = run(tmp_path, str(script))
    assert outcome.exit_code is None
    assert outcome.start_error == f"permission denied: {script}"


def test_missing_working_directory(tmp_path: Path) -> None:
    outcome = run(tmp_path, PY, "-c", "pass", cwd=tmp_path / "missing")
    assert outcome.start_error == f"working directory not found: {tmp_path / 'missing'}"


def test_working_directory_is_a_file(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    outcome = run(tmp_path, PY, "-c", "pass", cwd=afile)
    assert outcome.start_error == f"working directory is not a directory: {afile}"


def test_invalid_invocations() -> None:
    with pytest.raises(ValueError):
        Invocation(argv=(), cwd=Path(), env={}, log_path=Path("log"))
    with pytest.raises(ValueError):
        Invocation(argv=("x",), cwd=Path(), env={}, log_path=Path("log"), timeout=0)


# --- timeout and escalation -----------------------------------------------------------------


def test_timeout_stops_sleep_quickly(tmp_path: Path) -> None:
    started = time.monotonic()
    outcome = run(tmp_path, "sleep", "60", timeout=0.3)
    assert outcome.timed_out and not outcome.interrupted
    assert outcome.exit_code is not None and outcome.exit_code < 0
    assert time.monotonic() - started < 0.3 + 2 * GRACE + 2
    assert any("timeout after 0.3 s" in n for n in output(tmp_path, "runner"))


SIGNAL_LOGGER = """
import os, signal, sys, time
log = sys.argv[1]
def note(signum, frame):
    with open(log, "a") as f:
        f.write(signal.Signals(signum).name + "\\n")
signal.signal(signal.SIGINT, note)
signal.signal(signal.SIGTERM, note)
with open(log + ".ready", "w"):
    pass
while True:
    time.sleep(0.05)
"""


def test_escalation_is_int_then_term_then_kill(tmp_path: Path) -> None:
    received = tmp_path / "signals.txt"
    outcome = python(tmp_path, SIGNAL_LOGGER, str(received), timeout=1.0, grace=0.3)
    assert (tmp_path / "signals.txt.ready").exists()
    assert received.read_text().split() == ["SIGINT", "SIGTERM"]
    assert outcome.exit_code == -signal.SIGKILL
    assert outcome.timed_out
    notes = " ".join(output(tmp_path, "runner"))
    assert notes.index("sending SIGINT") < notes.index("sending SIGTERM")
    assert notes.index("sending SIGTERM") < notes.index("sending SIGKILL")


# A child with two hard-to-kill descendants: one ignoring SIGINT and SIGTERM, one that leaves
# the session and double-forks (and keeps our pipes open).
TREE = """
import os, subprocess, sys, time
piddir, mode = sys.argv[1], sys.argv[2]
def record(name, pid):
    path = os.path.join(piddir, name)
    with open(path + ".tmp", "w") as f:
        f.write(str(pid))
    os.replace(path + ".tmp", path)
record("main", os.getpid())
STUBBORN = '''
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
exec(sys.argv[2])
record("stubborn", os.getpid())
time.sleep(60)
'''
DAEMON = '''
import os, sys, time
exec(sys.argv[2])
os.setsid()
if os.fork() == 0:
    record("daemon", os.getpid())
    os.write(1, b"daemon still writing\\\\n")  # one write: atomic on a pipe
    time.sleep(60)
    os._exit(0)
os._exit(0)
'''
RECORD = '''
def record(name, pid):
    path = os.path.join(sys.argv[1], name)
    with open(path + ".tmp", "w") as f:
        f.write(str(pid))
    os.replace(path + ".tmp", path)
'''
subprocess.Popen([sys.executable, "-c", STUBBORN, piddir, RECORD])
subprocess.run([sys.executable, "-c", DAEMON, piddir, RECORD], check=True)
while not all(os.path.exists(os.path.join(piddir, n)) for n in ("stubborn", "daemon")):
    time.sleep(0.01)
os.write(1, b"tree ready\\n")
if mode == "sleep":
    time.sleep(60)
"""


def write_tree(tmp_path: Path) -> tuple[Path, Path]:
    script = tmp_path / "tree.py"
    script.write_text(TREE)
    piddir = tmp_path / "pids"
    piddir.mkdir()
    return script, piddir


def tree_pids(piddir: Path) -> list[int]:
    return [int((piddir / name).read_text()) for name in ("main", "stubborn", "daemon")]


@pytest.mark.parametrize("mode", ["exit", "sleep"])
def test_no_orphans_survive(tmp_path: Path, mode: str) -> None:
    script, piddir = write_tree(tmp_path)
    started = time.monotonic()
    outcome = run(tmp_path, PY, str(script), str(piddir), mode, timeout=2.0)
    elapsed = time.monotonic() - started
    pids = tree_pids(piddir)
    assert survivors(pids) == []
    assert "tree ready" in output(tmp_path, "stdout")
    assert "daemon still writing" in output(tmp_path, "stdout")
    if mode == "exit":
        assert outcome.exit_code == 0 and not outcome.timed_out
        assert elapsed < 4
    else:
        assert outcome.timed_out
        assert elapsed < 2 + 2 * GRACE + 3


def test_unrelated_children_are_left_alone(tmp_path: Path) -> None:
    before = subprocess.Popen(["sleep", "30"])
    during: list[subprocess.Popen[bytes]] = []

    def spawn_while_running() -> None:
        time.sleep(0.3)
        during.append(subprocess.Popen(["sleep", "30"]))

    spawner = threading.Thread(target=spawn_while_running)
    try:
        script, piddir = write_tree(tmp_path)
        spawner.start()
        code = f"import runpy, sys, time; time.sleep(0.6); runpy.run_path({str(script)!r})"
        outcome = python(tmp_path, code, str(piddir), "exit")
        spawner.join()
        assert outcome.exit_code == 0
        assert survivors(tree_pids(piddir)) == []
        assert before.poll() is None
        assert during[0].poll() is None
    finally:
        spawner.join()
        for child in [before, *during]:
            child.kill()
            child.wait()


# --- interruption of the runner itself ------------------------------------------------------

DRIVER = """
import json, os, signal, sys
from pathlib import Path
# Background jobs start with SIGINT ignored; this test needs Ctrl-C's usual meaning.
signal.signal(signal.SIGINT, signal.default_int_handler)
from runner.process.local import Invocation, execute
tmp = Path(sys.argv[1])
outcome = execute(Invocation(
    argv=(sys.executable, str(tmp / "tree.py"), str(tmp / "pids"), "sleep"),
    cwd=tmp, env=dict(os.environ), log_path=tmp / "log.txt", grace=0.5,
))
print(json.dumps({"interrupted": outcome.interrupted, "timed_out": outcome.timed_out,
                  "exit_code": outcome.exit_code}))
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_the_runner_stops_the_tree(tmp_path: Path, signum: int) -> None:
    _, piddir = write_tree(tmp_path)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    proc = subprocess.Popen([PY, str(driver), str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        wait_for_files([piddir / n for n in ("main", "stubborn", "daemon")])
        pids = tree_pids(piddir)
        proc.send_signal(signum)
        stdout, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert json.loads(stdout) == {"interrupted": True, "timed_out": False, "exit_code": -2}
    assert survivors(pids) == []
    assert any(n.startswith("interrupted") for n in output(tmp_path, "runner"))
