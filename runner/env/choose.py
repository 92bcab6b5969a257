"""Which environment a run gets: named environments resolved, then a backend chosen.

`auto` (the default) means: a venv when the spec declares conda or pip dependencies, the host
interpreter when it declares none (or when `--python` names one). Docker is used only when
the user asks for it (`--env docker`, RUNNER_ENV or the config file): building images is slow
and needs an engine, so it is never a surprise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from runner.config import Settings
from runner.env.base import Backend, BackendName, EnvRequest
from runner.errors import UnsupportedError
from runner.spec.model import EnvironmentSpec, Generation, ModuleSpec
from runner.struct import Struct, replace


class SpecNote(str):
    """A note about the spec itself, the same on every run of it (an image a non-docker run
    does not use): it stays in every result's notes, and a front end may show it once per
    spec (`spec` is the spec file) instead of on every run."""

    spec: Path

    def __new__(cls, text: str, spec: Path) -> SpecNote:
        note = super().__new__(cls, text)
        note.spec = spec
        return note

    def __reduce__(self) -> tuple[type[SpecNote], tuple[str, Path]]:
        # Results travel between processes: a Ray worker sends its run's notes back.
        return (SpecNote, (str(self), self.spec))


def _host() -> Backend:
    from runner.env.host import HostBackend

    return HostBackend()


def _venv() -> Backend:
    from runner.env.venv import VenvBackend

    return VenvBackend()


def _conda() -> Backend:
    from runner.env.conda import CondaBackend

    return CondaBackend()


def _docker() -> Backend:
    from runner.env.docker import DockerBackend

    return DockerBackend()


# Imported on demand: the docker SDK alone costs more start-up time than a cached run.
BACKEND_FACTORIES: dict[BackendName, Callable[[], Backend]] = {
    "host": _host,
    "venv": _venv,
    "conda": _conda,
    "docker": _docker,
}


class EnvChoice(Struct):
    backend: Backend
    request: EnvRequest
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> BackendName:
        return self.backend.name


def resolve_environment(spec: ModuleSpec, environ: Mapping[str, str]) -> EnvironmentSpec:
    """The spec's environment with a named reference replaced by its definition."""
    env = spec.environment
    if env.named is None:
        return env
    from runner.env.named import default_search_path, resolve_named

    try:
        resolved = resolve_named(env.named, default_search_path(environ))
    except UnsupportedError as exc:
        raise UnsupportedError(f"{spec.source}: {exc.message}", _named_hint(spec, exc)) from None
    return replace(resolved, os=env.os)


def _named_hint(spec: ModuleSpec, exc: UnsupportedError) -> str | None:
    if spec.generation is not Generation.LEGACY:
        return exc.hint
    # The legacy form `amlEnvironment: {name, version}`: say what to write there instead.
    searched = exc.hint if exc.hint and exc.hint.startswith("add a definition") else None
    return (
        "in amlEnvironment, leave out `version` for the latest version known here, or describe"
        " the environment inline (docker.baseImage, python.condaDependencies); "
        + (searched or "or add a definition of your own (see environments/README.md)")
    )


def choose_environment(
    spec: ModuleSpec,
    settings: Settings,
    python: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    verbose: bool = False,
) -> EnvChoice:
    environ = os.environ if environ is None else environ
    env = resolve_environment(spec, environ)
    name: BackendName
    if settings.env == "auto":
        name = "venv" if env.declares_dependencies and python is None else "host"
    else:
        name = settings.env  # type: ignore[assignment]  # checked by load_settings
    request = EnvRequest(
        spec=env,
        source=spec.source,
        python=python,
        strict_python=settings.strict_python,
        ca_bundle=settings.ca_bundle,
        verbose=verbose,
    )
    return EnvChoice(BACKEND_FACTORIES[name](), request, _notes(env, name, spec.source))


def _notes(env: EnvironmentSpec, name: BackendName, source: Path) -> tuple[str, ...]:
    notes: list[str] = []
    image = env.image or env.base_image or (str(env.build.context) if env.build else None)
    if name != "docker" and image:
        text = (
            f"{source.name}: the spec names the image {image}, which a {name} run does not use "
            "(use --env docker to run in it)"
        )
        notes.append(SpecNote(text, source))
    if name == "host" and env.declares_dependencies:
        notes.append(
            f"{source.name}: the declared conda/pip dependencies are not installed on the host "
            "interpreter (use --env venv, conda or docker to get them)"
        )
    return tuple(notes)
