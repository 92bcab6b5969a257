"""Where a registration comes from: a spec file, a folder, a `.zip` package, or a git repository
(a URL, or a local path with `--ref` or ending in `.git`), cloned with the system git.

Zip packages are checked before anything is extracted: an entry with an absolute path, a `..`
component, or a symlink (or any special file) refuses the whole package. Packages and clones
are unpacked into a temporary folder outside the registry and removed afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from runner.registry.errors import RegistryError
from runner.struct import Struct

_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)
_GIT_TIMEOUT_S = 1800.0
# What `git rev-parse --local-env-vars` lists: variables that point git at a repository. Set
# when runner runs inside a git hook (or a `git rebase -x`), they would make every command
# act on that repository instead of the clone in `-C DIR`.
GIT_REPOSITORY_VARIABLES = frozenset(
    {
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_CONFIG",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_PARAMETERS",
        "GIT_DIR",
        "GIT_GRAFT_FILE",
        "GIT_IMPLICIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_INTERNAL_SUPER_PREFIX",
        "GIT_NO_REPLACE_OBJECTS",
        "GIT_OBJECT_DIRECTORY",
        "GIT_PREFIX",
        "GIT_REPLACE_REF_BASE",
        "GIT_SHALLOW_FILE",
        "GIT_WORK_TREE",
    }
)
_COPY_CHUNK = 1 << 20


class Origin(Struct):
    """What a registration was made from, as recorded with each version."""

    kind: str  # file | folder | zip | git
    location: str  # an absolute path, or the repository URL as given
    ref: str | None = None
    commit: str | None = None
    subdir: str | None = None

    def to_json(self, spec: str | None) -> dict[str, object]:
        data: dict[str, object] = {"kind": self.kind, "location": self.location}
        for key, value in (("ref", self.ref), ("commit", self.commit), ("subdir", self.subdir)):
            if value is not None:
                data[key] = value
        if spec is not None:
            data["spec"] = spec
        return data


def describe(source: object) -> str:
    """One line for a recorded origin (`Origin.to_json`): `folder /x/modules/train.yaml`,
    `zip /x/pkg.zip: module/train.yaml`, `git URL @ v1 (3f2a1bc4d5e6): modules/train.yaml`."""
    if not isinstance(source, dict):
        return "?"
    kind, location = source.get("kind", "?"), str(source.get("location", "?"))
    inside = "/".join(str(source[key]) for key in ("subdir", "spec") if source.get(key))
    if kind == "folder":
        return f"folder {location}/{inside}" if inside else f"folder {location}"
    text = f"{kind} {location}"
    if source.get("ref") or source.get("commit"):
        commit = str(source.get("commit") or "")[:12]
        text += f" @ {source['ref']} ({commit})" if source.get("ref") else f" @ {commit}"
    return f"{text}: {inside}" if inside else text


def is_git_source(given: str, ref: str | None) -> bool:
    if _URL.match(given):
        return not given.lower().endswith(".zip")
    path = Path(given).expanduser()
    if given.endswith(".git") or _is_bare_repository(path):
        return True
    return ref is not None and path.is_dir()


def _is_bare_repository(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


class Opened(NamedTuple):
    origin: Origin
    where: Path  # the spec file, or the folder (under --subdir) to look in
    # A package or a clone: what it registers must come from inside it (None: a local folder
    # or spec, whose includes may reach anywhere on the user's own disk).
    confine: Path | None


@contextmanager
def open_source(
    given: str, *, ref: str | None = None, subdir: str | None = None
) -> Iterator[Opened]:
    """The origin, the local spec file or folder to register from (under `subdir`), and the
    folder a package or clone must not reach out of."""
    if is_git_source(given, ref):
        with tempfile.TemporaryDirectory(prefix="runner-register-") as scratch:
            clone = Path(scratch) / "repository"
            commit = clone_repository(given, ref, clone)
            origin = Origin("git", _location(given), ref, commit, subdir)
            yield Opened(origin, _inside(clone, subdir, given), clone.resolve())
        return
    path = Path(given).expanduser().absolute()
    if not path.exists():
        raise RegistryError(
            f"{given}: no such file or folder",
            "give a spec file, a folder, a .zip package or a git repository (URL or --ref)",
        )
    if path.is_dir():
        yield Opened(Origin("folder", str(path), subdir=subdir), _inside(path, subdir, given), None)
        return
    if zipfile.is_zipfile(path) or path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="runner-register-") as scratch:
            package = Path(scratch) / "package"
            extract_zip(path, package)
            origin = Origin("zip", str(path), subdir=subdir)
            yield Opened(origin, _inside(package, subdir, given), package.resolve())
        return
    if subdir is not None:
        raise RegistryError(f"--subdir {subdir}: {given} is a spec file, not a folder")
    yield Opened(Origin("file", str(path)), path, None)


def _location(given: str) -> str:
    return given if _URL.match(given) else str(Path(given).expanduser().absolute())


def _inside(root: Path, subdir: str | None, given: str) -> Path:
    if subdir is None:
        return root
    relative = PurePosixPath(subdir)
    if relative.is_absolute() or ".." in relative.parts:
        raise RegistryError(f"--subdir {subdir}: give a folder inside {given}, without '..'")
    folder = root / relative
    if not folder.is_dir():
        raise RegistryError(f"--subdir {subdir}: {given} has no folder {subdir}")
    return folder


# ---- zip ----------------------------------------------------------------------------------


def extract_zip(archive: Path, dest: Path) -> None:
    """Extract a package after checking every entry; refuses the whole package if one entry
    could land outside `dest` or is not a plain file or folder."""
    try:
        with zipfile.ZipFile(archive) as package:
            members = package.infolist()
            for member in members:
                problem = _unsafe(member)
                if problem is not None:
                    raise RegistryError(
                        f"{archive}: refused: entry {member.filename!r} {problem}",
                        "a module package holds plain files and folders below its root;"
                        " nothing was registered",
                    )
            dest.mkdir(parents=True)
            for member in members:
                _extract(package, member, dest)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise RegistryError(f"{archive}: not a readable zip package ({exc})") from None
    except (FileExistsError, IsADirectoryError, NotADirectoryError) as exc:
        raise RegistryError(
            f"{archive}: malformed package: {exc.filename} is both a file and a folder"
        ) from None


def _unsafe(member: zipfile.ZipInfo) -> str | None:
    name = member.filename.replace("\\", "/")
    if "\x00" in name:
        return "holds a NUL byte"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "is an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "climbs out of the package with '..'"
    mode = member.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "is a symlink"
    if mode and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) and stat.S_IFMT(mode):
        return "is not a plain file or folder"
    return None


def _extract(package: zipfile.ZipFile, member: zipfile.ZipInfo, dest: Path) -> None:
    target = dest / PurePosixPath(member.filename.replace("\\", "/"))
    if member.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    executable = bool((member.external_attr >> 16) & 0o111)
    with package.open(member) as source, open(target, "xb") as sink:
        shutil.copyfileobj(source, sink, _COPY_CHUNK)
    target.chmod(0o755 if executable else 0o644)


# ---- git ----------------------------------------------------------------------------------


def clone_repository(url: str, ref: str | None, dest: Path) -> str:
    """Clone `url` into `dest` and check out `ref` (default: the remote's HEAD); returns the
    commit checked out."""
    given = url.removeprefix("git+")
    source = given if _URL.match(given) else str(Path(given).expanduser().absolute())
    if ref is not None and (not ref.strip() or ref.startswith("-")):
        raise RegistryError(f"--ref {ref!r}: give a branch, a tag or a commit")
    lazy = ["--no-checkout"] if ref is not None else []
    _git(["clone", "--quiet", *lazy, "--", source, str(dest)], f"cannot clone {url}")
    if ref is not None:
        _git(["-C", str(dest), "checkout", "--quiet", ref], f"cannot check out {ref} of {url}")
    return _git(["-C", str(dest), "rev-parse", "HEAD"], f"cannot read the commit of {url}").strip()


def _git(args: list[str], failure: str) -> str:
    git = shutil.which("git")
    if git is None:
        raise RegistryError(f"{failure}: git is not installed", "install git, or give a folder")
    env = {
        **{k: v for k, v in os.environ.items() if k not in GIT_REPOSITORY_VARIABLES},
        "GIT_TERMINAL_PROMPT": "0",  # never wait for a password nobody will type
        "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
        "LC_ALL": "C",
    }
    try:
        done = subprocess.run(
            [git, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RegistryError(f"{failure}: git took more than {_GIT_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0:
        said = " ".join(line.strip() for line in done.stderr.strip().splitlines()[-3:])
        raise RegistryError(f"{failure}: {said or f'git exited with {done.returncode}'}")
    return done.stdout
