"""What the web page's tests (and bench/bench_ui.py) share: a real server (`python -m runner
... --no-open --port 0` as a child process), Debian's chromium for Playwright, small modules.
A module of its own name, not conftest: several test folders have a conftest."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@dataclass
class Server:
    url: str  # the page's URL as printed, token and all
    process: subprocess.Popen[str]

    @property
    def base(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    @property
    def token(self) -> str:
        return parse_qs(urlsplit(self.url).query)["token"][0]

    def request(
        self,
        path: str,
        *,
        token: bool = True,
        headers: Mapping[str, str] | None = None,
        body: object = None,
    ) -> tuple[int, str]:
        """(status, body) of a real HTTP request to the server."""
        url = f"{self.base}{path}"
        all_headers = dict(headers or {})
        if token:
            all_headers.setdefault("X-Runner-Token", self.token)
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            all_headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(url, data=data, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def get_json(self, path: str) -> dict[str, object]:
        status, text = self.request(path)
        assert status == 200, text
        data = json.loads(text)
        assert isinstance(data, dict)
        return data

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(args: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> Server:
    argv = [sys.executable, "-m", "runner", *args, "--no-open", "--port", "0"]
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env if env is not None else os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    # The rest of what it prints is drained by a thread, so the server never blocks on a pipe.
    threading.Thread(target=_drain, args=(process.stdout, lines), daemon=True).start()
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if line.strip().startswith("http://"):
            return Server(line.strip(), process)
        if line == "":
            break
    Server("", process).stop()
    raise AssertionError(f"the server printed no URL: {''.join(seen)}")


def _drain(stream: IO[str], lines: queue.Queue[str]) -> None:
    with stream:
        for line in stream:
            lines.put(line)
    lines.put("")


MAKE_NUMBERS = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: make_numbers
display_name: Make numbers
version: 0.1.0
inputs:
  count: {type: integer, default: 5, min: 1, max: 1000}
outputs:
  numbers: {type: uri_folder}
command: >-
  python -c "import sys, pathlib; n = int(sys.argv[1]);
  pathlib.Path(sys.argv[2], 'numbers.txt').write_text(chr(10).join(map(str, range(1, n + 1))))"
  ${{inputs.count}} ${{outputs.numbers}}
"""

SUM_NUMBERS = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: sum_numbers
display_name: Sum numbers
version: 0.1.0
inputs:
  numbers: {type: uri_folder}
outputs:
  total: {type: uri_folder}
command: >-
  python -c "import sys, pathlib; text = pathlib.Path(sys.argv[1], 'numbers.txt').read_text();
  print('sum', sum(map(int, text.split())));
  pathlib.Path(sys.argv[2], 'total.txt').write_text(str(sum(map(int, text.split()))))"
  ${{inputs.numbers}} ${{outputs.total}}
"""

MODEL = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: make_model
version: 0.1.0
outputs:
  model: {type: mlflow_model}
command: python -c "print('no model')" ${{outputs.model}}
"""


def write_modules(folder: Path) -> dict[str, Path]:
    """Two stdlib modules that connect (uri_folder -> uri_folder) and one that fits neither."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in (("make_numbers", MAKE_NUMBERS), ("sum_numbers", SUM_NUMBERS),
                       ("make_model", MODEL)):  # fmt: skip
        paths[name] = folder / f"{name}.yml"
        paths[name].write_text(text, encoding="utf-8")
    return paths


def write_versions(folder: Path) -> dict[str, Path]:
    """make_numbers 0.1.0 (1..count) and 0.2.0 (11..count+10), each in its own folder, to
    register: the version a pipeline ran shows in its sum."""
    paths = {}
    for version, first in (("0.1.0", 1), ("0.2.0", 11)):
        text = MAKE_NUMBERS.replace("version: 0.1.0", f"version: {version}")
        text = text.replace("range(1, n + 1)", f"range({first}, n + {first})")
        paths[version] = folder / version / "make_numbers.yml"
        paths[version].parent.mkdir(parents=True, exist_ok=True)
        paths[version].write_text(text, encoding="utf-8")
    return paths


def register(spec: Path, registry: Path, *more: str) -> None:
    """`runner module register SPEC --registry DIR` (a real child process)."""
    argv = [sys.executable, "-m", "runner", "module", "register", str(spec)]
    done = subprocess.run(
        [*argv, "--registry", str(registry), *more], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def edits_of(path: Path, registry: Path | None = None) -> list[Any]:
    """The pipeline's steps as the page sends them back unchanged (a registered step by its
    reference, as the page names it)."""
    from runner.pipeline.graph import pipeline_graph, reference_text
    from runner.pipeline.load import load_pipeline
    from runner.ui.edit import StepEdit

    graph = pipeline_graph(load_pipeline(path, registry=registry))
    steps = []
    for step in graph["steps"]:  # type: ignore[attr-defined]
        inputs = dict(step["parameters"])
        for port in step["ports"]["inputs"]:
            if port["bound"] is not None:
                inputs[port["name"]] = port["bound"]
        registered = step["registered"]
        component = reference_text(**registered) if registered else ""
        steps.append(StepEdit(step["name"], Path(step["spec"]), inputs, component))
    return steps
