"""Unit tests of the conda backend's pure part: tool discovery, the normalised spec and its
fingerprint, the rendered environment file, the command line, the build's environment.

These are unit tests. No real conda, mamba or micromamba ran here: no conda channel is
reachable from this project's machines, so none is installed. The argv forms follow each
tool's documentation; a build through a real tool is `test_conda_build.py::test_real_tool`,
which runs only where a tool exists.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from runner.env.base import EnvRequest
from runner.env.conda import (
    CondaBackend,
    CondaTool,
    build_environ,
    conda_command,
    conda_fingerprint,
    conda_platform,
    find_conda_tool,
    normalise,
    render_env_file,
    runtime_for,
)
from runner.env.store import EnvStore
from runner.errors import UnsupportedError
from runner.spec.load import load_spec
from runner.spec.model import CondaDependencies, EnvironmentSpec

PREFIX = Path("/store/envs/conda/abc")
ENV_FILE = Path("/tmp/runner-conda-x/environment.yml")


def which_from(found: dict[str, str]):  # type: ignore[no-untyped-def]
    return lambda name: found.get(name)


# ---- command construction -----------------------------------------------------------------


def test_micromamba_command() -> None:
    tool = CondaTool("micromamba", "/opt/bin/micromamba")
    assert conda_command(tool, PREFIX, ENV_FILE) == [
        "/opt/bin/micromamba",
        "create",
        "--yes",
        "--prefix",
        "/store/envs/conda/abc",
        "--file",
        "/tmp/runner-conda-x/environment.yml",
    ]


@pytest.mark.parametrize("kind", ["conda", "mamba"])
def test_conda_and_mamba_command(kind: str) -> None:
    tool = CondaTool(kind, f"/opt/bin/{kind}")  # type: ignore[arg-type]
    assert conda_command(tool, PREFIX, ENV_FILE) == [
        f"/opt/bin/{kind}",
        "env",
        "create",
        "--yes",
        "--prefix",
        "/store/envs/conda/abc",
        "--file",
        "/tmp/runner-conda-x/environment.yml",
    ]


# ---- the environment file -----------------------------------------------------------------

CONDA = CondaDependencies(
    name="ignored",
    channels=("conda-forge", "defaults"),
    dependencies=("python=3.10", "pandas", "numpy>=1.24,<2"),
    pip=("scikit-learn==1.5.0", "--index-url https://example.org/simple"),
)


def test_render_env_file_exact_text() -> None:
    assert render_env_file(CONDA, ("requests",)) == textwrap.dedent(
        """\
        channels:
          - "conda-forge"
          - "defaults"
        dependencies:
          - "numpy>=1.24,<2"
          - "pandas"
          - "pip"
          - "python=3.10"
          - pip:
              - "--index-url https://example.org/simple"
              - "requests"
              - "scikit-learn==1.5.0"
        """
    )


def test_rendered_file_reads_back_as_yaml() -> None:
    tricky = CondaDependencies(
        dependencies=("python 3.11.*", "conda-forge::numpy"),
        pip=("pkg @ git+https://example.org/pkg.git#egg=pkg", "x: y", "#notacomment", "'q'"),
    )
    assert yaml.safe_load(render_env_file(tricky)) == {
        "dependencies": [
            "conda-forge::numpy",
            "pip",
            "python 3.11.*",
            {
                "pip": [
                    "#notacomment",
                    "'q'",
                    "pkg @ git+https://example.org/pkg.git#egg=pkg",
                    "x: y",
                ]
            },
        ]
    }


def test_render_adds_python_when_absent_and_no_pip_without_a_pip_section() -> None:
    text = render_env_file(CondaDependencies(dependencies=("numpy",)))
    assert text == 'dependencies:\n  - "numpy"\n  - "python"\n'
    assert render_env_file(None) == 'dependencies:\n  - "python"\n'


def test_existing_python_and_pip_pins_are_kept() -> None:
    env = normalise(
        CondaDependencies(dependencies=("conda-forge::python>=3.9", "pip=24.0", "python-dateutil")),
        ("six",),
    )
    assert env.dependencies == ("conda-forge::python>=3.9", "pip=24.0", "python-dateutil")
    assert env.python == "3.9"


# ---- tool discovery -----------------------------------------------------------------------

ALL = {
    "micromamba": "/a/micromamba",
    "mamba": "/b/mamba",
    "conda": "/c/conda",
}


def test_runner_conda_wins() -> None:
    found = {**ALL, "/opt/tools/conda": "/opt/tools/conda"}
    tool = find_conda_tool({"RUNNER_CONDA": "/opt/tools/conda"}, which_from(found))
    assert tool == CondaTool("conda", "/opt/tools/conda")


def test_runner_conda_may_name_a_command_on_path() -> None:
    tool = find_conda_tool({"RUNNER_CONDA": "mamba"}, which_from(ALL))
    assert tool == CondaTool("mamba", "/b/mamba")


def test_runner_conda_that_is_not_executable_is_an_error() -> None:
    with pytest.raises(UnsupportedError, match="RUNNER_CONDA=/nope/conda is not an executable"):
        find_conda_tool({"RUNNER_CONDA": "/nope/conda"}, which_from(ALL))


@pytest.mark.parametrize(
    ("on_path", "expected"),
    [
        (["micromamba", "mamba", "conda"], CondaTool("micromamba", "/a/micromamba")),
        (["mamba", "conda"], CondaTool("mamba", "/b/mamba")),
        (["conda"], CondaTool("conda", "/c/conda")),
    ],
)
def test_path_order(on_path: list[str], expected: CondaTool) -> None:
    found = {name: ALL[name] for name in on_path}
    assert find_conda_tool({}, which_from(found)) == expected


def test_shell_initialised_tools_are_found_through_their_variables() -> None:
    found = {"/root/.local/bin/micromamba": "/root/.local/bin/micromamba"}
    environ = {"MAMBA_EXE": "/root/.local/bin/micromamba", "CONDA_EXE": "/x/conda"}
    assert find_conda_tool(environ, which_from(found)) == CondaTool(
        "micromamba", "/root/.local/bin/micromamba"
    )
    found = {"/opt/conda/bin/conda": "/opt/conda/bin/conda"}
    environ = {"CONDA_EXE": "/opt/conda/bin/conda"}
    assert find_conda_tool(environ, which_from(found)) == CondaTool("conda", "/opt/conda/bin/conda")


def test_no_tool() -> None:
    assert find_conda_tool({"CONDA_EXE": "/gone/conda"}, which_from({})) is None


# ---- fingerprint --------------------------------------------------------------------------


def conda(
    channels: tuple[str, ...], dependencies: tuple[str, ...], pip: tuple[str, ...] = ()
) -> CondaDependencies:
    return CondaDependencies(channels=channels, dependencies=dependencies, pip=pip)


def request(dependencies: CondaDependencies | None, pip: tuple[str, ...] = ()) -> EnvRequest:
    spec = EnvironmentSpec(conda=dependencies, pip_requirements=pip)
    return EnvRequest(spec=spec, source=Path("/specs/module.yaml"))


def test_fingerprint_ignores_dependency_and_pip_order(tmp_path: Path) -> None:
    backend = CondaBackend(environ={}, which=which_from({}))
    store = EnvStore(tmp_path)
    one = conda(("conda-forge",), ("python=3.11", "numpy", "pandas"), ("b", "a"))
    two = conda(("conda-forge",), ("pandas", "numpy", "python=3.11"), ("a", "b", "a"))
    assert backend.fingerprint(request(one), store) == backend.fingerprint(request(two), store)


def test_fingerprint_depends_on_content() -> None:
    base = normalise(conda(("conda-forge", "defaults"), ("python=3.11",)))
    swapped = normalise(conda(("defaults", "conda-forge"), ("python=3.11",)))
    other_python = normalise(conda(("conda-forge", "defaults"), ("python=3.12",)))
    with_pip = normalise(conda(("conda-forge", "defaults"), ("python=3.11",)), ("x",))
    prints = {conda_fingerprint(env, "linux-64") for env in (base, swapped, other_python, with_pip)}
    assert len(prints) == 4  # channel order is priority: it counts
    assert conda_fingerprint(base, "linux-64") != conda_fingerprint(base, "osx-arm64")


def test_fingerprint_is_stable() -> None:
    # A change here rebuilds every user's conda environments: make it on purpose only.
    env = normalise(conda(("conda-forge",), ("python=3.11", "numpy"), ("six",)))
    assert conda_fingerprint(env, "linux-64") == "c379c8b53ab4be03c6082a66d86410f9"


def test_fingerprint_is_path_independent(tmp_path: Path) -> None:
    spec = """\
        $schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
        type: command
        name: train
        version: 1
        environment:
          image: example.org/base:1
          conda_file: conda.yaml
        command: python -c pass
        """
    conda = "channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - pip:\n    - six\n"
    prints = []
    for folder in ("one", "two/deeper"):
        root = tmp_path / folder
        root.mkdir(parents=True)
        (root / "conda.yaml").write_text(conda, encoding="utf-8")
        (root / "train.yaml").write_text(textwrap.dedent(spec), encoding="utf-8")
        module = load_spec(root / "train.yaml")
        req = EnvRequest(spec=module.environment, source=module.source)
        backend = CondaBackend(environ={}, which=which_from({}))
        prints.append(backend.fingerprint(req, EnvStore(root / "store")))
    assert prints[0] == prints[1]


def test_fingerprint_starts_no_process_and_needs_no_tool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process was started")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(subprocess, "run", refuse)
    backend = CondaBackend(environ={}, which=which_from({}))
    assert len(backend.fingerprint(request(CONDA), EnvStore(tmp_path))) == 32


@pytest.mark.parametrize(
    ("system", "machine", "expected"),
    [
        ("Linux", "x86_64", "linux-64"),
        ("Linux", "aarch64", "linux-aarch64"),
        ("Linux", "ppc64le", "linux-ppc64le"),
        ("Darwin", "x86_64", "osx-64"),
        ("Darwin", "arm64", "osx-arm64"),
        ("Windows", "AMD64", "win-64"),
        ("Windows", "ARM64", "win-arm64"),
    ],
)
def test_conda_platform(system: str, machine: str, expected: str) -> None:
    assert conda_platform(system, machine) == expected


# ---- the build's environment and the runtime ---------------------------------------------


def test_build_environ_without_bundle_keeps_the_callers_settings() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "CONDA_PKGS_DIRS": "/cache/pkgs",
        "REQUESTS_CA_BUNDLE": "/etc/mine.pem",
        "PYTHONPATH": "/src",
        "PYTHONHOME": "/py",
        "PIP_USER": "1",
        "PIP_REQUIRE_VIRTUALENV": "1",
    }
    assert build_environ(environ, None) == {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "CONDA_PKGS_DIRS": "/cache/pkgs",
        "REQUESTS_CA_BUNDLE": "/etc/mine.pem",
        "PIP_NO_INPUT": "1",
    }


def test_build_environ_with_bundle() -> None:
    env = build_environ({"PATH": "/usr/bin"}, Path("/etc/corp.pem"))
    assert env == {
        "PATH": "/usr/bin",
        "PIP_NO_INPUT": "1",
        "CONDA_SSL_VERIFY": "/etc/corp.pem",
        "MAMBA_SSL_VERIFY": "/etc/corp.pem",
        "REQUESTS_CA_BUNDLE": "/etc/corp.pem",
        "SSL_CERT_FILE": "/etc/corp.pem",
        "PIP_CERT": "/etc/corp.pem",
    }


def test_runtime() -> None:
    runtime = runtime_for(PREFIX, "abc")
    assert runtime.backend == "conda"
    assert runtime.python == "/store/envs/conda/abc/bin/python"
    assert runtime.path_prepend == ("/store/envs/conda/abc/bin",)
    assert dict(runtime.variables) == {
        "CONDA_PREFIX": "/store/envs/conda/abc",
        "CONDA_DEFAULT_ENV": "/store/envs/conda/abc",
    }
    assert runtime.location == PREFIX
