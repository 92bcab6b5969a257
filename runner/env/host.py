"""The host interpreter as an environment: its path-independent fingerprint.

The fingerprint is the interpreter's implementation and version plus a digest of its installed
distributions (name and version). Listing distributions costs tens of milliseconds, too much
for a cache hit, so the result is remembered per interpreter together with the mtimes of its
import folders: installing, upgrading or removing a package changes a folder's mtime.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any, Literal, TextIO

from runner.env.base import EnvRequest, Runtime
from runner.env.store import EnvStore
from runner.errors import EnvironmentBuildError
from runner.files import make_folder, write_json_atomic
from runner.hashing import hash_text
from runner.struct import Struct

# Run inside the target interpreter; prints what identifies it, standard library only.
_PROBE = """
import json, sys, platform
try:
    from importlib import metadata
    dists = sorted({(d.metadata["Name"] or "").lower() + "==" + d.version
                    for d in metadata.distributions()})
except Exception:
    dists = []
print(json.dumps({
    "implementation": platform.python_implementation(),
    "version": platform.python_version(),
    "paths": [p for p in sys.path if p],
    "distributions": dists,
}))
"""


class HostIdentity(Struct):
    implementation: str
    version: str
    packages_digest: str

    @property
    def fingerprint(self) -> str:
        return hash_text(f"host\0{self.implementation}\0{self.version}\0{self.packages_digest}")


def host_identity(interpreter: str, memo_dir: Path) -> HostIdentity:
    """The identity of `interpreter`, from the memo when its import folders are unchanged."""
    # Not the real path: a venv interpreter is a symlink to its base, yet another environment.
    memo = memo_dir / f"host-{hash_text(str(Path(interpreter).absolute()))}.json"
    remembered = _read_memo(memo)
    if remembered is not None:
        paths, stamps, identity = remembered
        if _stamps(paths) == stamps:
            return identity
    probe = _probe(interpreter)
    identity = HostIdentity(
        implementation=probe["implementation"],
        version=probe["version"],
        packages_digest=hash_text("\n".join(probe["distributions"])),
    )
    # A read-only or full cache folder: the memo is only a memo.
    with contextlib.suppress(OSError):
        make_folder(memo_dir, parents=True)
        write_json_atomic(
            memo,
            {
                "paths": probe["paths"],
                "stamps": _stamps(probe["paths"]),
                "identity": {
                    "implementation": identity.implementation,
                    "version": identity.version,
                    "packages_digest": identity.packages_digest,
                },
            },
        )
    return identity


def _stamps(paths: list[str]) -> list[int]:
    stamps = []
    for path in paths:
        try:
            stamps.append(Path(path).stat().st_mtime_ns)
        except OSError:
            stamps.append(-1)
    return stamps


def _read_memo(path: Path) -> tuple[list[str], list[int], HostIdentity] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        identity = HostIdentity(**data["identity"])
        return list(data["paths"]), list(data["stamps"]), identity
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _probe(interpreter: str) -> dict[str, Any]:
    import subprocess  # here, not at the top: about 3 ms, and the memo usually answers

    try:
        done = subprocess.run(
            [interpreter, "-c", _PROBE],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            cwd=Path(__file__).resolve().parent,  # keep the caller's cwd off sys.path
        )
        probe: dict[str, Any] = json.loads(done.stdout)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        raise EnvironmentBuildError(
            f"cannot identify the interpreter {interpreter}: {exc}",
            "check the --python path, or leave it out to use the interpreter running runner",
        ) from None
    return probe


class HostBackend:
    """The interpreter running runner (or `--python`), as is: nothing to build."""

    name: Literal["host"] = "host"

    def _interpreter(self, request: EnvRequest) -> str:
        return request.python or sys.executable

    def fingerprint(self, request: EnvRequest, store: EnvStore) -> str:
        return host_identity(self._interpreter(request), store.memo_dir).fingerprint

    def ensure(self, request: EnvRequest, store: EnvStore, echo: TextIO | None) -> Runtime:
        interpreter = self._interpreter(request)
        return Runtime(
            backend="host", fingerprint=self.fingerprint(request, store), python=interpreter
        )
