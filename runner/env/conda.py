"""The conda backend: a conda prefix per environment, built by conda, mamba or micromamba.

The pure part (finding the tool, normalising the spec, rendering the environment file, the
command line, the build's environment variables) is separate from the part that starts a
process, so that every decision is unit-tested without a tool.

A prefix hard-codes its own path (shebangs, `conda-meta`), so it is built in place in the store
(`EnvStore.ensure(relocatable=False)`). The tool creates the prefix itself from a rendered
environment file; its pip section is installed by the tool too, inside the new prefix. Package
caches and channels (`CONDA_PKGS_DIRS`, `.condarc`, `MAMBA_ROOT_PREFIX`) are the user's.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal, TextIO

from runner.env.base import EnvRequest, Runtime
from runner.env.store import BuildLog, EnvRecord, EnvStore, run_logged
from runner.errors import EnvironmentBuildError, UnsupportedError
from runner.hashing import hash_text
from runner.spec.model import CondaDependencies
from runner.struct import Struct, field

ToolKind = Literal["conda", "mamba", "micromamba"]
Which = Callable[[str], str | None]

# Bumped when the rendered file or the command changes what a prefix contains.
_FORMAT = 1
_SEARCH_ORDER: tuple[ToolKind, ...] = ("micromamba", "mamba", "conda")
_NO_TOOL_HINT = (
    "install micromamba (a single static binary) or conda, or set RUNNER_CONDA to the tool's "
    "path; or run with --env venv or --env docker"
)
# Every spelling tools read a CA bundle from: conda (requests), mamba/micromamba (libmamba
# config), the pip step, and OpenSSL-based clients.
_CA_VARIABLES = ("CONDA_SSL_VERIFY", "MAMBA_SSL_VERIFY", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
# Settings of the caller's shell that would send the pip step elsewhere: into the host's
# modules (PYTHONPATH/HOME), the user site (PIP_USER), another folder, or refuse to run at all
# outside a virtualenv (a conda prefix is not one).
_DROPPED_VARIABLES = (
    "PYTHONHOME",
    "PYTHONPATH",
    "PIP_USER",
    "PIP_TARGET",
    "PIP_PREFIX",
    "PIP_REQUIRE_VIRTUALENV",
)
_PACKAGE = r"^(?:[\w.-]+::)?{name}(?:$|[\s=<>!~])"
_PYTHON = re.compile(_PACKAGE.format(name="python"), re.IGNORECASE)
_PIP = re.compile(_PACKAGE.format(name="pip"), re.IGNORECASE)


class CondaTool(Struct):
    kind: ToolKind
    path: str


class CondaEnv(Struct):
    """A conda environment in the one form that is fingerprinted, rendered and built."""

    channels: tuple[str, ...]  # in order: it is the channel priority
    dependencies: tuple[str, ...]  # sorted, unique; always names python
    pip: tuple[str, ...] = ()  # sorted, unique; non-empty means pip is a dependency

    @property
    def python(self) -> str | None:
        unprefixed = tuple(dep.split("::", 1)[-1] for dep in self.dependencies)
        return CondaDependencies(dependencies=unprefixed).python_version


# ---- pure -------------------------------------------------------------------------------


def tool_kind(path: str) -> ToolKind:
    stem = Path(path).name.lower().removesuffix(".exe")
    if stem.startswith("micromamba"):
        return "micromamba"
    if stem.startswith("mamba"):
        return "mamba"
    return "conda"


def find_conda_tool(environ: Mapping[str, str], which: Which) -> CondaTool | None:
    """`$RUNNER_CONDA`, else micromamba, mamba, conda on PATH, else `$MAMBA_EXE`, `$CONDA_EXE`.

    The last two are set by shell initialisation, which may leave only a shell function (not
    the binary) on PATH.
    """
    chosen = environ.get("RUNNER_CONDA", "").strip()
    if chosen:
        found = which(chosen)
        if found is None:
            raise UnsupportedError(
                f"RUNNER_CONDA={chosen} is not an executable",
                "point it at a conda, mamba or micromamba executable, or unset it",
            )
        return CondaTool(tool_kind(chosen), found)
    for kind in _SEARCH_ORDER:
        found = which(kind)
        if found is not None:
            return CondaTool(kind, found)
    for variable in ("MAMBA_EXE", "CONDA_EXE"):
        value = environ.get(variable, "").strip()
        if value and (found := which(value)) is not None:
            return CondaTool(tool_kind(value), found)
    return None


def normalise(conda: CondaDependencies | None, pip_requirements: Sequence[str] = ()) -> CondaEnv:
    """The spec's environment, order-insensitive where order means nothing.

    python is added when absent (the prefix must have an interpreter to run the command), and
    pip when there is a pip section (conda and micromamba run it with the prefix's own pip).
    """
    channels = _unique(conda.channels if conda else ())
    pip = sorted(_unique([*(conda.pip if conda else ()), *pip_requirements]))
    dependencies = set(_unique(conda.dependencies if conda else ()))
    if not any(_PYTHON.match(dep) for dep in dependencies):
        dependencies.add("python")
    if pip and not any(_PIP.match(dep) for dep in dependencies):
        dependencies.add("pip")
    return CondaEnv(tuple(channels), tuple(sorted(dependencies)), tuple(pip))


def conda_platform(system: str, machine: str) -> str:
    """conda's name for a platform (its "subdir"): `linux-64`, `osx-arm64`, `win-64`, ..."""
    os_name = {"linux": "linux", "darwin": "osx", "windows": "win"}.get(system.lower())
    arch = machine.lower()
    bits = {"x86_64": "64", "amd64": "64", "i386": "32", "i686": "32"}.get(arch)
    if os_name is None:
        return f"{system.lower()}-{arch}"
    if bits is not None:
        return f"{os_name}-{bits}"
    if arch in ("arm64", "aarch64"):
        return f"{os_name}-arm64" if os_name in ("osx", "win") else f"{os_name}-aarch64"
    return f"{os_name}-{arch}"


def conda_fingerprint(env: CondaEnv, subdir: str) -> str:
    """Content only: the same spec written anywhere, in any order, gives the same prefix."""
    canonical = json.dumps(
        {
            "backend": "conda",
            "format": _FORMAT,
            "platform": subdir,
            "channels": list(env.channels),
            "dependencies": list(env.dependencies),
            "pip": list(env.pip),
        },
        sort_keys=True,
    )
    return hash_text(canonical)


def render_env_file(conda: CondaDependencies | None, pip_requirements: Sequence[str] = ()) -> str:
    """The environment file the tool builds from: normalised, every value quoted.

    JSON strings are YAML double-quoted scalars, so no requirement (`--index-url ...`,
    `pkg @ git+https://...`, `numpy>=1.24,<2`) can be misread as YAML syntax. There is no
    `name:`: the prefix is given on the command line.
    """
    return _render(normalise(conda, pip_requirements))


def _render(env: CondaEnv) -> str:
    lines = []
    if env.channels:
        lines.append("channels:")
        lines.extend(f"  - {json.dumps(channel)}" for channel in env.channels)
    lines.append("dependencies:")
    lines.extend(f"  - {json.dumps(dep)}" for dep in env.dependencies)
    if env.pip:
        lines.append("  - pip:")
        lines.extend(f"      - {json.dumps(line)}" for line in env.pip)
    return "\n".join(lines) + "\n"


def conda_command(tool: CondaTool, prefix: Path, env_file: Path) -> list[str]:
    """Create `prefix` from `env_file`, answering yes to any question.

    Both paths must be absolute: micromamba has read a relative prefix as an environment name.
    conda and mamba take environment files through `env create`; micromamba's `create -f`
    reads them itself. `--yes` on `conda env create` needs conda 23.7 or newer.
    """
    if tool.kind == "micromamba":
        return [tool.path, "create", "--yes", "--prefix", str(prefix), "--file", str(env_file)]
    return [tool.path, "env", "create", "--yes", "--prefix", str(prefix), "--file", str(env_file)]


def build_environ(environ: Mapping[str, str], ca_bundle: Path | None) -> dict[str, str]:
    """The tool's environment: the caller's, minus what would misdirect the pip step."""
    env = {k: v for k, v in environ.items() if k not in _DROPPED_VARIABLES}
    env["PIP_NO_INPUT"] = "1"  # a private index asking for a password must fail, not wait
    if ca_bundle is not None:
        for variable in (*_CA_VARIABLES, "PIP_CERT"):
            env[variable] = str(ca_bundle)
    return env


def is_healthy(prefix: Path) -> bool:
    """Checked without a process: `conda-meta/history` marks a conda prefix (conda, mamba and
    micromamba all write it), and the command needs the prefix's python."""
    return (prefix / "conda-meta" / "history").is_file() and (prefix / "bin" / "python").exists()


def runtime_for(prefix: Path, fingerprint: str) -> Runtime:
    return Runtime(
        backend="conda",
        fingerprint=fingerprint,
        python=str(prefix / "bin" / "python"),
        path_prepend=(str(prefix / "bin"),),
        variables={"CONDA_PREFIX": str(prefix), "CONDA_DEFAULT_ENV": str(prefix)},
        location=prefix,
    )


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(item.strip() for item in items if item.strip()))


