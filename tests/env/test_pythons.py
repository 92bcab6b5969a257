"""Interpreter discovery (memoised) and the python pin policy."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.env import pythons
from runner.env.pythons import (
    Interpreter,
    current_interpreter,
    find_interpreters,
    interpreter_at,
    select_python,
)
from runner.errors import EnvironmentBuildError


def fake(version: str, path: str | None = None, implementation: str = "CPython") -> Interpreter:
    major, minor, patch = (int(part) for part in version.split("."))
    return Interpreter(
        path or f"/opt/py/{version}/bin/python3", (major, minor, patch), implementation
    )


POOL = [fake(v) for v in ("3.6.15", "3.8.18", "3.9.18", "3.10.12", "3.10.13", "3.12.1")]
CURRENT = fake("3.11.7", "/usr/bin/python3.11")


def choose(requested: str | None, strict: bool = False) -> tuple[str, str | None]:
    interpreter, note = select_python(requested, strict, interpreters=POOL, current=CURRENT)
    return interpreter.version_text, note


# ---- the pin policy, on a known set of interpreters ---------------------------------------


def test_no_pin_is_the_running_interpreter() -> None:
    assert choose(None) == ("3.11.7", None)
    assert choose("  ") == ("3.11.7", None)


@pytest.mark.parametrize("pin", ["3.10", "=3.10", "==3.10", "3.10.*", "==3.10.*"])
def test_series_takes_the_highest_patch(pin: str) -> None:
    assert choose(pin) == ("3.10.13", None)


def test_series_absent_takes_the_closest_newer_with_a_note() -> None:
    assert choose("3.7") == (
        "3.8.18",
        "python 3.7 requested, using 3.8.18 (closest newer; --strict-python to refuse)",
    )
    assert choose("3.5")[0] == "3.6.15"
    assert choose("3.11") == ("3.11.7", None)  # the running interpreter is a candidate too


def test_strict_refuses_and_lists_what_exists() -> None:
    with pytest.raises(EnvironmentBuildError) as caught:
        choose("3.7", strict=True)
    assert caught.value.message == (
        "python 3.7 requested and --strict-python is set, but no local interpreter matches; "
        "found: 3.6.15, 3.8.18, 3.9.18, 3.10.12, 3.10.13, 3.11.7, 3.12.1"
    )
    assert caught.value.hint is not None
    assert "pyenv install 3.7" in caught.value.hint
    assert "3.8.18" in caught.value.hint
    assert choose("3.10", strict=True) == ("3.10.13", None)


def test_nothing_newer_is_an_error_even_without_strict() -> None:
    with pytest.raises(EnvironmentBuildError, match=r"python 3\.13 requested, but no local"):
        choose("3.13")
    with pytest.raises(EnvironmentBuildError, match=r"newer within python 2; found: 3\.6\.15"):
        choose("2.7")


def test_exact_version() -> None:
    assert choose("3.10.12") == ("3.10.12", None)
    assert choose("==3.10.12") == ("3.10.12", None)
    assert choose("3.10.4") == (
        "3.10.13",
        "python 3.10.4 requested, using 3.10.13 (same minor version; --strict-python to refuse)",
    )
    assert choose("3.7.1")[0] == "3.8.18"
    with pytest.raises(EnvironmentBuildError, match="--strict-python is set"):
        choose("3.10.4", strict=True)


@pytest.mark.parametrize(
    ("pin", "version"),
    [
        (">=3.9", "3.11.7"),  # the running interpreter satisfies it
        ("3.*", "3.11.7"),
        ("~=3.8", "3.11.7"),
        ("<3.10", "3.9.18"),  # else the highest that does
        (">=3.9,<3.11", "3.10.13"),
        ("!=3.11.7", "3.12.1"),
        (">3.11.7", "3.12.1"),
    ],
)
def test_ranges(pin: str, version: str) -> None:
    assert choose(pin) == (version, None)
    assert choose(pin, strict=True) == (version, None)


def test_range_with_no_match() -> None:
    with pytest.raises(EnvironmentBuildError) as caught:
        choose(">=3.13")
    assert caught.value.message == (
        "python >=3.13 requested, but no local interpreter satisfies it; "
        "found: 3.6.15, 3.8.18, 3.9.18, 3.10.12, 3.10.13, 3.11.7, 3.12.1"
    )
    assert caught.value.hint is not None
    assert "install a python matching >=3.13" in caught.value.hint


def test_unreadable_pin() -> None:
    with pytest.raises(EnvironmentBuildError, match="cannot understand the python version 'py3'"):
        choose("py3")


def test_only_cpython_for_a_pin() -> None:
    pool = [fake("3.10.14", implementation="PyPy"), fake("3.12.1")]
    interpreter, note = select_python("3.10", False, interpreters=pool, current=CURRENT)
    assert interpreter.version_text == "3.11.7"
    assert note is not None


# ---- the real interpreters on this machine ------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> list[Interpreter]:
    return find_interpreters(tmp_path_factory.mktemp("memo"))


def test_discovery_finds_working_interpreters(real: list[Interpreter]) -> None:
    assert real == sorted(real, key=lambda interpreter: interpreter.version)
    assert len({i.path for i in real}) == len(real)
    running = current_interpreter().version
    assert running in {i.version for i in real}
    sample = real[0]
    done = subprocess.run(
        [sample.path, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == sample.version_text
    assert all(Path(i.path).is_file() and os.path.realpath(i.path) == i.path for i in real)


def test_real_exact_series(real: list[Interpreter]) -> None:
    if not any(i.version[:2] == (3, 10) for i in real):
        pytest.skip("no python 3.10 here")
    interpreter, note = select_python("3.10", False, interpreters=real)
    assert interpreter.version[:2] == (3, 10)
    assert interpreter.version == max(i.version for i in real if i.version[:2] == (3, 10))
    assert note is None


def test_real_closest_newer_and_strict(real: list[Interpreter]) -> None:
    lowest = real[0]
    older = f"3.{lowest.version[1] - 1}"
    interpreter, note = select_python(older, False, interpreters=real)
    assert interpreter.version[:2] == lowest.version[:2]
    assert note == (
        f"python {older} requested, using {interpreter.version_text} "
        "(closest newer; --strict-python to refuse)"
    )
    with pytest.raises(EnvironmentBuildError) as caught:
        select_python(older, True, interpreters=real)
    for i in real:
        assert i.version_text in caught.value.message


def test_real_nothing_newer(real: list[Interpreter]) -> None:
    beyond = f"3.{max(i.version[1] for i in real) + 1}"
    with pytest.raises(EnvironmentBuildError, match="no local interpreter matches"):
        select_python(beyond, False, interpreters=real)


def test_interpreter_at_a_command_name(tmp_path: Path) -> None:
    interpreter = interpreter_at(sys.executable, tmp_path)
    assert interpreter.version == current_interpreter().version
    with pytest.raises(EnvironmentBuildError, match="cannot use no-such-python"):
        interpreter_at("no-such-python", tmp_path)


# ---- the memo -----------------------------------------------------------------------------


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def isolated(tmp_path: Path) -> dict[str, str]:
    """An environment whose only candidates are the fake interpreters in tmp_path/bin (plus
    /usr/bin and /usr/local/bin, which are always searched)."""
    return {
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{tmp_path / 'shims'}",
        "HOME": str(tmp_path / "home"),
        "PYENV_ROOT": str(tmp_path / "pyenv"),
    }


def test_memo_starts_no_process_until_a_binary_changes(
    tmp_path: Path, isolated: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = tmp_path / "calls"
    fake_python = script(tmp_path / "bin" / "python3.42", f"echo x >> {calls}; echo CPython 3 42 1")
    memo = tmp_path / "memo"
    first = find_interpreters(memo, isolated)
    assert fake("3.42.1", str(fake_python)) in first
    assert calls.read_text().count("x") == 1

    def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process was started")

    written = (memo / pythons.MEMO_NAME).stat().st_mtime_ns
    with monkeypatch.context() as patch:
        patch.setattr(subprocess, "Popen", no_process)
        assert find_interpreters(memo, isolated) == first
    assert (memo / pythons.MEMO_NAME).stat().st_mtime_ns == written  # nothing new to remember

    script(fake_python, f"echo x >> {calls}; echo CPython 3 42 2  # rebuilt")
    again = find_interpreters(memo, isolated)
    assert fake("3.42.2", str(fake_python)) in again
    assert calls.read_text().count("x") == 2


def test_a_new_interpreter_is_noticed(tmp_path: Path, isolated: dict[str, str]) -> None:
    memo = tmp_path / "memo"
    script(tmp_path / "bin" / "python3.46", "echo CPython 3 46 0")
    assert (3, 47, 0) not in {i.version for i in find_interpreters(memo, isolated)}
    time.sleep(0.01)  # a new folder mtime, even on coarse-grained file systems
    script(tmp_path / "pyenv" / "versions" / "3.47.0" / "bin" / "python3.47", "echo CPython 3 47 0")
    script(tmp_path / "bin" / "python3.48", "echo CPython 3 48 0")
    found = {i.version for i in find_interpreters(memo, isolated)}
    assert {(3, 46, 0), (3, 47, 0), (3, 48, 0)} <= found


def test_broken_candidates_and_shims_are_skipped(tmp_path: Path, isolated: dict[str, str]) -> None:
    calls = tmp_path / "calls"
    script(tmp_path / "bin" / "python3.41", f"echo x >> {calls}; exit 127")
    script(tmp_path / "shims" / "python3.43", "echo CPython 3 43 0")
    memo = tmp_path / "memo"
    found = {i.version for i in find_interpreters(memo, isolated)}
    assert (3, 41, 0) not in found
    assert (3, 43, 0) not in found
    find_interpreters(memo, isolated)
    assert calls.read_text().count("x") == 1  # a failure is remembered too


def test_pyenv_versions_and_symlinks_are_found_once(
    tmp_path: Path, isolated: dict[str, str]
) -> None:
    real = script(
        tmp_path / "pyenv" / "versions" / "3.44.0" / "bin" / "python3.44", "echo CPython 3 44 0"
    )
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python3").symlink_to(real)
    found = [i for i in find_interpreters(tmp_path / "memo", isolated) if i.version == (3, 44, 0)]
    assert found == [fake("3.44.0", str(real))]


def test_a_damaged_memo_is_rebuilt(tmp_path: Path, isolated: dict[str, str]) -> None:
    script(tmp_path / "bin" / "python3.45", "echo CPython 3 45 0")
    memo = tmp_path / "memo"
    memo.mkdir()
    (memo / pythons.MEMO_NAME).write_text("{not json", encoding="utf-8")
    assert (3, 45, 0) in {i.version for i in find_interpreters(memo, isolated)}
