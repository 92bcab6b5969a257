"""The venv backend: a virtual environment made by uv on a local interpreter.

The fingerprint is a digest of the normalised requirements (translate.py) and of the chosen
interpreter's implementation, full version and the machine type; never a path, so two
machines with the same interpreter version agree. On a warm run nothing is started: the
interpreter discovery is memoised (pythons.py) and the health check only stats files.

A build runs `uv venv --relocatable --seed` (pip, and for Python < 3.12 setuptools and wheel,
as every environment a module was written for has them), then `uv pip install -r`, with the
requirements file kept in the environment. It is built in the store's tmp folder and renamed
into place, which a relocatable venv allows: an interrupted build is never used.

With no python pin the venv is built on the interpreter running runner, or on the one named
with --python; a pin chooses among the local interpreters (pythons.py), and the fingerprint
follows the interpreter chosen, so pins that select the same interpreter share a venv.

uv reads no pip configuration; pip's index settings are passed on (pipconf.py). uv's own
cache (`~/.cache/uv`, or `$UV_CACHE_DIR`) makes a rebuild of known packages fast.

A build is announced on the run's stream with what it installs, and its end with the time it
took; uv's own output goes to the build log, and to the stream too only when asked (`-v`).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from runner.env.base import BackendName, EnvRequest, Runtime
from runner.env.pipconf import bridged_variables, masked
from runner.env.pythons import Interpreter, interpreter_at, select_python
from runner.env.store import BuildLog, EnvRecord, EnvStore, run_logged
from runner.env.translate import canonical, python_pin, requirements_for
from runner.errors import EnvironmentBuildError
from runner.hashing import hash_text
from runner.struct import Struct

# Bump when the build recipe changes what an environment contains (flags, seeding...).
RECIPE = "venv-1"
REQUIREMENTS_FILE = "runner-requirements.txt"


class VenvPlan(Struct):
    """What an environment will be, decided without starting any process."""

    requirements: tuple[str, ...]
    interpreter: Interpreter
    note: str | None  # set when the interpreter is not an exact match for the python pin
    fingerprint: str


class VenvBackend:
    name: BackendName = "venv"

    def plan(self, request: EnvRequest, store: EnvStore) -> VenvPlan:
        requirements = tuple(requirements_for(request.spec, source=request.source))
        current = None if request.python is None else interpreter_at(request.python, store.memo_dir)
        try:
            interpreter, note = select_python(
                python_pin(request.spec),
                request.strict_python,
                memo_dir=store.memo_dir,
                current=current,
            )
        except EnvironmentBuildError as exc:
            raise EnvironmentBuildError(f"{request.source}: {exc.message}", exc.hint) from None
        return VenvPlan(
            requirements, interpreter, note, venv_fingerprint(requirements, interpreter)
        )

    def fingerprint(self, request: EnvRequest, store: EnvStore) -> str:
        return self.plan(request, store).fingerprint

    def ensure(self, request: EnvRequest, store: EnvStore, echo: TextIO | None) -> Runtime:
        plan = self.plan(request, store)
        if plan.note and echo is not None:
            echo.write(f"note: {plan.note}\n")

        log_path = store.log_path(self.name, plan.fingerprint)

        def build(target: Path, log: BuildLog) -> tuple[str, Mapping[str, object]]:
            started = time.monotonic()
            if echo is not None:
                echo.write(f"{announcement(request, plan)} (log: {log_path})\n")
                echo.flush()
            built = _build(target, log, plan, request, log_path)
            if echo is not None:
                echo.write(f"venv ready in {time.monotonic() - started:.1f} s\n")
            return built

        shown = echo if request.verbose else None
        record = store.ensure(
            self.name, plan.fingerprint, build, healthy=healthy, relocatable=True, echo=shown
        )
        bin_dir = record.path / "bin"
        return Runtime(
            backend=self.name,
            fingerprint=plan.fingerprint,
            python=str(bin_dir / "python"),
            path_prepend=(str(bin_dir),),
            variables={"VIRTUAL_ENV": str(record.path)},
            location=record.path,
        )


def announcement(request: EnvRequest, plan: VenvPlan, shown: int = 8) -> str:
    """`building a venv for train.yaml: python 3.11 + numpy, pandas>=2 and 3 more`."""
    packages = [line for line in plan.requirements if line.strip() and not line.startswith("-")]
    listed = ", ".join(packages[:shown]) or "no packages"
    if len(packages) > shown:
        listed += f" and {len(packages) - shown} more"
    python = plan.interpreter.version_text
    return f"building a venv for {request.source.name}: python {python} + {listed}"


def venv_fingerprint(requirements: Sequence[str], interpreter: Interpreter) -> str:
    lines = sorted({" ".join(line.split()) for line in requirements if line.strip()})
    head = [RECIPE, interpreter.implementation, interpreter.version_text, platform.machine()]
    return hash_text("\n".join([*head, "", *lines]))


def healthy(record: EnvRecord) -> bool:
    """Stats only: the interpreter link resolves (its base interpreter still exists) and the
    venv's marker file is there."""
    return (record.path / "pyvenv.cfg").is_file() and (record.path / "bin" / "python").exists()


