"""The environment backend interface: what a run asks for, and what a ready environment is."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Protocol, TextIO

from runner.env.store import EnvStore
from runner.spec.model import EnvironmentSpec
from runner.struct import Struct, field

BackendName = Literal["host", "venv", "conda", "docker"]
BACKENDS: tuple[BackendName, ...] = ("host", "venv", "conda", "docker")


class EnvRequest(Struct):
    """What a run needs from a backend. `spec` is already resolved (named environments looked
    up), so backends only ever see content."""

    spec: EnvironmentSpec
    source: Path  # the module spec file, for messages
    python: str | None = None  # host: the interpreter to use (--python)
    strict_python: bool = False  # venv: fail instead of using the closest newer interpreter
    ca_bundle: Path | None = None  # a CA bundle for package downloads behind TLS interception
    verbose: bool = False  # a build streams its tool's own output (uv, ...), not only a summary


class Runtime(Struct):
    """A ready environment and how to run a command in it."""

    backend: BackendName
    fingerprint: str
    python: str  # what `python` means: a host path, or a name/path inside the container
    path_prepend: tuple[str, ...] = ()  # folders put in front of PATH (a venv's bin, ...)
    variables: Mapping[str, str] = field(default_factory=dict)  # VIRTUAL_ENV, CONDA_PREFIX...
    image: str | None = None  # docker: the image to run
    location: Path | None = None  # where the environment lives on disk, if it does


class Backend(Protocol):
    """One way of providing environments. Implementations are small and stateless; all their
    state lives in the `EnvStore` (or, for docker, in the engine's image store)."""

    @property
    def name(self) -> BackendName: ...

    def fingerprint(self, request: EnvRequest, store: EnvStore) -> str:
        """The content fingerprint (never a path). Cheap on a warm run: no process is started
        when what it depends on is unchanged since it was last computed."""
        ...

    def ensure(self, request: EnvRequest, store: EnvStore, echo: TextIO | None) -> Runtime:
        """The ready environment: reused when built and healthy, else built (once, even when
        several runs ask at the same time), with the build log kept in the store."""
        ...
