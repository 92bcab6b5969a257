"""The docker engine connection: one client per process and engine address, and what an engine
that does not answer means to the user (an UnsupportedError with a hint, never a traceback).

Connecting asks the engine for its API version (one call), so a client in hand is an engine
that answered; later calls reuse the client and its connection pool.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import docker
import docker.errors
import requests.exceptions
from docker.constants import DEFAULT_TIMEOUT_SECONDS

from runner.errors import UnsupportedError

_ADDRESS_VARS = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
_HINT = (
    "start a docker engine (`sudo dockerd &`, or scripts/system-deps in runner's repository) "
    "or point DOCKER_HOST at a running one"
)

DEFAULT_HOST = "unix:///var/run/docker.sock"

_lock = threading.Lock()
_clients: dict[tuple[str, ...], docker.DockerClient] = {}


def engine_client(environ: Mapping[str, str] | None = None) -> docker.DockerClient:
    """The client for the engine `environ` (default: ours) points at, connected."""
    environ = os.environ if environ is None else environ
    key = tuple(environ.get(name, "") for name in _ADDRESS_VARS)
    with _lock:
        client = _clients.get(key)
        if client is None:
            connected = _connect(environ)
            if isinstance(connected, str):
                where = environ.get("DOCKER_HOST") or "the default socket"
                hint = _HINT
                if connected == "permission denied":
                    hint = (
                        "join the docker group (sudo usermod -aG docker $USER), then log in again"
                    )
                raise UnsupportedError(f"no docker engine answers at {where}: {connected}", hint)
            client = _clients[key] = connected
        return client


def engine_answers(environ: Mapping[str, str] | None = None, timeout: int = 5) -> bool:
    """Whether an engine answers within `timeout` seconds (uncached: for test set-ups)."""
    environ = os.environ if environ is None else environ
    client = _connect(environ, timeout)
    if isinstance(client, str):
        return False
    try:
        return bool(client.ping())
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        return False
    finally:
        client.close()


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    """An engine that went away mid-way is the same user error as one that never answered."""
    try:
        yield
    except requests.exceptions.ConnectionError as exc:
        with _lock:
            _clients.clear()  # reconnect (and re-check) next time
        raise UnsupportedError(f"the docker engine stopped answering: {exc}", _HINT) from None


def _connect(environ: Mapping[str, str], timeout: int | None = None) -> docker.DockerClient | str:
    """A connected client, or why there is none."""
    host = environ.get("DOCKER_HOST") or DEFAULT_HOST
    if host.startswith("unix://") and not Path(host.removeprefix("unix://")).exists():
        return "no such socket"  # the usual case, told without trying
    try:
        return docker.DockerClient.from_env(
            environment=dict(environ), timeout=timeout or DEFAULT_TIMEOUT_SECONDS
        )
    except docker.errors.DockerException as exc:
        reason = _reason(exc)
    # The SDK leaks the socket of a failed connection inside a reference cycle; collected
    # here, its ResourceWarning is not left to surface at some random later moment.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    return reason


def _reason(exc: Exception) -> str:
    text = str(exc)
    # The SDK wraps the connection error in several layers; the innermost words say it best.
    for marker in ("Connection refused", "No such file or directory", "Permission denied"):
        if marker in text:
            return marker.lower()
    return text