def uv_binary() -> str:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise EnvironmentBuildError(
                "uv is not installed: the venv backend creates environments with it",
                "pip install uv (it is a dependency of runner), or put uv on PATH",
            ) from None
        return found


def uv_environ(base: Mapping[str, str], ca_bundle: Path | None) -> dict[str, str]:
    """uv's environment: the caller's, pip's index settings bridged, the CA bundle if given."""
    env = dict(base)
    env.update(bridged_variables(base))
    if ca_bundle is not None:
        env["SSL_CERT_FILE"] = str(ca_bundle)
    return env


def _build(
    target: Path, log: BuildLog, plan: VenvPlan, request: EnvRequest, log_path: Path
) -> tuple[str, Mapping[str, object]]:
    uv = uv_binary()
    env = uv_environ(os.environ, request.ca_bundle)
    for key in sorted(env):
        if os.environ.get(key) != env[key]:  # say where packages come from; no passwords
            log.write(f"# {key}={masked(env[key])}\n")
    if plan.note:
        log.write(f"# note: {plan.note}\n")
    python = plan.interpreter.path
    create = [uv, "venv", "--relocatable", "--seed", "--no-python-downloads", "--python", python]
    run_logged([*create, str(target)], log, env=env, cwd=target)
    requirements = target / REQUIREMENTS_FILE
    requirements.write_text("".join(f"{line}\n" for line in plan.requirements), encoding="utf-8")
    if plan.requirements:
        _install(uv, target, requirements, log, env, plan, f"{request.source}", log_path)
    meta: dict[str, object] = {
        "python": plan.interpreter.version_text,
        "implementation": plan.interpreter.implementation,
        "base_interpreter": python,
        "requirements": list(plan.requirements),
    }
    if plan.note:
        meta["note"] = plan.note
    description = f"python {plan.interpreter.version_text}, {len(plan.requirements)} requirements"
    return description, meta


def _install(
    uv: str,
    target: Path,
    requirements: Path,
    log: BuildLog,
    env: Mapping[str, str],
    plan: VenvPlan,
    source: str,
    log_path: Path,
) -> None:
    recorder = _Recorder(log)
    python = str(target / "bin" / "python")
    try:
        run_logged(
            [uv, "pip", "install", "--python", python, "-r", str(requirements)],
            recorder,
            env=env,
            cwd=target,
        )
    except EnvironmentBuildError:
        culprits = failing_requirements(plan.requirements, recorder.text())
        what = ", ".join(culprits) if culprits else "the requirements"
        raise EnvironmentBuildError(
            f"{source}: cannot install {what} into a venv (uv pip install failed)",
            "check the package names and versions in the module's environment, or run it "
            f"with --env conda or --env docker; full log: {log_path}",
        ) from None


def failing_requirements(requirements: Sequence[str], output: str) -> list[str]:
    """The requirements that uv's error message names (after its `error:` line, or the
    cross that starts its fancy form, `\u00d7 Failed to build`)."""
    starts = [at for at in (output.find("error:"), output.find("\u00d7")) if at >= 0]
    message = output[min(starts) :].lower() if starts else ""
    message = re.sub(r"[_.]+(?=\w)", "-", message)  # uv may print either spelling of a name
    named = []
    for line in requirements:
        head = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        if head is None:
            continue  # an option line (--index-url ...)
        name = canonical(head.group(0))
        pattern = rf"(?<![\w.-]){re.escape(name)}(?![\w-])"
        if re.search(pattern, message):
            named.append(line)
    return named


class _Recorder:
    """Passes build output to the log and keeps it, to find what failed."""

    def __init__(self, log: BuildLog) -> None:
        self._log = log
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        self._parts.append(text)
        return self._log.write(text)

    def flush(self) -> None:
        self._log.flush()

    def text(self) -> str:
        return "".join(self._parts)
