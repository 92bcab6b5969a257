"""The conda backend's build path through the environment store.

Most tests here use a FAKE tool: a small Python script installed as `micromamba` (or `conda`)
that records its argv, its environment and the environment file it was given, and lays out a
prefix the way a real tool does (`conda-meta/history`, `bin/python`). It exercises everything
around the tool (finding it, the command line, the build once and reuse, the health check, the
rebuild of a broken prefix, the failure path and its log), not conda itself: it installs
nothing and solves nothing.

`test_real_tool` is the only one that runs a real conda, mamba or micromamba. It is marked
`conda` and skipped where none is installed, which is every machine of this project so far
(no conda channel is reachable from them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from runner.env.base import EnvRequest
from runner.env.conda import CondaBackend, find_conda_tool
from runner.env.store import EnvStore
from runner.errors import EnvironmentBuildError, UnsupportedError
from runner.spec.model import CondaDependencies, EnvironmentSpec

FAKE_TOOL = """\
#!{python}
# A fake conda tool for tests: records its call, then lays out a prefix. Installs nothing.
import json, os, sys
from pathlib import Path

args = sys.argv[1:]
prefix = Path(args[args.index("--prefix") + 1])
env_file = Path(args[args.index("--file") + 1])
with open(os.environ["FAKE_CONDA_LOG"], "a") as log:
    log.write(json.dumps({{
        "argv": sys.argv,
        "env_file": env_file.read_text(),
        "environ": {{k: v for k, v in os.environ.items()
                     if k.endswith(("SSL_VERIFY", "CA_BUNDLE", "CERT_FILE", "CERT"))
                     or k in ("PIP_NO_INPUT", "PYTHONPATH")}},
    }}) + "\\n")
if prefix.exists():
    sys.exit(f"critical libmamba Non-conda folder exists at prefix: {{prefix}}")
(prefix / "conda-meta").mkdir(parents=True)
if os.environ.get("FAKE_CONDA_FAIL"):
    print("Could not solve for environment specs")
    sys.exit(1)
(prefix / "conda-meta" / "history").write_text("==> fake <==\\n")
if not os.environ.get("FAKE_CONDA_NO_PYTHON"):
    (prefix / "bin").mkdir()
    (prefix / "bin" / "python").symlink_to(sys.executable)
