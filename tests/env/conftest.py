"""Docker fixtures: the engine, the local base image, one built environment per session.

Every image a session creates carries a unique repository name and is removed at the end; the
base image (`runner-test/bookworm-python:1`, made by scripts/docker-test-image without any
registry) is kept: building it takes a minute.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest

from runner.env.base import EnvRequest, Runtime
from runner.env.docker import DockerBackend
from runner.env.docker_engine import engine_client
from runner.env.store import EnvStore
from runner.spec.model import CondaDependencies, EnvironmentSpec

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE = os.environ.get("RUNNER_TEST_IMAGE", "runner-test/bookworm-python:1")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# python + a conda package translated to pip (no conda in the base image) + a pip section.
CONDA = CondaDependencies(
    name="docker-test",
    dependencies=("python=3.11", "pip", "tabulate=0.9"),
    pip=("six==1.16.0",),
)


def ca_bundle() -> Path | None:
    """The CA bundle of a TLS-intercepting proxy, as the runner's settings would pass it."""
    for name in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        value = os.environ.get(name)
        if value and Path(value).is_file():
            return Path(value)
    return None


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    return engine_client()


@pytest.fixture(scope="session")
def base_image(docker_client: docker.DockerClient) -> str:
    try:
        docker_client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        if os.getuid() != 0 and not IN_CI:
            pytest.skip(f"{BASE_IMAGE} missing: run scripts/docker-test-image as root")
        subprocess.run([str(REPO / "scripts" / "docker-test-image")], check=True)
    return BASE_IMAGE


@pytest.fixture(scope="session")
def repository(docker_client: docker.DockerClient) -> Iterator[str]:
    """A repository name of this session's own; every image tagged under it is removed."""
    name = f"runner-test-{secrets.token_hex(4)}"
    yield name
    for image in docker_client.images.list():
        for tag in image.tags:
            if tag.startswith((f"{name}:", f"{name}-")):
                try:
                    docker_client.images.remove(tag, force=True)
                except docker.errors.APIError as exc:
                    print(f"could not remove {tag}: {exc}", file=sys.stderr)


@pytest.fixture(scope="session")
def env_store(tmp_path_factory: pytest.TempPathFactory) -> EnvStore:
    return EnvStore(tmp_path_factory.mktemp("docker-envs"))


@dataclass(frozen=True)
class BuiltEnv:
    request: EnvRequest
    runtime: Runtime
    store: EnvStore
    repository: str


@pytest.fixture(scope="session")
def built_env(
    base_image: str, repository: str, env_store: EnvStore, tmp_path_factory: pytest.TempPathFactory
) -> BuiltEnv:
    """The session's one real build: CONDA on the base image, behind the proxy's CA bundle."""
    source = tmp_path_factory.mktemp("module") / "module.yaml"
    spec = EnvironmentSpec(base_image=base_image, conda=CONDA)
    request = EnvRequest(spec=spec, source=source, ca_bundle=ca_bundle())
    runtime = DockerBackend(repository=repository).ensure(request, env_store, None)
    return BuiltEnv(request, runtime, env_store, repository)
