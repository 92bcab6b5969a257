"""The server as a client without a browser sees it: token, Host and Origin checks, paths kept
inside run folders, the graph, runs started and stopped, saving."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from ui_support import REPO, Server

SAR = REPO / "samples" / "sar" / "pipeline.yml"


def fake_run(runs: Path, source: Path, name: str = "pipeline-20260101-000000-abcdef") -> Path:
    """A pipeline run folder as the contract lays it out (real files, written by hand)."""
    run = runs / name
    (run / "steps" / "split").mkdir(parents=True)
    (run / "steps" / "split" / "execution.log").write_text("line one\nline two\n")
    (run / "secret.txt").write_text("inside the run\n")
    record = {
        "pipeline": "pipeline",
        "source": str(source),
        "started_at": "2026-01-01T00:00:00.000+00:00",
        "status": "failed",
        "steps": {"split": {"status": "failed", "message": "boom"}},
    }
    (run / "pipeline.json").write_text(json.dumps(record))
    return run


@pytest.fixture
def sar_server(serve: Callable[..., Server], tmp_path: Path) -> tuple[Server, Path]:
    runs = Path(os.environ["RUNNER_RUNS_DIR"])
    fake_run(runs, SAR)
    (runs.parent / "outside.txt").write_text("not yours\n")
    return serve(["pipeline", "view", str(SAR)], REPO), runs


def test_token_is_required(sar_server: tuple[Server, Path]) -> None:
    server, _ = sar_server
    assert server.request("/", token=False)[0] == 403
    assert server.request("/api/session", token=False)[0] == 403
    assert server.request("/static/app.js", token=False)[0] == 403
    assert server.request(f"/?token={server.token}x", token=False)[0] == 403
    assert server.request("/api/session", headers={"X-Runner-Token": "wrong"})[0] == 403
    status, page = server.request(f"/?token={server.token}", token=False)
    assert status == 200
    assert f'content="{server.token}"' in page
    assert server.request(f"/static/app.js?token={server.token}", token=False)[0] == 200


def test_host_and_origin_are_checked(sar_server: tuple[Server, Path]) -> None:
    server, _ = sar_server
    rebinding = {"Host": f"evil.example:{server.port}"}
    status, text = server.request("/api/session", headers=rebinding)
    assert status == 403 and "host" in text
    assert server.request("/api/session", headers={"Host": "127.0.0.1:1"})[0] == 403
    assert server.request("/api/session", headers={"Host": f"127.0.0.1:{server.port}"})[0] == 200
    cross = {"Origin": "http://evil.example"}
    assert server.request("/api/session", headers=cross)[0] == 403
    same = {"Origin": server.base.replace("localhost", "localhost")}
    assert server.request("/api/session", headers=same)[0] == 200
    # A cross-site POST (a form, or a script without the header) is refused before it acts.
    body = {"p": "samples/sar/pipeline.yml"}
    status, _ = server.request(f"/api/run?token={server.token}", token=False, body=body)
    assert status == 403
    fetch_site = {"Sec-Fetch-Site": "cross-site"}
    assert server.request("/api/run", headers=fetch_site, body=body)[0] == 403


def test_paths_stay_inside_the_run(sar_server: tuple[Server, Path]) -> None:
    server, runs = sar_server
    run = "pipeline-20260101-000000-abcdef"
    ok = server.request(f"/api/file?run={run}&path=secret.txt&token={server.token}")
    assert ok == (200, "inside the run\n")
    for path in ("../../outside.txt", "/etc/passwd", "steps/../../../outside.txt"):
        status, _ = server.request(f"/api/file?run={run}&path={path}")
        assert status == 403, path
    (runs / run / "escape").symlink_to(runs.parent / "outside.txt")
    assert server.request(f"/api/file?run={run}&path=escape")[0] == 403
    assert server.request("/api/file?run=..&path=outside.txt")[0] == 403
    assert server.request("/api/log?run=..&step=split")[0] == 400
    status, text = server.request(f"/api/log?run={run}&step=../../outside.txt")
    assert status == 400 and "not a step name" in text
    assert server.request("/api/step?run=%2Fetc&step=split")[0] == 400


def test_log_streams_until_the_step_is_done(sar_server: tuple[Server, Path]) -> None:
    server, _ = sar_server
    status, text = server.request("/api/log?run=pipeline-20260101-000000-abcdef&step=split")
    assert status == 200
    assert 'event: log\ndata: "line one\\nline two\\n"' in text
    assert text.rstrip().endswith('data: {"state": "failed"}')


def test_graph_is_the_show_json(sar_server: tuple[Server, Path]) -> None:
    server, _ = sar_server
    shown = subprocess.run(
        [sys.executable, "-m", "runner", "pipeline", "show", str(SAR), "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    expected = json.loads(shown.stdout)
    graph = server.get_json("/api/graph?p=samples/sar/pipeline.yml")
    assert graph["steps"] == expected["steps"]
    assert graph["edges"] == expected["edges"]
    assert graph["problems"] == []
    assert server.request("/api/graph?p=../etc/passwd")[0] == 400


def test_runs_of_the_pipeline(sar_server: tuple[Server, Path]) -> None:
    server, _ = sar_server
    assert server.get_json("/api/runs?p=samples/sar/pipeline.yml") == {
        "runs": ["pipeline-20260101-000000-abcdef"]
    }


def test_compatible_ports_use_the_validation_rule(sar_server: tuple[Server, Path]) -> None:
    server, _ = sar_server
    status, text = server.request(
        "/api/compatible", body={"from_types": ["ModelDirectory"], "to_types": ["uri_folder"]}
    )
    assert (status, json.loads(text)) == (200, {"ok": True, "reason": ""})
    _, text = server.request(
        "/api/compatible",
        body={"from_types": ["ModelDirectory"], "to_types": ["DataFrameDirectory"]},
    )
    assert json.loads(text) == {
        "ok": False,
        "reason": "ModelDirectory cannot feed DataFrameDirectory",
    }
    _, text = server.request(
        "/api/compatible", body={"from_types": ["AnyFile"], "to_types": ["AnyDirectory"]}
    )
    assert json.loads(text)["reason"].endswith("a file cannot feed a folder input")


def test_module_interface_only_for_palette_modules(sar_server: tuple[Server, Path]) -> None:
    server, _ = sar_server
    modules = server.get_json("/api/modules")["modules"]
    assert isinstance(modules, list)
    ids = {m["id"] for m in modules}
    train = str(REPO / "samples" / "sar" / "modules" / "sar_train.yaml")
    assert train in ids
    assert next(m for m in modules if m["id"] == train)["origin"] == "pipeline"
    interface = server.get_json(f"/api/module?id={train}")
    assert [i["python_name"] for i in interface["inputs"]][:2] == ["train_data", "similarity"]
    assert server.request("/api/module?id=/etc/passwd")[0] == 400


def test_run_refused_is_reported_and_stop_needs_a_job(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    """A run the CLI refuses (exit 2) is reported with its message; Stop without a job says so."""
    bad = tmp_path / "bad.yml"
    module = REPO / "samples" / "sar" / "modules" / "sar_train.yaml"
    bad.write_text(f"type: pipeline\njobs:\n  train:\n    component: {module}\n")
    server = serve(["ui"], tmp_path)
    body = {"p": "bad.yml"}
    status, text = server.request("/api/run", body=body)
    assert status == 200, text
    assert json.loads(text)["job"]["command"] == "runner pipeline run bad.yml"
    deadline = time.monotonic() + 60
    while True:
        job = server.get_json("/api/job?p=bad.yml")["job"]
        assert isinstance(job, dict)
        if not job["running"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert job["exit_code"] == 2
    assert "missing required input" in str(job["output"])
    status, text = server.request("/api/stop", body=body)
    assert status == 400 and "no run started from this page" in text


SLEEPER = """\
type: command
name: sleeper
version: 1
outputs:
  out: {type: uri_folder}
