"""Docker environments: an image used as is, or one built for the spec and reused by content.

Fingerprints (never a tag alone: a tag moves, the engine's image ID does not):

- an image used as is (`image`, or a base image with no dependencies to add): the image's ID
  in the local engine; a missing image is pulled first, and when that fails the error says to
  build or load it locally;
- conda and/or pip dependencies on a base image (the spec's, else RUNNER_DOCKER_BASE_IMAGE,
  else AzureML's default base): the digest of the rendered Dockerfile (which names the base
  image by ID) and of the files it copies (`runner.env.dockerfile`);
- a Docker build context (`build: {path, dockerfile_path}`): the digest of the Dockerfile, of
  every file docker would send (.dockerignore applied, as the SDK does) and of the IDs of the
  images its FROM lines name.

Built images are tagged `runner-env:<fingerprint>`, labelled (runner.fingerprint, runner.spec,
runner.base) and found again by that tag: a warm `ensure` costs two engine calls (the base
image's ID, the tag's health check), the first of them remembered for a few seconds so that
`fingerprint` then `ensure` in one run pay it once. Builds go through the EnvStore (one
builder per fingerprint across processes, the build log kept), streaming docker's output into
the log line by line.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TextIO

import docker
import docker.errors
from docker.utils.build import exclude_paths

from runner.env.base import EnvRequest, Runtime
from runner.env.docker_engine import engine_client, engine_errors
from runner.env.dockerfile import BuildContext, render_build
from runner.env.store import BuildLog, EnvRecord, EnvStore
from runner.errors import EnvironmentBuildError, UnsupportedError
from runner.hashing import hash_file, new_hasher
from runner.spec.model import DockerBuild
from runner.struct import Struct

__all__ = ["BASE_IMAGE_VAR", "DEFAULT_BASE_IMAGE", "REPOSITORY", "DockerBackend", "remove_image"]

REPOSITORY = "runner-env"
BASE_IMAGE_VAR = "RUNNER_DOCKER_BASE_IMAGE"
# What AzureML builds on when an environment names no image (it has conda).
DEFAULT_BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
_ID_MEMO_SECONDS = 5.0
_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE | re.MULTILINE)


class _Plan(Struct):
    """What an environment is: an image as is (`build` None) or an image to build."""

    fingerprint: str
    image: str  # as is: the image's ID (to run); built: the base image's reference
    template: BuildContext | None = None
    dockerfile: DockerBuild | None = None


class DockerBackend:
    """Environments as docker images (see the module docstring)."""

    name: Literal["docker"] = "docker"

    def __init__(self, repository: str = REPOSITORY, default_base: str | None = None) -> None:
        self.repository = repository
        self.default_base = default_base
        self._ids: dict[str, tuple[str, float]] = {}

    def fingerprint(self, request: EnvRequest, store: EnvStore) -> str:
        _check_os(request)
        with engine_errors():
            return self._plan(engine_client(), request).fingerprint

    def ensure(self, request: EnvRequest, store: EnvStore, echo: TextIO | None) -> Runtime:
        _check_os(request)
        client = engine_client()
        with engine_errors():
            plan = self._plan(client, request)
            if plan.template is None and plan.dockerfile is None:
                return Runtime(
                    backend="docker",
                    fingerprint=plan.fingerprint,
                    python="python",
                    image=plan.image,
                )
            tag = self.tag(plan.fingerprint)

            def healthy(record: EnvRecord) -> bool:
                return _has_image(client, tag, plan.fingerprint)

            def build(target: Path, log: BuildLog) -> tuple[str, Mapping[str, object]]:
                return self._build(client, request, plan, target, log)

            record = store.ensure(
                "docker", plan.fingerprint, build, healthy=healthy, relocatable=True, echo=echo
            )
        return Runtime(
            backend="docker",
            fingerprint=plan.fingerprint,
            python="python",
            image=tag,
            location=record.path,
        )

    def tag(self, fingerprint: str) -> str:
        return f"{self.repository}:{fingerprint}"

    # --- what the environment is ----------------------------------------------------------

    def _plan(self, client: docker.DockerClient, request: EnvRequest) -> _Plan:
        spec = request.spec
        if spec.build is not None:
            return self._dockerfile_plan(client, spec.build, request.source)
        if spec.image is not None:
            return _as_is(self._image_id(client, spec.image, request.source))
        base = spec.base_image or self.default_base or os.environ.get(BASE_IMAGE_VAR)
        base = base or DEFAULT_BASE_IMAGE
        base_id = self._image_id(client, base, request.source)
        if not spec.declares_dependencies:
            return _as_is(base_id)
        context = render_build(spec, base_id, strict_python=request.strict_python)
        return _Plan(context.digest(), base, template=context)

    def _dockerfile_plan(
        self, client: docker.DockerClient, build: DockerBuild, source: Path
    ) -> _Plan:
        dockerfile = build.context / build.dockerfile
        try:
            text = dockerfile.read_text(encoding="utf-8")
        except OSError as exc:
            raise EnvironmentBuildError(
                f"{source}: cannot read the Dockerfile {dockerfile}: {exc.strerror or exc}",
                "build.dockerfile_path is relative to build.path, the build context",
            ) from None
        hasher = new_hasher()
        hasher.update(f"dockerfile\0{build.dockerfile}\0{text}\0".encode())
        stages: set[str] = set()
        bases = []
        for match in _FROM.finditer(text):
            ref, stage = match.group(1), match.group(2)
            if ref.lower() not in stages and ref != "scratch" and "$" not in ref:
                hasher.update(f"from\0{self._image_id(client, ref, source)}\0".encode())
                bases.append(ref)
            else:
                # A build argument or an earlier stage: its content is covered elsewhere.
                hasher.update(f"from\0{ref}\0".encode())
            if stage:
                stages.add(stage.lower())
        hasher.update(_context_digest(build).encode())
        return _Plan(hasher.hexdigest(), ", ".join(bases) or "(none)", dockerfile=build)

    def _image_id(self, client: docker.DockerClient, ref: str, source: Path) -> str:
        remembered = self._ids.get(ref)
        if remembered is not None and time.monotonic() - remembered[1] < _ID_MEMO_SECONDS:
            return remembered[0]
        try:
            image_id = str(client.images.get(ref).id)
        except docker.errors.ImageNotFound:
            image_id = _pull(client, ref, source)
        except docker.errors.APIError as exc:
            raise EnvironmentBuildError(
                f"{source}: the docker engine cannot look up the image {ref}: {exc.explanation}"
            ) from None
        self._ids[ref] = (image_id, time.monotonic())
        return image_id

    # --- building -------------------------------------------------------------------------

    def _build(
        self,
        client: docker.DockerClient,
        request: EnvRequest,
        plan: _Plan,
        target: Path,
        log: BuildLog,
    ) -> tuple[str, Mapping[str, object]]:
        tag = self.tag(plan.fingerprint)
        labels = {
            "runner.fingerprint": plan.fingerprint,
            "runner.spec": str(request.source),
            "runner.base": plan.image,
        }
        description = f"image {tag} on {plan.image}"
        if _has_image(client, tag, plan.fingerprint):
            # Built before this store existed (or by another one): the tag is the content.
            log.write(f"runner: image {tag} is already in the engine: reused\n")
        elif plan.template is not None:
            with tempfile.TemporaryDirectory(prefix="runner-docker-") as folder:
                plan.template.write(Path(folder), request.ca_bundle)
                (target / "Dockerfile").write_text(plan.template.dockerfile, encoding="utf-8")
                _stream_build(client, log, path=folder, tag=tag, labels=labels)
        else:
            assert plan.dockerfile is not None
            if request.ca_bundle is not None:
                log.write(
                    "runner: note: a Dockerfile of the spec is built as written (no CA bundle)\n"
                )
            _stream_build(
                client,
                log,
                path=str(plan.dockerfile.context),
                dockerfile=plan.dockerfile.dockerfile,
                tag=tag,
                labels=labels,
            )
        image_id = str(client.images.get(tag).id)
        log.write(f"runner: image {tag} ({image_id})\n")
        return description, {"image": tag, "image_id": image_id, "base": plan.image}


def _check_os(request: EnvRequest) -> None:
    system = request.spec.os
    if system.lower() != "linux":
        raise UnsupportedError(
            f"{request.source}: the environment is a {system} container: it cannot run here",
            "run it on a Windows docker host, or use a linux image",
        )


def _as_is(image_id: str) -> _Plan:
    # The ID without its algorithm: a fingerprint is a file name and part of cache keys.
    return _Plan(image_id.partition(":")[2] or image_id, image_id)


def remove_image(record: EnvRecord) -> bool:
    """Remove the image of a built environment (`runner env rm`); False when already gone."""
    tag = str(record.meta.get("image") or f"{REPOSITORY}:{record.fingerprint}")
    client = engine_client()
    with engine_errors():
        try:
            client.images.remove(tag)
        except docker.errors.ImageNotFound:
            return False
        except docker.errors.APIError as exc:
            raise EnvironmentBuildError(
                f"cannot remove the image {tag}: {exc.explanation or exc}",
                "remove the containers that use it first (docker ps -a)",
            ) from None
    return True


def _stream_build(client: docker.DockerClient, log: BuildLog, **options: Any) -> None:
    """Build through the engine, its output going line by line into the build log."""
    log.write(f"$ docker build -t {options['tag']} {options['path']}\n")
    try:
        # No HTTP timeout: a quiet RUN step (a big wheel downloading) is not a dead engine.
        stream = client.api.build(
            rm=True, forcerm=True, pull=False, decode=True, timeout=None, **options
        )
        error = None
        # Read to the end even after an error (the engine ends the stream right after it):
        # an abandoned stream leaves its connection open.
        for chunk in stream:
            if "stream" in chunk:
                log.write(str(chunk["stream"]))
            elif "status" in chunk:
                log.write(f"{chunk['status']} {chunk.get('progress', '')}".rstrip() + "\n")
            elif "error" in chunk:
                error = str(chunk["error"]).strip()
                log.write(f"error: {error}\n")
    except docker.errors.APIError as exc:
        raise EnvironmentBuildError(f"docker build failed: {exc.explanation or exc}") from None
    if error is not None:
        raise EnvironmentBuildError(f"docker build failed: {error}")


def _has_image(client: docker.DockerClient, tag: str, fingerprint: str) -> bool:
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return bool(image.labels.get("runner.fingerprint") == fingerprint)


def _pull(client: docker.DockerClient, ref: str, source: Path) -> str:
    try:
        return str(client.images.pull(ref).id)
    except docker.errors.APIError as exc:
        reason = str(exc.explanation or exc)
    raise EnvironmentBuildError(
        f"{source}: the docker image {ref} is not in the local engine and cannot be pulled: "
        f"{reason}",
        f"build or load it locally first (`docker build -t {ref} ...`, `docker load -i FILE`), "
        "or log in to its registry",
    )


def _context_digest(build: DockerBuild) -> str:
    """Digest of what docker sends as the build context (.dockerignore applied)."""
    root = build.context
    patterns: list[str] = []
    ignore = root / ".dockerignore"
    if ignore.is_file():
        lines = ignore.read_text(encoding="utf-8").splitlines()
        patterns = [p.strip() for p in lines if p.strip() and not p.startswith("#")]
    hasher = new_hasher()
    for relative in sorted(exclude_paths(root, patterns, build.dockerfile)):
        path = root / relative
        if path.is_symlink():
            hasher.update(f"link\0{relative}\0{path.readlink()}\0".encode())
        elif path.is_file():
            executable = os.access(path, os.X_OK)
            hasher.update(f"file\0{relative}\0{executable}\0{hash_file(path)}\0".encode())
        else:
            hasher.update(f"dir\0{relative}\0".encode())
    return hasher.hexdigest()
