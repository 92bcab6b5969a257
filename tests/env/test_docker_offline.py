"""The docker backend's parts that need no engine: rendering, fingerprints' inputs, errors."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from runner.env.base import EnvRequest
from runner.env.container import ContainerInvocation, container_name, run_container
from runner.env.docker import DockerBackend
from runner.env.docker_engine import engine_answers, engine_client
from runner.env.dockerfile import CA_FILE, CONTEXT_DIR, render_build
from runner.env.store import EnvStore
from runner.errors import UnsupportedError
from runner.spec.model import CondaDependencies, EnvironmentSpec

BASE_ID = "sha256:" + "ab" * 32
CONDA = CondaDependencies(dependencies=("python=3.10", "numpy=1.24"), pip=("six==1.16.0",))


def test_dockerfile_pins_the_base_by_id_and_sets_up_the_environment() -> None:
    build = render_build(EnvironmentSpec(base_image="x:1", conda=CONDA), BASE_ID)
    text = build.dockerfile
    assert f"FROM {BASE_ID}\n" in text
    assert "x:1" not in text  # the tag is not the content
    assert "ENV PATH=/opt/runner-env/bin:$PATH PYTHONUNBUFFERED=1" in text
    assert "command -v micromamba" in text and "conda env create -p /opt/runner-env" in text
    assert "3.10|3.10.*) ;;" in text  # the python pin, checked in the pip branch
    assert "\n\n" not in text.split("FROM", 1)[1]  # no blank continuation lines
    files = dict(build.files)
    assert files["conda-requirements.txt"] == b"numpy==1.24.*\nsix==1.16.0\n"
    document = yaml.safe_load(files["conda.yaml"])
    assert document["dependencies"] == [
        "python=3.10",
        "numpy=1.24",
        "pip",
        {"pip": ["six==1.16.0"]},
    ]


def test_conda_env_without_python_gets_one() -> None:
    conda = CondaDependencies(channels=("conda-forge",), dependencies=("numpy",))
    build = render_build(EnvironmentSpec(conda=conda), BASE_ID)
    document = yaml.safe_load(dict(build.files)["conda.yaml"])
    assert document == {"channels": ["conda-forge"], "dependencies": ["python", "numpy"]}
    assert "case" not in build.dockerfile  # no pin, no check


def test_untranslatable_conda_fails_only_without_conda() -> None:
    conda = CondaDependencies(dependencies=("python=3.10", "cudatoolkit=11.8"))
    build = render_build(EnvironmentSpec(conda=conda), BASE_ID)
    files = dict(build.files)
    assert b"cudatoolkit=11.8" in files["translation-error.txt"]
    assert "conda-requirements.txt" not in files
    assert 'cat "$b/translation-error.txt" >&2' in build.dockerfile


def test_pip_requirements_extend_the_image() -> None:
    build = render_build(EnvironmentSpec(pip_requirements=("tabulate", "# note")), BASE_ID)
    assert dict(build.files) == {"requirements.txt": b"tabulate\n# note\n"}
    assert "venv --system-site-packages" in build.dockerfile
    assert "command -v conda" not in build.dockerfile


def test_strict_python_fails_the_build_on_another_version() -> None:
    spec = EnvironmentSpec(conda=CONDA)
    lenient = render_build(spec, BASE_ID).dockerfile
    strict = render_build(spec, BASE_ID, strict_python=True).dockerfile
    assert "warning: the conda environment asks for python==3.10.*" in lenient
    assert re.search(r"asks for python==3\.10\.\*, the base image has \$have\" >&2; exit 1", strict)


def test_digest_covers_content_not_the_ca_bundle(tmp_path: Path) -> None:
    spec = EnvironmentSpec(conda=CONDA)
    build = render_build(spec, BASE_ID)
    assert build.digest() == render_build(spec, BASE_ID).digest()
    assert build.digest() != render_build(spec, "sha256:" + "cd" * 32).digest()
    assert (
        build.digest()
        != render_build(EnvironmentSpec(conda=CONDA, pip_requirements=("x",)), BASE_ID).digest()
    )
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    build.write(tmp_path / "context", ca)
    assert (tmp_path / "context" / CONTEXT_DIR / CA_FILE).read_text() == ca.read_text()
    assert (tmp_path / "context" / "Dockerfile").read_text() == build.dockerfile


def test_container_names_are_docker_safe() -> None:
    name = container_name("Score Model (v2)!")
    assert re.fullmatch(r"runner-score-model--v2-[0-9a-f]{8}", name)
    assert container_name("Score Model") != container_name("Score Model")


def test_invocation_checks_its_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="argv"):
        ContainerInvocation(image="x", argv=(), log_path=tmp_path / "log")
    with pytest.raises(ValueError, match="timeout"):
        ContainerInvocation(image="x", argv=("true",), log_path=tmp_path / "log", timeout=0)
    inv = ContainerInvocation(image="x", argv=["true"], log_path=tmp_path / "log")  # type: ignore[arg-type]
    assert inv.argv == ("true",)


def test_no_engine_is_unsupported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    inv = ContainerInvocation(image="x", argv=("true",), log_path=tmp_path / "log")
    with pytest.raises(UnsupportedError) as caught:
        run_container(inv)
    assert "no docker engine answers at unix://" in caught.value.message
    assert caught.value.hint is not None and "DOCKER_HOST" in caught.value.hint
    request = EnvRequest(spec=EnvironmentSpec(image="x"), source=tmp_path / "m.yaml")
    with pytest.raises(UnsupportedError):
        DockerBackend().fingerprint(request, EnvStore(tmp_path / "envs"))


def test_stale_engine_socket_is_unsupported(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))  # the file stays, nobody listens: connection refused
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    with pytest.raises(UnsupportedError, match="connection refused"):
        engine_client()
    assert not engine_answers()


def test_windows_environment_is_unsupported(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    spec = EnvironmentSpec(image="x", os="windows")
    request = EnvRequest(spec=spec, source=tmp_path / "m.yaml")
    with pytest.raises(UnsupportedError, match="windows container"):
        DockerBackend().ensure(request, EnvStore(tmp_path / "envs"), None)


@pytest.mark.parametrize(
    ("environment", "gpu_count", "expected"),
    [
        ("image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04", 0, 0),
        ("image: mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04", 0, -1),
        ("image: example.org/trainer-gpu:2", 0, -1),
        ("image: example.org/trainer-gpu:2", 2, 2),
        ("image: example.org/cpu:1", 1, 1),
    ],
)
def test_gpu_request_from_resources_or_a_gpu_image(
    write_module: Callable[..., Path], environment: str, gpu_count: int, expected: int
) -> None:
    from runner.run.container import gpu_request
    from runner.spec.load import load_spec

    spec = write_module(
        "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
        "type: command\nname: gpu\nversion: 1\n"
        f"environment:\n  {environment}\n"
        f"resources: {{gpu_count: {gpu_count}}}\n"
        "command: python -c pass\n"
    )
    assert gpu_request(load_spec(spec)) == expected
