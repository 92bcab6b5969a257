"""Starts a module's python command under debugpy, listening and waiting for the IDE.

Standalone (copied into the run folder's internal files, mounted read-only in a container): it
imports nothing of runner, and debugpy from runner's own copy that runner put on PYTHONPATH.
It is run as `python [interpreter flags] debug_start.py TARGET...`, where TARGET is what
followed the interpreter in the module's command (`script.py ARGS`, `-m module ARGS`,
`-c CODE ARGS`).

Runner tells it, through the environment:
- RUNNER_DEBUG_LISTEN  `HOST:PORT` for debugpy to listen on
- RUNNER_DEBUG_MAPS    JSON list of [source folder, folder as run] pairs: the run executes a
                       snapshot copy (or a container's mount of it), and these are given to the
                       debug server so that a plain attach binds breakpoints in the source
                       files; mappings an IDE sends are used after them, never instead
- RUNNER_DEBUG_CLAIM   a file only the first python process of the run may create: that one
                       is debugged (the port is one), the others (`python` again in a shell
                       script, mpiexec's ranks) run as they would without a debugger
"""

from __future__ import annotations

import json
import os
import sys

# Options the interpreter takes before its target: those with a value, and the bare ones.
_WITH_VALUE = {"-X", "-W", "--check-hash-based-pycs"}
_BARE = set("bBdEhiIOPqsSuvVx")


def _split(args: list[str]) -> tuple[list[str], list[str]]:
    """(interpreter flags, target words): the flags before the script, -m or -c."""
    flags: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        if word in _WITH_VALUE and index + 1 < len(args):
            flags += [word, args[index + 1]]
            index += 2
        elif _is_flag(word):
            flags.append(word)
            index += 1
        else:
            break
    return flags, args[index:]


def _is_flag(word: str) -> bool:
    """-u, -uB, -Xdev, -Wignore: a flag that stands alone."""
    if word[:2] in ("-X", "-W"):
        return len(word) > 2
    return word.startswith("-") and len(word) > 1 and set(word[1:]) <= _BARE


def _claimed(path: str) -> bool:
    if not path:
        return True
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    except OSError:
        return True  # nowhere to record it: this process is the one (a single python)
    return True


def _mapped_first(maps: list[tuple[str, ...]]) -> None:
    """The debug server uses runner's mappings first, then any the IDE sends (an IDE that maps
    its workspace onto itself would otherwise undo them)."""
    import pydevd_file_utils  # type: ignore[import-not-found]  # debugpy's vendored pydevd

    original = pydevd_file_utils.setup_client_server_paths

    def setup(paths: list[tuple[str, str]]) -> None:
        original([*maps, *(tuple(pair) for pair in paths if tuple(pair) not in maps)])

    pydevd_file_utils.setup_client_server_paths = setup
    setup([])


def main() -> None:
    del sys.path[0]  # runner's internal folder (this file's): not the module's to import from
    flags, target = _split(sys.argv[1:])
    environ = os.environ
    listen = environ.pop("RUNNER_DEBUG_LISTEN", "")
    maps = [tuple(pair) for pair in json.loads(environ.pop("RUNNER_DEBUG_MAPS", "[]"))]
    claim = environ.pop("RUNNER_DEBUG_CLAIM", "")
    plain = [sys.executable, *flags, *target]
    if not listen or not target or target[0] == "-" or not _claimed(claim):
        os.execv(sys.executable, plain)  # not the debugged process: run as without runner
    if flags:
        # Interpreter flags must reach the interpreter: start again with them, still debugged.
        environ.update(RUNNER_DEBUG_LISTEN=listen, RUNNER_DEBUG_MAPS=json.dumps(maps))
        os.execv(sys.executable, [sys.executable, *flags, __file__, *target])
    import debugpy.server  # noqa: F401  (puts the vendored pydevd on sys.path)
    from debugpy.server import cli

    _mapped_first(maps)
    sys.argv = ["debugpy", "--listen", listen, "--wait-for-client", *target]
    cli.main()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