"""

SPEC = EnvironmentSpec(
    conda=CondaDependencies(
        channels=("conda-forge",), dependencies=("python=3.11", "numpy"), pip=("six",)
    )
)
ENV_FILE = textwrap.dedent(
    """\
    channels:
      - "conda-forge"
    dependencies:
      - "numpy"
      - "pip"
      - "python=3.11"
      - pip:
          - "six"
    """
)


class Fake:
    """A fake tool on a private PATH, and what it was asked to do."""

    def __init__(self, root: Path, name: str = "micromamba") -> None:
        self.bin = root / "bin"
        self.bin.mkdir(parents=True)
        self.tool = self.bin / name
        self.tool.write_text(FAKE_TOOL.format(python=sys.executable), encoding="utf-8")
        self.tool.chmod(0o755)
        self.log = root / "calls.jsonl"
        self.environ = {
            "PATH": f"{self.bin}{os.pathsep}/usr/bin:/bin",
            "FAKE_CONDA_LOG": str(self.log),
        }

    def backend(self, **extra: str) -> CondaBackend:
        return CondaBackend(environ={**self.environ, **extra}, which=self.which)

    def which(self, name: str) -> str | None:
        return shutil.which(name, path=self.environ["PATH"])

    def calls(self) -> list[dict[str, object]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def fake(tmp_path: Path) -> Fake:
    return Fake(tmp_path / "fake")


def request(spec: EnvironmentSpec = SPEC, ca_bundle: Path | None = None) -> EnvRequest:
    return EnvRequest(spec=spec, source=Path("/specs/train.yaml"), ca_bundle=ca_bundle)


def test_builds_once_then_reuses(fake: Fake, tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    backend = fake.backend()
    runtime = backend.ensure(request(), store, None)
    prefix = store.location("conda", runtime.fingerprint)
    assert runtime.location == prefix
    assert runtime.python == str(prefix / "bin" / "python")
    assert runtime.path_prepend == (str(prefix / "bin"),)
    assert dict(runtime.variables) == {
        "CONDA_PREFIX": str(prefix),
        "CONDA_DEFAULT_ENV": str(prefix),
    }
    [call] = fake.calls()
    argv = call["argv"]
    assert isinstance(argv, list)
    assert argv[:5] == [str(fake.tool), "create", "--yes", "--prefix", str(prefix)]
    assert argv[5] == "--file" and argv[6].endswith("/environment.yml")
    assert call["env_file"] == ENV_FILE
    assert call["environ"] == {"PIP_NO_INPUT": "1"}

    record = store.record("conda", runtime.fingerprint)
    assert record is not None
    assert record.description == "conda (micromamba): python 3.11, 3 conda + 1 pip packages"
    assert record.meta["tool"] == "micromamba"
    assert record.meta["channels"] == ["conda-forge"]
    log = record.log.read_text()
    assert ENV_FILE in log and "$ " + str(fake.tool) in log

    again = backend.ensure(request(), store, None)
    assert again == runtime
    assert len(fake.calls()) == 1  # reused: the tool did not run again


def test_conda_kind_uses_env_create(tmp_path: Path) -> None:
    fake = Fake(tmp_path / "fake", name="conda")
    runtime = fake.backend().ensure(request(), EnvStore(tmp_path / "envs"), None)
    [call] = fake.calls()
    argv = call["argv"]
    assert isinstance(argv, list)
    assert argv[1:6] == ["env", "create", "--yes", "--prefix", str(runtime.location)]


def test_concurrent_ensures_build_once(fake: Fake, tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    results: list[str] = []

    def run() -> None:
        results.append(fake.backend().ensure(request(), store, None).python)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len(set(results)) == 1
    assert len(fake.calls()) == 1


def test_broken_prefix_is_rebuilt(fake: Fake, tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    runtime = fake.backend().ensure(request(), store, None)
    assert runtime.location is not None
    (runtime.location / "bin" / "python").unlink()
    again = fake.backend().ensure(request(), store, None)
    assert again == runtime
    assert Path(again.python).exists()
    assert len(fake.calls()) == 2


def test_failed_build_leaves_nothing_and_shows_the_log(fake: Fake, tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    with pytest.raises(EnvironmentBuildError) as failure:
        fake.backend(FAKE_CONDA_FAIL="1").ensure(request(), store, None)
    message = str(failure.value)
    assert "environment build step failed (exit code 1)" in message
    assert "Could not solve for environment specs" in message  # the log's tail
    fingerprint = fake.backend().fingerprint(request(), store)
    assert store.record("conda", fingerprint) is None
    assert not store.location("conda", fingerprint).exists()
    fake.backend().ensure(request(), store, None)  # and the next attempt starts clean
    assert len(fake.calls()) == 2


def test_prefix_without_python_is_a_build_error(fake: Fake, tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    with pytest.raises(EnvironmentBuildError, match="without a python interpreter"):
        fake.backend(FAKE_CONDA_NO_PYTHON="1").ensure(request(), store, None)


def test_ca_bundle_reaches_the_tool(fake: Fake, tmp_path: Path) -> None:
    bundle = tmp_path / "corp.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    fake.backend(PYTHONPATH="/somewhere").ensure(
        request(ca_bundle=bundle), EnvStore(tmp_path / "envs"), None
    )
    [call] = fake.calls()
    assert call["environ"] == {
        "PIP_NO_INPUT": "1",
        "CONDA_SSL_VERIFY": str(bundle),
        "MAMBA_SSL_VERIFY": str(bundle),
        "REQUESTS_CA_BUNDLE": str(bundle),
        "SSL_CERT_FILE": str(bundle),
        "PIP_CERT": str(bundle),
    }


def test_no_tool_is_a_clear_error(tmp_path: Path) -> None:
    backend = CondaBackend(environ={"PATH": str(tmp_path)}, which=lambda name: None)
    with pytest.raises(UnsupportedError) as failure:
        backend.ensure(request(), EnvStore(tmp_path / "envs"), None)
    assert failure.value.message == (
        "train.yaml: the conda backend needs conda, mamba or micromamba, and none was found "
        "(RUNNER_CONDA, PATH, MAMBA_EXE, CONDA_EXE)"
    )
    assert failure.value.hint is not None
    assert "install micromamba" in failure.value.hint and "--env venv" in failure.value.hint


def test_a_built_environment_needs_no_tool(fake: Fake, tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    built = fake.backend().ensure(request(), store, None)
    without_tool = CondaBackend(environ={}, which=lambda name: None)
    assert without_tool.ensure(request(), store, None) == built


# ---- a real tool ---------------------------------------------------------------------------


@pytest.mark.conda
@pytest.mark.slow
def test_real_tool(tmp_path: Path) -> None:
    """Creates a real prefix with the conda, mamba or micromamba found here (needs a channel)."""
    assert find_conda_tool(os.environ, shutil.which) is not None
    spec = EnvironmentSpec(
        conda=CondaDependencies(channels=("conda-forge",), dependencies=("python=3.11",))
    )
    store = EnvStore(tmp_path / "envs")
    runtime = CondaBackend().ensure(request(spec), store, sys.stderr)
    done = subprocess.run(
        [runtime.python, "-c", "import sys; print(sys.prefix, sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split()[0] == str(runtime.location)
    assert "(3, 11)" in done.stdout
    assert CondaBackend().ensure(request(spec), store, None) == runtime