# ---- processes --------------------------------------------------------------------------


class CondaBackend(Struct):
    """Environments as conda prefixes. `environ` and `which` are injectable for tests; by
    default the process environment and PATH at the time of the call."""

    name: Literal["conda"] = field(default="conda", init=False)
    environ: Mapping[str, str] | None = None
    which: Which = shutil.which

    def _environ(self) -> Mapping[str, str]:
        return os.environ if self.environ is None else self.environ

    def fingerprint(self, request: EnvRequest, store: EnvStore) -> str:
        spec = request.spec
        env = normalise(spec.conda, spec.pip_requirements)
        return conda_fingerprint(env, conda_platform(platform.system(), platform.machine()))

    def ensure(self, request: EnvRequest, store: EnvStore, echo: TextIO | None) -> Runtime:
        fingerprint = self.fingerprint(request, store)
        record = store.record("conda", fingerprint)
        if record is not None and _healthy(record):
            return runtime_for(record.path, fingerprint)  # built: no tool needed
        tool = find_conda_tool(self._environ(), self.which)
        if tool is None:
            raise UnsupportedError(
                f"{request.source.name}: the conda backend needs conda, mamba or micromamba, "
                "and none was found (RUNNER_CONDA, PATH, MAMBA_EXE, CONDA_EXE)",
                _NO_TOOL_HINT,
            )
        env = normalise(request.spec.conda, request.spec.pip_requirements)
        environ = build_environ(self._environ(), request.ca_bundle)

        def build(prefix: Path, log: BuildLog) -> tuple[str, Mapping[str, object]]:
            return _build(tool, prefix, env, environ, log)

        record = store.ensure(
            "conda", fingerprint, build, healthy=_healthy, relocatable=False, echo=echo
        )
        return runtime_for(record.path, fingerprint)


