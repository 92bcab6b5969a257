"""The venv backend, with real environments made by uv and packages from the real index."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.env.base import EnvRequest, Runtime
from runner.env.pythons import current_interpreter, find_interpreters
from runner.env.store import EnvStore
from runner.env.venv import REQUIREMENTS_FILE, VenvBackend, failing_requirements, uv_environ
from runner.errors import EnvironmentBuildError
from runner.spec.model import CondaDependencies, EnvironmentSpec
from runner.struct import replace

REPO = Path(__file__).resolve().parents[2]


def request(
    *deps: str, pip: tuple[str, ...] = (), requirements: tuple[str, ...] = ()
) -> EnvRequest:
    conda = CondaDependencies(dependencies=deps, pip=pip) if deps or pip else None
    spec = EnvironmentSpec(conda=conda, pip_requirements=requirements)
    return EnvRequest(spec=spec, source=Path("module.yaml"))


def run_python(python: str, code: str) -> str:
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def store(tmp_path: Path) -> EnvStore:
    return EnvStore(tmp_path / "envs")


def where(runtime: Runtime) -> Path:
    assert runtime.location is not None
    return runtime.location


def forbid_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process was started on the warm path")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    for name in ("fork", "posix_spawn", "posix_spawnp", "system", "execv", "execve"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refuse)


def test_build_then_reuse_without_any_process(
    store: EnvStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = VenvBackend()
    wanted = request("python=3.10", "pip", "six=1.16", pip=("tabulate",))
    pinned = [i for i in find_interpreters(store.memo_dir) if i.version[:2] == (3, 10)]
    echo = io.StringIO()
    runtime = backend.ensure(wanted, store, echo)

    assert runtime.backend == "venv"
    location = where(runtime)
    assert location == store.location("venv", runtime.fingerprint)
    assert runtime.python == str(location / "bin" / "python")
    assert runtime.path_prepend == (str(location / "bin"),)
    assert runtime.variables == {"VIRTUAL_ENV": str(location)}
    code = "import sys, six, tabulate; print('%d.%d' % sys.version_info[:2], six.__version__)"
    version, six_version = run_python(runtime.python, code).split()
    if pinned:
        assert version == "3.10"
    assert six_version.startswith("1.16")
    # Announced with what it installs; uv's own output only in the log (and with -v).
    shown = echo.getvalue()
    assert shown.startswith(f"building a venv for module.yaml: python {version}")
    assert "six==1.16.*, tabulate (log: " in shown and "venv ready in " in shown
    assert "uv venv" not in shown
    assert "uv venv --relocatable --seed" in store.log_path("venv", runtime.fingerprint).read_text()
    assert (location / REQUIREMENTS_FILE).read_text() == "six==1.16.*\ntabulate\n"
    assert run_python(runtime.python, "import pip; print('ok')") == "ok"  # seeded
    record_file = store.root / "venv" / f"{runtime.fingerprint}.json"
    record = record_file.read_text()
    built = (location / "pyvenv.cfg").stat().st_ino
    meta = json.loads(record_file.read_text())["meta"]
    assert meta["requirements"] == ["six==1.16.*", "tabulate"]

    forbid_processes(monkeypatch)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        again = backend.ensure(wanted, store, None)
        timings.append(time.perf_counter() - started)
    assert again == runtime
    assert record_file.read_text() == record  # not rebuilt (the store only marks the use)
    assert (location / "pyvenv.cfg").stat().st_ino == built
    assert sorted(timings)[2] < 0.05  # a few milliseconds; generous for a loaded machine


def test_fingerprint_is_content_only(tmp_path: Path) -> None:
    backend = VenvBackend()
    one = EnvStore(tmp_path / "one")
    two = EnvStore(tmp_path / "two")
    base = backend.fingerprint(request("six", requirements=("attrs",)), one)
    assert backend.fingerprint(request("six", requirements=("attrs",)), two) == base
    # order and spacing of the requirements do not count
    assert backend.fingerprint(request(requirements=("attrs", "six")), one) == base
    assert backend.fingerprint(request(requirements=(" six ", "attrs")), one) == base
    assert backend.fingerprint(request("six", requirements=("attrs>=23",)), one) != base
    running = current_interpreter().version
    other = [i for i in find_interpreters(one.memo_dir) if i.version[:2] != running[:2]]
    if other:
        pin = f"python={other[0].version[0]}.{other[0].version[1]}"
        assert backend.fingerprint(request(pin, "six", requirements=("attrs",)), one) != base


def test_python_pin_and_python_option_choose_the_base(store: EnvStore) -> None:
    backend = VenvBackend()
    found = find_interpreters(store.memo_dir)
    lowest = found[0]
    older = f"python=3.{lowest.version[1] - 1}"
    plan = backend.plan(request(older), store)
    assert plan.interpreter.version[:2] == lowest.version[:2]
    assert plan.note is not None
    assert "closest newer" in plan.note
    strict = EnvRequest(spec=request(older).spec, source=Path("m.yaml"), strict_python=True)
    with pytest.raises(EnvironmentBuildError, match=r"^m\.yaml: python 3\.\d+ requested and"):
        backend.plan(strict, store)
    other = [i for i in found if i.version[:2] != current_interpreter().version[:2]]
    if other:
        chosen = EnvRequest(spec=EnvironmentSpec(), source=Path("m.yaml"), python=other[0].path)
        assert backend.plan(chosen, store).interpreter.version == other[0].version


def test_no_requirements_is_an_empty_venv(store: EnvStore) -> None:
    runtime = VenvBackend().ensure(request(), store, None)
    assert run_python(runtime.python, "import sys; print(sys.prefix)") == str(where(runtime))
    assert (where(runtime) / REQUIREMENTS_FILE).read_text() == ""


def test_a_broken_env_is_rebuilt(store: EnvStore) -> None:
    backend = VenvBackend()
    wanted = request(requirements=("six",))
    runtime = backend.ensure(wanted, store, None)
    (where(runtime) / "bin" / "python").unlink()
    echo = io.StringIO()
    again = backend.ensure(replace(wanted, verbose=True), store, echo)
    assert again.location == runtime.location
    assert "building a venv for module.yaml" in echo.getvalue()
    assert "uv venv" in echo.getvalue()  # -v: uv's own output too
    assert run_python(again.python, "import six; print('ok')") == "ok"


def test_an_uninstallable_requirement_is_a_clean_error(store: EnvStore) -> None:
    missing = "runner-test-no-such-package-4f1c==1.0"
    with pytest.raises(EnvironmentBuildError) as caught:
        VenvBackend().ensure(request(requirements=("six", missing)), store, None)
    message = caught.value.message
    assert message.startswith(f"module.yaml: cannot install {missing} into a venv")
    assert "last lines of the build log" in message
    assert "runner-test-no-such-package-4f1c" in message.split("last lines", 1)[1]
    assert caught.value.hint is not None
    assert "full log: " in caught.value.hint
    assert store.records() == []
    assert list((store.root / "venv").iterdir()) == []
    assert list((store.root / "tmp").iterdir()) == []


def test_failing_requirements_are_found_in_uv_output() -> None:
    output = (
        "Using Python 3.10.13 environment at: .\n"
        "error: No solution found when resolving dependencies\n"
        "  cause: Because there is no version of typing-extensions==99 and you require "
        "typing-extensions==99, we can conclude that your requirements are unsatisfiable.\n"
    )
    requirements = ["six", "typing_extensions==99", "--index-url https://x/simple"]
    assert failing_requirements(requirements, output) == ["typing_extensions==99"]
    assert failing_requirements(requirements, "no error at all: six") == []


def test_uv_environment() -> None:
    base = {"PATH": "/usr/bin", "UV_INDEX_URL": "https://mirror/simple"}
    env = uv_environ(base, Path("/etc/ssl/corp.pem"))
    assert env == {**base, "SSL_CERT_FILE": "/etc/ssl/corp.pem"}
    assert base == {"PATH": "/usr/bin", "UV_INDEX_URL": "https://mirror/simple"}


# ---- concurrency and interruption: other processes ----------------------------------------

ENSURE = """
import sys
from pathlib import Path
from runner.env.base import EnvRequest, Runtime
from runner.env.store import EnvStore
from runner.env.venv import VenvBackend
from runner.spec.model import EnvironmentSpec

