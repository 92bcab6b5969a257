"""Start the server: bind, print the URL with its token, open a browser, serve until Ctrl-C."""

from __future__ import annotations

import contextlib
import errno
import socket
import tempfile
import threading
import webbrowser
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

import uvicorn

from runner.errors import UsageError
from runner.run.workdir import default_runs_root
from runner.struct import Struct
from runner.ui.app import create_app
from runner.ui.palette import add_module_source, registry_source
from runner.ui.security import new_token
from runner.ui.workspace import Workspace

DEFAULT_PORT = 8765
PORT_TRIES = 20  # the default port taken: the next free one (an explicit --port is exact)


class ServeOptions(Struct):
    host: str = "127.0.0.1"
    port: int | None = None  # None: DEFAULT_PORT or the next free one
    open_browser: bool = True
    pipeline: Path | None = None  # `runner pipeline view`; None: `runner ui`
    registry: Path | None = None  # --registry; None: $RUNNER_REGISTRY, else the default


def bind(host: str, port: int | None) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    candidates = [port] if port is not None else range(DEFAULT_PORT, DEFAULT_PORT + PORT_TRIES)
    last: OSError | None = None
    for candidate in candidates:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as exc:
            sock.close()
            last = exc
            if exc.errno != errno.EADDRINUSE:
                break
            continue
        sock.listen(128)
        sock.set_inheritable(False)
        return sock
    where = f"{host}:{port}" if port is not None else f"{host}:{DEFAULT_PORT}..."
    raise UsageError(
        f"cannot listen on {where}: {last.strerror if last else 'no port free'}",
        "choose another port with --port N",
    )


def page_url(host: str, port: int, token: str, pipeline: str | None) -> str:
    shown = "localhost" if host in ("127.0.0.1", "::1", "localhost") else host
    if ":" in shown:
        shown = f"[{shown}]"
    url = f"http://{shown}:{port}/?token={token}"
    return f"{url}&p={quote(pipeline)}" if pipeline else url


def serve(
    options: ServeOptions,
    cwd: Path,
    env: Mapping[str, str],
    out: TextIO,
    opener: Callable[[str], object] = webbrowser.open,
) -> None:
    sock = bind(options.host, options.port)
    port = sock.getsockname()[1]
    token = new_token()
    remove_source = add_module_source(registry_source(options.registry))
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(remove_source)
        state = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="runner-ui-"))
        runs_root = default_runs_root(env, cwd)
        workspace = Workspace(
            cwd, runs_root, env, Path(state), options.pipeline, registry=options.registry
        )
        key = workspace.add(options.pipeline) if options.pipeline else None
        app = create_app(workspace, token, port)
        url = page_url(options.host, port, token, key)
        print(f"runner ui: serving {cwd} at\n  {url}\n(Ctrl-C stops it)", file=out, flush=True)
        if options.open_browser:
            threading.Thread(target=opener, args=(url,), daemon=True).start()
        config = uvicorn.Config(
            app,
            log_level=env.get("RUNNER_UI_LOG_LEVEL", "warning"),
            timeout_graceful_shutdown=1,
            lifespan="on",
        )
        uvicorn.Server(config).run(sockets=[sock])