def _healthy(record: EnvRecord) -> bool:
    return is_healthy(record.path)


def _build(
    tool: CondaTool, prefix: Path, env: CondaEnv, environ: Mapping[str, str], log: BuildLog
) -> tuple[str, Mapping[str, object]]:
    # The store hands over an empty folder; conda asks about and micromamba refuses an
    # existing folder that is not yet an environment, so the tool creates it itself.
    prefix.rmdir()
    text = _render(env)
    with tempfile.TemporaryDirectory(prefix="runner-conda-") as folder:
        # Named .yml: conda and micromamba pick the file's format by its extension.
        env_file = Path(folder) / "environment.yml"
        env_file.write_text(text, encoding="utf-8")
        log.write(f"# {tool.kind}: {tool.path}\n# environment file:\n{text}")
        run_logged(conda_command(tool, prefix, env_file), log, env=environ, cwd=Path(folder))
    if not (prefix / "bin" / "python").exists():
        raise EnvironmentBuildError(
            f"{tool.kind} created {prefix} without a python interpreter",
            "pin python in the conda dependencies (for example python=3.11)",
        )
    description = f"conda ({tool.kind}): python {env.python or '(unpinned)'}, " + (
        f"{len(env.dependencies)} conda + {len(env.pip)} pip packages"
    )
    meta: dict[str, object] = {
        "tool": tool.kind,
        "tool_path": tool.path,
        "platform": conda_platform(platform.system(), platform.machine()),
        "channels": list(env.channels),
        "python": env.python,
    }
    return description, meta
