"""Fixtures of the web page's tests (helpers in ui_support)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from ui_support import Server, start_server


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    """`serve(args, cwd)` starts a server, stopped when the test ends."""
    started: list[Server] = []

    def start(args: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> Server:
        server = start_server(args, cwd, env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
