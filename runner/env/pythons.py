"""Local Python interpreters, and which one an environment's python pin selects.

Discovery looks in PATH, in pyenv's versions (`$PYENV_ROOT`, default `~/.pyenv`), in uv's
managed interpreters (found by their folder, without starting uv), in /usr/local/bin and in
/usr/bin, for `python3`, `python3.N`, `pypy3` and `pypy3.N`. Learning an interpreter's exact
version means starting it; the answer is remembered in the store's memo folder, keyed by the
binary's real path, size and mtime, so a later discovery only lists folders and stats files.

Version-manager shims (a PATH folder named `shims`: pyenv, asdf) are skipped: the interpreter a
shim starts depends on the current folder and the manager's settings, not on the shim file, so
no memo keyed by the file can be trusted, and the interpreters behind them are found where they
live anyway.

The pin policy (`select_python`), for a pin written as a PEP 440 specifier (a conda
`python=3.10` arrives as `==3.10.*`, see translate.py):

- no pin: the interpreter running runner (or the one given with --python).
- a minor series (`3.10`, `=3.10`, `==3.10`, `3.10.*`): the highest patch of 3.10 found; if there
  is none, the closest newer minor of the same major (3.11, else 3.12, ...) with a note, unless
  strict. A two-part `==3.10` is read as the series, since no interpreter is ever "3.10.0" by
  intent.
- an exact version (`3.10.4`, `==3.10.4`): that version; else, unless strict, the highest patch
  of the same minor, else the closest newer minor, with a note.
- anything else (`>=3.9`, `>=3.9,<3.12`, `3.*`, `~=3.9`): the running interpreter when it
  satisfies the range, else the highest interpreter that does. Nothing newer is substituted:
  a range already says what is acceptable, so strict changes nothing here.

Only CPython interpreters are candidates for a pin (conda's `python` is CPython).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import stat
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from runner.errors import EnvironmentBuildError
from runner.files import write_json_atomic
from runner.struct import Struct

MEMO_NAME = "pythons.json"
_NAMES = re.compile(r"(?:python|pypy)3(?:\.\d+)?")
_PROBE = (
    "import platform, sys; sys.stdout.write('%s %d %d %d' % "
    "((platform.python_implementation(),) + tuple(sys.version_info[:3])))"
)

Version = tuple[int, int, int]


class Interpreter(Struct):
    path: str
    version: Version
    implementation: str = "CPython"

    @property
    def version_text(self) -> str:
        return ".".join(str(part) for part in self.version)

    def __str__(self) -> str:
        return f"{self.implementation} {self.version_text} ({self.path})"


def current_interpreter() -> Interpreter:
    """The interpreter running runner, known without starting anything."""
    info = sys.version_info
    return Interpreter(
        sys.executable, (info.major, info.minor, info.micro), platform.python_implementation()
    )


def find_interpreters(
    memo_dir: Path | None, environ: Mapping[str, str] | None = None
) -> list[Interpreter]:
    """Every working interpreter found, one per real binary, sorted by version."""
    env = os.environ if environ is None else environ
    memo = _Memo(None if memo_dir is None else memo_dir / MEMO_NAME)
    found: dict[str, Interpreter] = {}
    for real in _candidates(env, memo):
        if real not in found:
            interpreter = memo.identify(real, env)
            if interpreter is not None:
                found[real] = interpreter
    memo.save()
    return sorted(found.values(), key=lambda interpreter: interpreter.version)


def interpreter_at(command: str, memo_dir: Path | None) -> Interpreter:
    """The interpreter a path or command name (`--python python3.10`) designates."""
    located = shutil.which(command) if os.sep not in command else command
    memo = _Memo(None if memo_dir is None else memo_dir / MEMO_NAME)
    interpreter = None if located is None else memo.identify(os.path.realpath(located), os.environ)
    memo.save()
    if interpreter is None:
        raise EnvironmentBuildError(
            f"cannot use {command} as a python interpreter: not found or not runnable",
            "give the path of a python 3 interpreter, or leave --python out",
        )
    return interpreter


def select_python(
    requested: str | None,
    strict: bool,
    *,
    interpreters: Sequence[Interpreter] | None = None,
    memo_dir: Path | None = None,
    current: Interpreter | None = None,
) -> tuple[Interpreter, str | None]:
    """The interpreter for a python pin, and a note when it is not an exact match (see the
    module docstring for the policy). `interpreters` defaults to `find_interpreters(memo_dir)`,
    `current` to the interpreter running runner."""
    current = current_interpreter() if current is None else current
    if requested is None or not requested.strip():
        return current, None
    pin = Pin.parse(requested)
    if interpreters is None:
        interpreters = find_interpreters(memo_dir)
    pool = [i for i in interpreters if i.implementation == "CPython"]
    if current.implementation == "CPython" and current.version not in {i.version for i in pool}:
        pool.append(current)
    pool.sort(key=lambda interpreter: interpreter.version)
    if pin.series is None:
        return _in_range(pin, pool, current), None
    return _nearest(pin, pool, strict)


class Clause(Struct):
    operator: str  # ==, !=, >=, <=, >, <, ~=, ===
    release: tuple[int, ...]
    prefix: bool  # `==3.10.*`, or a two-part `==3.10` (the series)

    def admits(self, version: Version) -> bool:
        if self.prefix or (self.operator == "==" and len(self.release) < 3):
            same = version[: len(self.release)] == self.release
            return same if self.operator in ("==", "===") else not same
        target = (*self.release, 0, 0)[:3]
        if self.operator in ("==", "==="):
            return version == target
        if self.operator == "~=":
            head = self.release[:-1]
            return version >= target and version[: len(head)] == head
        return {
            "!=": version != target,
            ">=": version >= target,
            "<=": version <= target,
            ">": version > target,
            "<": version < target,
        }[self.operator]


_CLAUSE = re.compile(r"(===|==|!=|~=|>=|<=|>|<|=)?(\d+(?:\.\d+){0,2})(\.\*|\*)?")


class Pin(Struct):
    text: str
    clauses: tuple[Clause, ...]

    @classmethod
    def parse(cls, text: str) -> Pin:
        clauses = []
        for raw in re.sub(r"\s+", "", text).split(","):
            match = _CLAUSE.fullmatch(raw)
            if match is None:
                raise EnvironmentBuildError(
                    f"cannot understand the python version '{text}'",
                    "write it as 3.10, 3.10.4, >=3.9 or >=3.9,<3.12",
                )
            operator, release, star = match.groups()
            operator = "==" if operator in (None, "=") else operator
            parts = tuple(int(part) for part in release.split("."))
            clauses.append(Clause(operator, parts, star is not None))
        return cls(text.strip(), tuple(clauses))

    @property
    def series(self) -> tuple[int, ...] | None:
        """(X, Y) for a minor series, (X, Y, Z) for an exact version, None for a range."""
        if len(self.clauses) != 1:
            return None
        clause = self.clauses[0]
        if clause.operator not in ("==", "===") or len(clause.release) < 2:
            return None
        return clause.release

    def __str__(self) -> str:
        return self.text if self.series is None else ".".join(map(str, self.series))

    def admits(self, version: Version) -> bool:
        return all(clause.admits(version) for clause in self.clauses)


def _nearest(pin: Pin, pool: list[Interpreter], strict: bool) -> tuple[Interpreter, str | None]:
    series = pin.series
    assert series is not None
    exact = [i for i in pool if i.version[: len(series)] == series]
    if exact:
        return exact[-1], None
    same_minor = [i for i in pool if i.version[:2] == series[:2]]
    newer_minor = [i for i in pool if i.version[0] == series[0] and i.version[1] > series[1]]
    if same_minor:
        chosen, why = same_minor[-1], "same minor version"
    elif newer_minor:
        minor = newer_minor[0].version[1]
        chosen = [i for i in newer_minor if i.version[1] == minor][-1]
        why = "closest newer"
    else:
        raise _no_match(pin, pool, None)
    if strict:
        raise _no_match(pin, pool, chosen)
    note = f"python {pin} requested, using {chosen.version_text} ({why}; --strict-python to refuse)"
    return chosen, note


def _in_range(pin: Pin, pool: list[Interpreter], current: Interpreter) -> Interpreter:
    if current.implementation == "CPython" and pin.admits(current.version):
        return current
    admitted = [i for i in pool if pin.admits(i.version)]
    if not admitted:
        raise _no_match(pin, pool, None)
    return admitted[-1]


def _no_match(pin: Pin, pool: list[Interpreter], closest: Interpreter | None) -> Exception:
    found = ", ".join(dict.fromkeys(i.version_text for i in pool)) or "none"
    install = "run the module with --env conda or --env docker"
    if pin.series is None:
        return EnvironmentBuildError(
            f"python {pin} requested, but no local interpreter satisfies it; found: {found}",
            f"install a python matching {pin} (pyenv, your system's packages), or {install}",
        )
    wanted = ".".join(map(str, pin.series[:2]))
    how = f"install python {wanted} (for example `pyenv install {wanted}`)"
    if closest is not None:
        return EnvironmentBuildError(
            f"python {pin} requested and --strict-python is set, but no local interpreter "
            f"matches; found: {found}",
            f"{how}, or leave out --strict-python to use {closest.version_text}",
        )
    return EnvironmentBuildError(
        f"python {pin} requested, but no local interpreter matches it or is newer within "
        f"python {pin.series[0]}; found: {found}",
        f"{how}, or {install}",
    )


# ---- discovery ----------------------------------------------------------------------------


def _candidates(environ: Mapping[str, str], memo: _Memo) -> Iterator[str]:
    """The real paths of every interpreter-like file, in search order."""
    home = Path(environ.get("HOME") or Path.home())
    folders = [p for p in environ.get("PATH", "").split(os.pathsep) if p]
    folders = [folder for folder in folders if Path(folder).name != "shims"]
    pyenv = Path(environ.get("PYENV_ROOT") or home / ".pyenv") / "versions"
    data = Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    uv_managed = Path(environ.get("UV_PYTHON_INSTALL_DIR") or data / "uv" / "python")
    for root in (pyenv, uv_managed):
        folders.extend(f"{root}/{version}/bin" for version in memo.subfolders(str(root)))
    folders += ["/usr/local/bin", "/usr/bin"]
    for folder in dict.fromkeys(folders):
        yield from memo.interpreters_in(folder)


class _Memo:
    """One small JSON file. `interpreters`: real path -> size, mtime, implementation, version.
    `folders`: the interpreter-like names in each folder searched, with their real paths, and
    `roots`: the version folders of pyenv and uv, both valid while the folder's mtime is
    unchanged (adding, removing or re-pointing a name changes it). Listing /usr/bin and
    resolving symlinks cost more than everything else on a warm run."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._entries: dict[str, dict[str, object]] = {}
        self._folders: dict[str, dict[str, object]] = {}
        self._roots: dict[str, dict[str, object]] = {}
        self._dirty = False
        if path is not None:
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                self._entries = dict(loaded["interpreters"])
                self._folders = dict(loaded["folders"])
                self._roots = dict(loaded["roots"])
            except (OSError, ValueError, KeyError, TypeError):
                pass

    def _listed(self, table: dict[str, dict[str, object]], folder: str) -> tuple[int, object]:
        """The folder's mtime (-1 when it cannot be read) and what is remembered for it."""
        try:
            mtime = Path(folder).stat().st_mtime_ns
        except OSError:
            return -1, None
        entry = table.get(folder)
        if entry and entry.get("mtime") == mtime:
            return mtime, entry.get("names")
        return mtime, None

    def subfolders(self, root: str) -> list[str]:
        mtime, names = self._listed(self._roots, root)
        if isinstance(names, list):
            return [str(name) for name in names]
        if mtime < 0:
            return []
        try:
            with os.scandir(root) as entries:
                found = sorted(entry.name for entry in entries if entry.is_dir())
        except OSError:
            return []
        self._roots[root] = {"mtime": mtime, "names": found}
        self._dirty = True
        return found

    def interpreters_in(self, folder: str) -> list[str]:
        mtime, names = self._listed(self._folders, folder)
        if isinstance(names, dict):
            return [str(real) for real in names.values()]
        if mtime < 0:
            return []
        try:
            with os.scandir(folder) as entries:
                matching = sorted(entry.name for entry in entries if _NAMES.fullmatch(entry.name))
        except OSError:
            return []
        # versioned names first, so that a folder's python3 -> python3.11 is known by the latter
        matching.sort(key=lambda name: "." not in name)
        resolved = {name: os.path.realpath(f"{folder}/{name}") for name in matching}
        self._folders[folder] = {"mtime": mtime, "names": resolved}
        self._dirty = True
        return list(resolved.values())

    def identify(self, real: str, environ: Mapping[str, str]) -> Interpreter | None:
        try:
            info = Path(real).stat()
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode) or not info.st_mode & 0o111:
            return None
        entry = self._entries.get(real)
        if not (entry and entry["size"] == info.st_size and entry["mtime"] == info.st_mtime_ns):
            entry = {"size": info.st_size, "mtime": info.st_mtime_ns, **_probe(real, environ)}
            self._entries[real] = entry
            self._dirty = True
        version = entry.get("version")
        if not isinstance(version, list) or len(version) != 3:
            return None  # it did not run: remembered too, so it is not started again
        return Interpreter(real, (version[0], version[1], version[2]), str(entry["implementation"]))

    def save(self) -> None:
        if self._path is None or not self._dirty:
            return
        memo = {"interpreters": self._entries, "folders": self._folders, "roots": self._roots}
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self._path, memo)
        except OSError:
            pass  # only an optimisation: a read-only store costs probes, not correctness
        self._dirty = False


def _probe(real: str, environ: Mapping[str, str]) -> dict[str, object]:
    import subprocess  # here, not at the top: about 3 ms, and the memo usually answers

    try:
        done = subprocess.run(
            [real, "-E", "-S", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=20,
            env=dict(environ),
            cwd="/",  # with -c, the current folder is on sys.path: keep strangers' modules off
            stdin=subprocess.DEVNULL,
        )
        implementation, *numbers = done.stdout.split()
        version = [int(number) for number in numbers]
    except (OSError, ValueError, subprocess.SubprocessError):
        return {"version": None}
    if done.returncode != 0 or len(version) != 3:
        return {"version": None}
    return {"implementation": implementation, "version": version}
