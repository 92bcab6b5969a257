"""Starts a module's python command under debugpy, listening and waiting for the IDE.

Standalone (copied into the run folder's internal files, mounted read-only in a container): it
imports nothing of runner, and debugpy from runner's own copy that runner put on PYTHONPATH.
It is run as `python [interpreter flags] debug_start.py TARGET...`, where TARGET is what
followed the interpreter in the module's command (`script.py ARGS`, `-m module ARGS`,
`-c CODE ARGS`). With RUNNER_DEBUG_PDB=1 instead of an address (`runner run --pdb`), the
target runs without debugpy, and an exception it raises opens post-mortem pdb.

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


def _post_mortem(target: list[str]) -> None:
    """Run the target as python would; if it raises, pdb where it raised, then exit 1."""
    import pdb
    import runpy
    import traceback

    try:
        if target[0] == "-m":
            sys.argv = target[1:]
            runpy.run_module(target[1], run_name="__main__", alter_sys=True)
        elif target[0] == "-c":
            sys.argv = ["-c", *target[2:]]
            sys.path.insert(0, "")
            exec(compile(target[1], "<string>", "exec"), {"__name__": "__main__"})
        else:
            sys.argv = target
            sys.path.insert(0, os.path.dirname(os.path.abspath(target[0])))  # noqa: PTH100,PTH120
            runpy.run_path(target[0], run_name="__main__")
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        print("runner: post-mortem pdb (`c` or `q` to end the run)", file=sys.stderr, flush=True)
        pdb.post_mortem(sys.exc_info()[2])
        sys.exit(1)


def main() -> None:
    del sys.path[0]  # runner's internal folder (this file's): not the module's to import from
    flags, target = _split(sys.argv[1:])
    environ = os.environ
    listen = environ.pop("RUNNER_DEBUG_LISTEN", "")
    post_mortem = environ.pop("RUNNER_DEBUG_PDB", "") == "1"
    maps = [tuple(pair) for pair in json.loads(environ.pop("RUNNER_DEBUG_MAPS", "[]"))]
    claim = environ.pop("RUNNER_DEBUG_CLAIM", "")
    plain = [sys.executable, *flags, *target]
    wanted = listen or post_mortem
    if not wanted or not target or target[0] == "-" or not _claimed(claim):
        os.execv(sys.executable, plain)  # not the debugged process: run as without runner
    if flags:
        # Interpreter flags must reach the interpreter: start again with them, still debugged.
        environ.update(RUNNER_DEBUG_LISTEN=listen, RUNNER_DEBUG_MAPS=json.dumps(maps))
        environ.update(RUNNER_DEBUG_PDB="1" if post_mortem else "")
        os.execv(sys.executable, [sys.executable, *flags, __file__, *target])
    if not listen:
        _post_mortem(target)
        return
    import debugpy.server  # noqa: F401  (puts the vendored pydevd on sys.path)
    from debugpy.server import cli

    _mapped_first(maps)
    sys.argv = ["debugpy", "--listen", listen, "--wait-for-client", *target]
    cli.main()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
