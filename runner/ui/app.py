"""The web application: the page, its assets, and the JSON and event-stream API it calls.

Every route sits behind `security.Guard` (token, Host, Origin). Live updates are server-sent
events: `/api/live` pushes a run's whole state (small: one entry per step) whenever the run
folder changes, `/api/log` a step's log as it grows. Both poll files (a stat every
`POLL_SECONDS`), so a run started in another terminal shows the same way as one started here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from runner.errors import RunnerError, UsageError
from runner.pipeline.graph import pipeline_graph, registered_name
from runner.pipeline.validate import check, port_mismatch
from runner.spec.interface import interface
from runner.ui.details import explain_step, plan_step, step_detail, step_record
from runner.ui.edit import StepEdit, relative_target, save_pipeline
from runner.ui.jobs import RunRequest
from runner.ui.live import RunReader
from runner.ui.runs import inside, step_dir
from runner.ui.security import Guard
from runner.ui.workspace import Workspace

POLL_SECONDS = 0.05
RESCAN_SECONDS = 0.5  # how often a live view looks for a newer run of its pipeline
KEEPALIVE_SECONDS = 15.0
LOG_START_LIMIT = 256 * 1024  # a long log starts this far from its end
STATIC = resources.files("runner.ui") / "static"

Handler = Callable[[Request], Awaitable[Response]]


def create_app(workspace: Workspace, token: str, port: int) -> Guard:
    api = _Api(workspace, token)
    routes = [
        Route("/", api.index),
        Route("/api/session", _json(api.session)),
        Route("/api/graph", _json(api.graph)),
        Route("/api/runs", _json(api.runs)),
        Route("/api/live", api.live),
        Route("/api/step", _json(api.step)),
        Route("/api/explain", _json(api.explain)),
        Route("/api/log", api.log),
        Route("/api/file", api.file),
        Route("/api/job", _json(api.job)),
        Route("/api/run", _json(api.run), methods=["POST"]),
        Route("/api/stop", _json(api.stop), methods=["POST"]),
        Route("/api/modules", _json(api.modules)),
        Route("/api/module", _json(api.module)),
        Route("/api/compatible", _json(api.compatible), methods=["POST"]),
        Route("/api/save", _json(api.save), methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(workspace.jobs.close)  # runs started here end with the server

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={RunnerError: _refused})
    return Guard(app, token, port)


def _json(method: Callable[[Request], Awaitable[object]]) -> Handler:
    async def handler(request: Request) -> Response:
        return JSONResponse(await method(request))

    return handler


async def _refused(request: Request, exc: Exception) -> Response:
    """runner's own errors (a bad name, a path outside a run): 400 with the message and hint."""
    assert isinstance(exc, RunnerError)
    return JSONResponse({"error": exc.message, "hint": exc.hint}, status_code=400)


