"""The entry a command runs must be in the code snapshot: checked when the spec loads, so that a
spec whose script folder lacks it fails validation rather than the step.

What is checked (the rest is left to the run): `python [options] SCRIPT` (also `python3`,
`python3.11`, a path to one) with a relative SCRIPT; `python -m PKG.MOD` when PKG itself is in
the snapshot (an installed package is the environment's business); an invoker chain
(`python invoker.py python main.py`: both); a leading `cd DIR &&`; a parallel job's entry
script. The snapshot is the code folder (or single code file) plus the additional includes,
each at the root under its own name (spec reference, section 4); ignore files are not applied
here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from runner.spec.model import CodeSpec
from runner.spec.source import Node
from runner.template.model import Literal, Part, Token

_PYTHON = r"(?:.*/)?python(?:\d+(?:\.\d+)?)?"  # compiled by `re` on first use
# Interpreter options that take the next word as their argument.
_OPTION_WITH_VALUE = ("-W", "-X", "--check-hash-based-pycs")
_COMMAND_SEPARATORS = ("&&", ";")


def check_command_entry(node: Node, parts: Sequence[Part], code: CodeSpec | None) -> None:
    """The entry of the command at `node` (parsed into `parts`) is in the snapshot."""
    if code is None:
        return
    words = _leading_literals(parts)
    folder = ""
    if len(words) >= 3 and words[0] == "cd" and words[2] in _COMMAND_SEPARATORS:
        folder, words = words[1], words[3:]
    while words and re.fullmatch(_PYTHON, words[0]):
        target, is_module, rest = _python_target(words[1:])
        if target is None:
            return
        if is_module:
            _check_module(node, target, code, folder)
            return
        check_script(node, _join(folder, target), code, "entry script")
        words = rest


def check_script(node: Node, written: str, code: CodeSpec, what: str) -> None:
    """`written` (relative to the snapshot root) names a file of the snapshot."""
    if not written or PurePosixPath(written).is_absolute() or "$" in written:
        return
    if _find(code, written) is None:
        raise node.error(
            f"{what} {written!r} is not in the code snapshot (looked for {_looked(code, written)})",
            "the command runs in the snapshot: fix the path, the code folder or the includes",
        )


def _leading_literals(parts: Sequence[Part]) -> list[str]:
    """The command's words up to the first one holding a placeholder or an optional group."""
    words: list[str] = []
    for part in parts:
        if not isinstance(part, Token) or not all(isinstance(s, Literal) for s in part.segments):
            break
        words.append("".join(s.text for s in part.segments if isinstance(s, Literal)))
    return words


def _python_target(words: Sequence[str]) -> tuple[str | None, bool, list[str]]:
    """(script or module, is a module, the words after it) of `python OPTIONS ...`."""
    i = 0
    while i < len(words):
        word = words[i]
        if word == "-m":
            return (words[i + 1], True, []) if i + 1 < len(words) else (None, False, [])
        if word.startswith("-m") and len(word) > 2:
            return word[2:], True, []
        if word in ("-c", "-") or word.startswith("-c"):
            return None, False, []  # a program given inline, or read from stdin
        if word in _OPTION_WITH_VALUE:
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        return word, False, list(words[i + 1 :])
    return None, False, []


def _check_module(node: Node, dotted: str, code: CodeSpec, folder: str) -> None:
    names = dotted.split(".")
    if not all(name.isidentifier() for name in names):
        return
    top = _join(folder, names[0])
    if _find(code, top) is None and _find(code, top + ".py") is None:
        return  # not a package of the snapshot: installed in the environment
    path = _join(folder, "/".join(names))
    candidates = (f"{path}.py", f"{path}/__init__.py", f"{path}/__main__.py")
    if any(_find(code, candidate) is not None for candidate in candidates):
        return
    raise node.error(
        f"module {dotted!r} is not in the code snapshot (looked for"
        f" {' or '.join(_looked(code, c) for c in candidates[:2])})",
        f"the package {names[0]!r} is in the snapshot but has no {'.'.join(names[1:]) or 'main'}",
    )


def _join(folder: str, relative: str) -> str:
    return os.path.normpath(PurePosixPath(folder, relative)) if folder else relative


def _find(code: CodeSpec, relative: str) -> Path | None:
    """Where the snapshot's `relative` comes from, if anywhere."""
    parts = PurePosixPath(os.path.normpath(relative)).parts
    if not parts or parts[0] == "..":
        return None
    if code.is_single_file:
        if relative == code.base.name:
            return code.base
    elif os.path.lexists(code.base / relative):
        return code.base / relative
    for include in code.includes:
        source = code.spec_dir / include.path
        if include_name(code, include.path) == parts[0]:
            found = source.joinpath(*parts[1:])
            if os.path.lexists(found):
                return found
    return None


def include_name(code: CodeSpec, written: str) -> str:
    """Where an include lands at the snapshot root: its basename as written, or the resolved
    folder's name for a path ending in `..` or `.` (section 4)."""
    last = PurePosixPath(written).name
    if last and last != "..":
        return last
    return Path(os.path.realpath(code.spec_dir / written)).name


def _looked(code: CodeSpec, relative: str) -> str:
    places = [f"the code file {code.base}" if code.is_single_file else str(code.base / relative)]
    top = PurePosixPath(relative).parts[0]
    for include in code.includes:
        if include_name(code, include.path) == top:
            places.append(str(code.spec_dir / include.path / relative[len(top) + 1 :]))
    return " or ".join(places)
