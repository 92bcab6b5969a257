"""`runner ui` and `runner pipeline view`: usage errors are exit code 2 with a clear message,
never a traceback; the URL is printed with its token."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from ui_support import REPO, Server

from runner.cli import main as cli

SAR = REPO / "samples" / "sar" / "pipeline.yml"


def test_view_needs_a_pipeline_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["pipeline", "view", str(tmp_path / "nope.yml"), "--no-open"]) == 2
    assert "no such pipeline file" in capsys.readouterr().err
    module = REPO / "samples" / "sar" / "modules" / "sar_train.yaml"
    assert cli.main(["pipeline", "view", str(module), "--no-open"]) == 2
    assert "this is a module spec, not a pipeline" in capsys.readouterr().err


def test_a_taken_port_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = cli.main(["pipeline", "view", str(SAR), "--no-open", "--port", str(port)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err


def test_url_and_page(serve: Callable[..., Server]) -> None:
    server = serve(["pipeline", "view", "samples/sar/pipeline.yml"], REPO)
    assert server.url.startswith("http://localhost:")
    assert server.url.endswith("&p=samples/sar/pipeline.yml")
    assert len(server.token) >= 32
    status, page = server.request(f"/?token={server.token}", token=False)
    assert status == 200 and 'id="run-pipeline"' in page and 'id="palette"' in page