def _param(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if value is None:
        raise UsageError(f"missing query parameter {name!r}")
    return value


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise UsageError("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise UsageError("the request body is not a JSON object")
    return data


def _sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


class _Api:
    def __init__(self, workspace: Workspace, token: str) -> None:
        self.ws = workspace
        self.token = token

    async def index(self, request: Request) -> Response:
        page = (STATIC / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(page.replace("__TOKEN__", self.token))

    async def session(self, request: Request) -> object:
        pipelines = await asyncio.to_thread(self.ws.pipelines)
        return {
            "root": str(self.ws.root),
            "runs_root": str(self.ws.runs.root),
            "single": self.ws.single,
            "pipelines": sorted(pipelines),
            "registry": None if self.ws.registry is None else str(self.ws.registry),
        }

    async def graph(self, request: Request) -> object:
        key = _param(request, "p")
        pipeline = await asyncio.to_thread(self.ws.load, key)
        return {
            **pipeline_graph(pipeline),
            "id": key,
            "problems": check(pipeline),
            "warnings": [str(w) for w in pipeline.warnings],
        }

    async def runs(self, request: Request) -> object:
        path = self.ws.pipeline_path(_param(request, "p"))
        return {"runs": self.ws.runs.runs_of(path)}

    async def live(self, request: Request) -> Response:
        path = self.ws.pipeline_path(_param(request, "p"))
        pinned = request.query_params.get("run")
        if pinned:
            self.ws.runs.run_dir(pinned)  # refused unless it is a run folder here
        return StreamingResponse(self._live(path, pinned), media_type="text/event-stream")

    async def _live(self, path: Path, pinned: str | None) -> AsyncIterator[str]:
        reader: RunReader | None = None
        scanned = 0.0
        sent = time.monotonic()
        yield _sse("hello", {"pipeline": str(path)})
        while True:
            now = time.monotonic()
            if now - scanned >= RESCAN_SECONDS:
                scanned = now
                runs = [pinned] if pinned else self.ws.runs.runs_of(path)
                if runs and (reader is None or reader.run_dir.name != runs[0]):
                    reader = RunReader(self.ws.runs.run_dir(runs[0]))
                    reader.poll()
                    yield _sse("state", reader.state())
                    sent = now
            if reader is not None and reader.poll():
                yield _sse("state", reader.state())
                sent = now
            elif now - sent >= KEEPALIVE_SECONDS:
                yield ": keepalive\n\n"
                sent = now
            await asyncio.sleep(POLL_SECONDS)

    def _step_folder(self, request: Request) -> tuple[Path, Path]:
        run_dir = self.ws.runs.run_dir(_param(request, "run"))
        return run_dir, step_dir(run_dir, _param(request, "step"))

    async def step(self, request: Request) -> object:
        _, folder = self._step_folder(request)
        record = step_record(folder)
        if record is None:
            return {"record": None}
        detail = step_detail(record, folder)
        return {"record": detail, "log": (folder / "execution.log").is_file()}

    async def explain(self, request: Request) -> object:
        run = request.query_params.get("run")
        if run:
            _, folder = self._step_folder(request)
            record = step_record(folder)
            if record is not None:
                return await asyncio.to_thread(explain_step, record, self.ws.root)
        pipeline = await asyncio.to_thread(self.ws.load, _param(request, "p"))
        step = _param(request, "step")
        return await asyncio.to_thread(plan_step, pipeline, step, self.ws.root)

    async def log(self, request: Request) -> Response:
        run_dir, folder = self._step_folder(request)
        step = _param(request, "step")
        return StreamingResponse(self._log(run_dir, folder, step), media_type="text/event-stream")

    async def _log(self, run_dir: Path, folder: Path, step: str) -> AsyncIterator[str]:
        path = folder / "execution.log"
        reader = RunReader(run_dir)
        offset = 0
        sent = time.monotonic()
        while True:
            reader.poll()
            state = reader.state()
            info = state["steps"].get(step, {}) if isinstance(state["steps"], dict) else {}
            done = info.get("state") not in (None, "queued", "running") or state["status"] != (
                "running"
            )
            chunk, offset = _read_from(path, offset, whole=done)
            if chunk:
                yield _sse("log", chunk)
                sent = time.monotonic()
            elif done:
                yield _sse("end", {"state": info.get("state")})
                return
            elif time.monotonic() - sent >= KEEPALIVE_SECONDS:
                yield ": keepalive\n\n"
                sent = time.monotonic()
            await asyncio.sleep(POLL_SECONDS)

    async def file(self, request: Request) -> Response:
        try:
            run_dir = self.ws.runs.run_dir(_param(request, "run"))
            target = inside(run_dir, _param(request, "path"))
        except RunnerError as exc:
            return JSONResponse({"error": exc.message}, status_code=403)
        if not target.is_file():
            return JSONResponse({"error": "no such file in this run"}, status_code=404)
        return FileResponse(target, media_type="text/plain; charset=utf-8")

    async def job(self, request: Request) -> object:
        job = self.ws.jobs.get(self.ws.pipeline_path(_param(request, "p")))
        return {"job": job.to_json() if job else None}

    async def run(self, request: Request) -> object:
        body = await _body(request)
        path = self.ws.pipeline_path(str(body.get("p", "")))
        pipeline = await asyncio.to_thread(self.ws.load, str(body.get("p")))
        steps = set(pipeline.step_names)
        chosen = {k: body.get(k) or None for k in ("from", "force")}
        for value in chosen.values():
            if value is not None and value not in steps:
                raise UsageError(f"no step {value!r} in this pipeline")
        asked = RunRequest(path, chosen["from"], chosen["force"], self.ws.registry)
        job = self.ws.jobs.start(asked)
        return {"job": job.to_json()}

    async def stop(self, request: Request) -> object:
        body = await _body(request)
        job = self.ws.jobs.get(self.ws.pipeline_path(str(body.get("p", ""))))
        if job is None or job.exit_code is not None:
            raise UsageError(
                "no run started from this page is going on",
                "a run started in a terminal stops with Ctrl-C there",
            )
        job.stop()
        return {"job": job.to_json()}

    async def modules(self, request: Request) -> object:
        problems: list[str] = []
        found = await asyncio.to_thread(self.ws.modules, problems)
        modules = [module.to_json(self.ws.root) for module in found]
        return {"modules": modules, "problems": problems}

    async def module(self, request: Request) -> object:
        key = _param(request, "id")
        spec, reference = await asyncio.to_thread(self.ws.module, key)
        registered = {"name": registered_name(spec), "version": spec.version}
        return {**interface(spec), "id": key, "registered": registered if reference else None}

    async def compatible(self, request: Request) -> object:
        body = await _body(request)
        outs, ins = body.get("from_types"), body.get("to_types")
        if not isinstance(outs, list) or not isinstance(ins, list):
            raise UsageError("give from_types and to_types as lists")
        reason = port_mismatch([str(t) for t in outs], [str(t) for t in ins])
        if reason is None:
            return {"ok": True, "reason": ""}
        text = f"{' | '.join(map(str, outs))} cannot feed {' | '.join(map(str, ins))}"
        return {"ok": False, "reason": f"{text}: {reason}" if reason else text}

    async def save(self, request: Request) -> object:
        body = await _body(request)
        target = relative_target(self.ws.root, str(body.get("path") or ""))
        edits = await asyncio.to_thread(
            lambda: [_step_edit(self.ws, item) for item in body.get("steps") or []]
        )
        save = functools.partial(
            save_pipeline, new=bool(body.get("new")), registry=self.ws.registry
        )
        saved = await asyncio.to_thread(save, target, edits, str(body.get("display_name") or ""))
        key = self.ws.add(saved.path)
        return {"id": key, "problems": list(saved.problems), "text": saved.text}


def _step_edit(ws: Workspace, item: object) -> StepEdit:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise UsageError("each step needs a name")
    module = str(item.get("module") or "")
    inputs = item.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise UsageError(f"step {item['name']!r}: inputs must be an object")
    values = {str(k): v for k, v in inputs.items() if isinstance(v, (str, int, float, bool))}
    spec, reference = ws.module(module)
    return StepEdit(item["name"], spec.source, values, reference)


def _read_from(path: Path, offset: int, whole: bool) -> tuple[str, int]:
    """The complete lines of `path` after `offset` (all of it when `whole`: the step ended);
    a long file starts near its end."""
    try:
        with open(path, "rb") as stream:
            size = stream.seek(0, 2)
            if size <= offset:
                return "", offset
            start = max(offset, size - LOG_START_LIMIT) if offset == 0 else offset
            stream.seek(start)
            data = stream.read()
    except OSError:
        return "", offset
    if not whole:
        data = data[: data.rfind(b"\n") + 1]
    return data.decode("utf-8", "replace"), start + len(data)