command: python -c "import time; print('sleeping', flush=True); time.sleep(120)" ${{outputs.out}}
"""


def test_stop_interrupts_the_run_started_here(serve: Callable[..., Server], tmp_path: Path) -> None:
    (tmp_path / "sleeper.yml").write_text(SLEEPER)
    (tmp_path / "p.yml").write_text("type: pipeline\njobs:\n  nap: {component: ./sleeper.yml}\n")
    server = serve(["ui"], tmp_path)
    status, text = server.request("/api/run", body={"p": "p.yml", "force": "nap"})
    assert status == 200, text
    assert json.loads(text)["job"]["command"] == "runner pipeline run p.yml --force nap"
    runs = Path(os.environ["RUNNER_RUNS_DIR"])
    deadline = time.monotonic() + 60
    while not list(runs.glob("*/steps/nap/execution.log")) and time.monotonic() < deadline:
        time.sleep(0.1)
    log = next(runs.glob("*/steps/nap/execution.log"))
    while "sleeping" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    status, text = server.request("/api/stop", body={"p": "p.yml"})
    assert status == 200, text
    while server.get_json("/api/job?p=p.yml")["job"]["running"]:  # type: ignore[index]
        assert time.monotonic() < deadline, "the run did not stop"
        time.sleep(0.1)
    job = server.get_json("/api/job?p=p.yml")["job"]
    assert job["exit_code"] == 130  # type: ignore[index]
    record = json.loads((log.parents[2] / "pipeline.json").read_text())
    assert record["status"] == "interrupted"
    assert record["steps"]["nap"]["status"] == "interrupted"


def test_stop_works_from_a_server_that_ignores_sigint(tmp_path: Path) -> None:
    """A server started as a shell's background job ignores SIGINT, and its children inherit
    that: the job it starts must still stop on Stop (a SIGINT)."""
    from runner.ui.jobs import Job, RunRequest

    (tmp_path / "sleeper.yml").write_text(SLEEPER)
    (tmp_path / "p.yml").write_text("type: pipeline\njobs:\n  nap: {component: ./sleeper.yml}\n")
    env = {**os.environ, "RUNNER_RUNS_DIR": str(tmp_path / "runs")}
    saved = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        job = Job(RunRequest(tmp_path / "p.yml"), tmp_path, env, tmp_path)
    finally:
        signal.signal(signal.SIGINT, saved)
    deadline = time.monotonic() + 60
    logs = tmp_path / "runs"
    while not any("sleeping" in p.read_text() for p in logs.glob("*/steps/nap/execution.log")):
        assert time.monotonic() < deadline and job.exit_code is None, "never started"
        time.sleep(0.1)
    job.stop()
    while job.exit_code is None:
        assert time.monotonic() < deadline, "Stop did not stop the job"
        time.sleep(0.1)
    assert job.exit_code == 130
