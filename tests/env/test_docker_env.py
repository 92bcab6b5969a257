"""The docker backend against a real engine: build, reuse, fingerprints, missing images."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

import docker
import pytest

import runner.env.docker as docker_backend
from runner.env.base import EnvRequest, Runtime
from runner.env.container import ContainerInvocation, run_container
from runner.env.docker import DockerBackend
from runner.env.store import EnvStore
from runner.errors import EnvironmentBuildError
from runner.spec.model import CondaDependencies, DockerBuild, EnvironmentSpec
from runner.struct import replace

pytestmark = pytest.mark.docker


def run(image: str, tmp_path: Path, *argv: str) -> tuple[int | None, str]:
    log = tmp_path / f"run-{time.monotonic_ns()}.log"
    outcome = run_container(ContainerInvocation(image=image, argv=argv, log_path=log))
    stdout = [line.split(" ", 2)[2] for line in log.read_text().splitlines() if " stdout " in line]
    return outcome.exit_code, "\n".join(stdout)


def test_conda_spec_builds_on_a_base_image_without_conda(built_env, tmp_path: Path) -> None:
    runtime = built_env.runtime
    assert runtime.backend == "docker"
    assert runtime.python == "python"
    assert runtime.image == f"{built_env.repository}:{runtime.fingerprint}"
    code, out = run(
        runtime.image,
        tmp_path,
        "python",
        "-c",
        "import six, tabulate, sys;"
        "print(six.__version__, tabulate.__version__, sys.prefix, sys.prefix != sys.base_prefix)",
    )
    assert code == 0
    # No conda in the base image: the conda spec went through pip, into a venv.
    assert out == "1.16.0 0.9.0 /opt/runner-env True"
    log = built_env.store.log_path("docker", runtime.fingerprint).read_text()
    assert "Successfully tagged" in log


def test_built_image_is_labelled(built_env, docker_client: docker.DockerClient) -> None:
    image = docker_client.images.get(built_env.runtime.image)
    assert image.labels["runner.fingerprint"] == built_env.runtime.fingerprint
    assert image.labels["runner.spec"] == str(built_env.request.source)
    record = built_env.store.record("docker", built_env.runtime.fingerprint)
    assert record is not None
    assert record.meta["image_id"] == image.id
    assert (record.path / "Dockerfile").read_text().startswith("# Rendered by runner")


def test_second_ensure_reuses_the_image(built_env, monkeypatch: pytest.MonkeyPatch) -> None:
    log = built_env.store.log_path("docker", built_env.runtime.fingerprint)
    written = log.stat().st_mtime_ns

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("rebuilt")

    monkeypatch.setattr(docker_backend, "_stream_build", no_build)
    backend = DockerBackend(repository=built_env.repository)
    started = time.perf_counter()
    again = backend.ensure(built_env.request, built_env.store, None)
    elapsed = time.perf_counter() - started
    assert again == built_env.runtime
    assert log.stat().st_mtime_ns == written
    assert elapsed < 1.0, elapsed


def test_removed_image_is_rebuilt(
    base_image: str, repository: str, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    store = EnvStore(tmp_path / "envs")
    # Already satisfied in a fresh venv: a build that needs no download.
    spec = EnvironmentSpec(base_image=base_image, pip_requirements=("pip",))
    request = EnvRequest(spec=spec, source=tmp_path / "m.yaml")
    backend = DockerBackend(repository=repository)
    first = backend.ensure(request, store, None)
    assert first.image is not None
    docker_client.images.remove(first.image, noprune=True)  # keep the layers: a quick rebuild
    second = backend.ensure(request, store, None)
    assert second == first
    docker_client.images.get(first.image)
    assert "Successfully tagged" in store.log_path("docker", first.fingerprint).read_text()


def test_concurrent_ensures_build_once(
    base_image: str, repository: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[object] = []
    real_build = docker_backend._stream_build

    def counting_build(*args: Any, **kwargs: Any) -> None:
        builds.append(kwargs["tag"])
        real_build(*args, **kwargs)

    monkeypatch.setattr(docker_backend, "_stream_build", counting_build)
    store = EnvStore(tmp_path / "envs")
    spec = EnvironmentSpec(base_image=base_image, pip_requirements=("pip", "setuptools"))
    request = EnvRequest(spec=spec, source=tmp_path / "m.yaml")
    start = threading.Barrier(3)
    results: list[Runtime] = []

    def ensure() -> None:
        start.wait()
        results.append(DockerBackend(repository=repository).ensure(request, store, None))

    threads = [threading.Thread(target=ensure) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) == 3 and all(result == results[0] for result in results)
    assert len(builds) == 1


def test_image_in_the_engine_is_adopted_by_a_new_store(
    built_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("rebuilt")

    monkeypatch.setattr(docker_backend, "_stream_build", no_build)
    store = EnvStore(tmp_path / "envs")
    runtime = DockerBackend(repository=built_env.repository).ensure(built_env.request, store, None)
    assert runtime.image == built_env.runtime.image
    log = store.log_path("docker", runtime.fingerprint).read_text()
    assert "is already in the engine: reused" in log


def test_fingerprint_follows_the_base_image_id_not_its_tag(
    base_image: str, repository: str, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    store = EnvStore(tmp_path / "envs")
    alias = f"{repository}-base:1"

    def fingerprint(base: str) -> str:
        spec = EnvironmentSpec(base_image=base, pip_requirements=("six",))
        request = EnvRequest(spec=spec, source=tmp_path / "m.yaml")
        return DockerBackend(repository=repository).fingerprint(request, store)

    docker_client.images.get(base_image).tag(alias)
    original = fingerprint(base_image)
    assert fingerprint(alias) == original  # another tag of the same image: the same
    derived = docker_client.images.build(
        fileobj=io.BytesIO(f"FROM {base_image}\nLABEL runner.test=derived\n".encode()),
        tag=alias,
        rm=True,
    )[0]
    assert derived.id != docker_client.images.get(base_image).id
    assert fingerprint(alias) != original  # the tag moved to another image


def test_fingerprint_follows_the_requirements(built_env) -> None:
    backend = DockerBackend(repository=built_env.repository)
    request = built_env.request
    assert backend.fingerprint(request, built_env.store) == built_env.runtime.fingerprint
    conda = request.spec.conda
    assert conda is not None
    changed = replace(conda, pip=("six==1.17.0",))
    other = replace(request, spec=replace(request.spec, conda=changed))
    assert backend.fingerprint(other, built_env.store) != built_env.runtime.fingerprint
    # Where the spec lives, and the CA bundle, are not part of the environment.
    moved = replace(request, source=Path("/elsewhere/spec.yaml"), ca_bundle=None)
    assert backend.fingerprint(moved, built_env.store) == built_env.runtime.fingerprint


def test_image_used_as_is(base_image: str, docker_client: docker.DockerClient, tmp_path) -> None:
    request = EnvRequest(spec=EnvironmentSpec(image=base_image), source=tmp_path / "m.yaml")
    runtime = DockerBackend().ensure(request, EnvStore(tmp_path / "envs"), None)
    image_id = docker_client.images.get(base_image).id
    assert runtime.image == image_id
    assert runtime.fingerprint == image_id.removeprefix("sha256:")
    assert not (tmp_path / "envs").exists()  # nothing built, nothing stored


@pytest.mark.parametrize("field", ["image", "base_image"])
def test_missing_image_is_a_clear_error(field: str, tmp_path: Path) -> None:
    missing = "runner-test/no-such-image:0"
    spec = EnvironmentSpec(
        **{field: missing}, pip_requirements=("six",) if field != "image" else ()
    )
    request = EnvRequest(spec=spec, source=tmp_path / "m.yaml")
    with pytest.raises(EnvironmentBuildError) as caught:
        DockerBackend().fingerprint(request, EnvStore(tmp_path / "envs"))
    assert f"the docker image {missing} is not in the local engine and cannot be pulled" in str(
        caught.value
    )
    assert caught.value.hint is not None and "docker load" in caught.value.hint


def test_failing_build_keeps_the_log(base_image: str, repository: str, tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    conda = CondaDependencies(dependencies=("python=3.11", "cudatoolkit=11.8"))
    request = EnvRequest(
        spec=EnvironmentSpec(base_image=base_image, conda=conda), source=tmp_path / "m.yaml"
    )
    with pytest.raises(EnvironmentBuildError) as caught:
        DockerBackend(repository=repository).ensure(request, store, None)
    message = str(caught.value)
    assert "docker build failed" in message
    assert "cannot be installed from PyPI: cudatoolkit=11.8" in message  # the log's tail


def test_dockerfile_context_build(
    base_image: str, repository: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "docker").mkdir()
    (context / "docker" / "Dockerfile").write_text(
        f"FROM {base_image} AS base\nFROM base\nCOPY hello.txt /hello.txt\n"
    )
    (context / "hello.txt").write_text("hello from the context\n")
    (context / "ignored.txt").write_text("1")
    (context / ".dockerignore").write_text("ignored.txt\n")
    store = EnvStore(tmp_path / "envs")
    spec = EnvironmentSpec(build=DockerBuild(context, "docker/Dockerfile"))
    request = EnvRequest(spec=spec, source=tmp_path / "m.yaml")
    backend = DockerBackend(repository=repository)
    fingerprint = backend.fingerprint(request, store)
    (context / "ignored.txt").write_text("2")
    assert backend.fingerprint(request, store) == fingerprint  # .dockerignore applies
    runtime = backend.ensure(request, store, None)
    assert runtime.fingerprint == fingerprint
    assert runtime.image is not None
    code, out = run(runtime.image, tmp_path, "cat", "/hello.txt")
    assert (code, out) == (0, "hello from the context")
    (context / "hello.txt").write_text("changed\n")
    assert backend.fingerprint(request, store) != fingerprint