spec = EnvironmentSpec(pip_requirements=tuple(sys.argv[2:]))
runtime = VenvBackend().ensure(
    EnvRequest(spec=spec, source=Path("module.yaml")), EnvStore(Path(sys.argv[1])), sys.stdout
)
print("LOCATION", runtime.location, flush=True)
"""


def ensure_in_child(root: Path, *requirements: str, session: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", ENSURE, str(root), *requirements],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        start_new_session=session,
    )


def test_concurrent_ensures_build_once(store: EnvStore) -> None:
    processes = [ensure_in_child(store.root, "six", "attrs") for _ in range(4)]
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0, 0], outputs
    locations = {
        line for out in outputs for line in out.splitlines() if line.startswith("LOCATION")
    }
    assert len(locations) == 1
    assert sum(out.count("building a venv for module.yaml") for out in outputs) == 1
    assert len(store.records()) == 1


@pytest.fixture
def stalling_index() -> Iterator[tuple[str, threading.Event]]:
    """An index URL that holds every connection open while the event is clear, then answers
    404 (so uv moves on to the other indexes)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    release = threading.Event()
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            if not release.is_set():
                held.append(connection)
                continue
            connection.settimeout(2)
            try:
                connection.recv(65536)
                connection.sendall(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            except OSError:
                pass
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/simple", release
    stop.set()
    thread.join(timeout=5)
    for connection in held:
        connection.close()
    server.close()


def test_a_killed_build_is_never_used_and_the_next_ensure_builds(
    store: EnvStore, stalling_index: tuple[str, threading.Event]
) -> None:
    url, release = stalling_index
    requirements = (f"--extra-index-url {url}", "six")
    builder = ensure_in_child(store.root, *requirements, session=True)
    logs = store.root / "logs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        log = next(iter(logs.glob("venv-*.log")), None) if logs.is_dir() else None
        if log is not None and "pip install" in log.read_text():
            break
        time.sleep(0.05)
    else:
        pytest.fail("the build never reached the install step")
    time.sleep(0.5)  # uv is now waiting for the stalled index
    assert builder.poll() is None
    os.killpg(builder.pid, signal.SIGKILL)
    builder.communicate(timeout=30)

    assert store.records() == []
    assert list((store.root / "venv").iterdir()) == []  # nothing where a run would look
    assert list((store.root / "tmp").iterdir())  # the half-built venv, never used

    release.set()
    backend = VenvBackend()
    wanted = EnvRequest(
        spec=EnvironmentSpec(pip_requirements=requirements), source=Path("module.yaml")
    )
    runtime = backend.ensure(wanted, store, None)
    assert run_python(runtime.python, "import six; print('ok')") == "ok"
    assert len(store.records()) == 1
