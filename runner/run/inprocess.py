"""A python-script module run inside the calling interpreter (`in_process=True`, `--in-process`),
so that a breakpoint set in an IDE or a notebook hits directly.

Everything a real run sets is set for the duration and put back afterwards: `sys.argv`, the
working directory, `sys.path` (its first entry as python gives it, then the snapshot),
the environment variables (`os.environ` is the interpreter's own environment here: it is
changed and restored, the one place runner does so), and `sys.modules` (modules the run
imported are forgotten, so that the next run imports the user's code afresh). The code is
compiled under the name of its SOURCE file (the snapshot copy is what runs, the mapping is
the debugger's), so breakpoints set in the source bind. Output goes to the run's log and echo
as in a subprocess run; `SystemExit` becomes the exit code, an exception exit code 1 (or
post-mortem pdb with `--pdb`).
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import io
import os
import runpy
import sys
import traceback
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, cast

from runner.env.base import Runtime
from runner.errors import UnsupportedError
from runner.process.local import Outcome
from runner.process.logfile import LineSplitter, LogWriter, end_note, now, open_log
from runner.run.launch import Launch, LaunchContext, command, install_driver, process_overrides
from runner.run.sourcemap import source_mappings
from runner.snapshot.model import SnapshotPlan

if TYPE_CHECKING:
    from importlib.abc import PathEntryFinder as PathEntryFinderProtocol


def refuse_in_process(argv: Sequence[str], what: str) -> None:
    """Only `python SCRIPT ...` and `python -m MODULE ...` run in-process, in the current
    interpreter: anything else is refused with the flag to use instead."""
    if _target(argv) is None:
        raise UnsupportedError(
            f"{what}: --in-process needs a python script or module, and this module runs "
            f"{' '.join(argv)}",
            "run it without --in-process (a subprocess), or with --debug to attach an IDE",
        )


def _target(argv: Sequence[str]) -> tuple[str, str, list[str]] | None:
    """("script", path, args) or ("module", name, args) for `python ...`, else None."""
    if len(argv) < 2 or Path(argv[0]).name not in ("python", "python3"):
        return None
    if argv[1] == "-m" and len(argv) > 2:
        return "module", argv[2], list(argv[3:])
    if argv[1].startswith("-"):
        return None
    return "script", argv[1], list(argv[2:])


def inprocess_launch(
    context: LaunchContext, runtime: Runtime, plan: SnapshotPlan | None, post_mortem: bool
) -> Launch:
    driver = install_driver(context.spec, context.internal)
    argv = command(
        context.spec,
        context.values,
        {name: str(path) for name, path in context.inputs.items()},
        {name: str(path) for name, path in context.outputs.items()},
        str(driver),
    )
    target = _target(argv)
    assert target is not None, "refused before the run started"
    overrides = process_overrides(context, runtime)
    variables = overrides.apply(os.environ)
    mappings = source_mappings(plan, str(context.snapshot))

    def start() -> Outcome:
        with open_log(context.log, context.echo) as log:
            started_at = log.header(argv, f"cwd: {context.snapshot}", "in-process")
            code, interrupted = _run(target, context.snapshot, variables, mappings, log,
                                     post_mortem)  # fmt: skip
            outcome = Outcome(code, started_at, now(), False, interrupted, None, "in-process")
            log.note(end_note(outcome))
            return outcome

    details = {"backend": "in-process", "environment_overrides": overrides.to_json()}
    return Launch(tuple(argv), details, start)


def _run(
    target: tuple[str, str, list[str]],
    snapshot: Path,
    variables: dict[str, str],
    mappings: Sequence[tuple[str, str]],
    log: LogWriter,
    post_mortem: bool,
) -> tuple[int | None, bool]:
    kind, name, args = target
    with _restored(snapshot, variables, mappings), _output(log) as (out, err):
        path_zero = str((snapshot / name).parent) if kind == "script" else str(snapshot)
        sys.path[:0] = [path_zero, str(snapshot)]
        sys.argv = [str(snapshot / name) if kind == "script" else name, *args]
        try:
            if kind == "script":
                _run_script(snapshot / name, _mapper(mappings))
            else:
                runpy.run_module(name, run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            return _exit_code(exc, err), False
        except KeyboardInterrupt:
            return None, True
        except BaseException:
            traceback.print_exc(file=err)
            if post_mortem:
                _post_mortem(out)
            return 1, False
        return 0, False


def _exit_code(exc: SystemExit, err: TextIO) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=err)  # as the interpreter does for sys.exit("message")
    return 1


def _post_mortem(out: TextIO) -> None:
    import pdb

    debugger = pdb.Pdb(stdin=sys.__stdin__, stdout=out)
    debugger.reset()
    debugger.interaction(None, sys.exc_info()[2])


def _run_script(path: Path, mapped: Callable[[str], str]) -> None:
    """What `python SCRIPT` does, the code compiled under its source file's name."""
    code = compile(path.read_bytes(), mapped(str(path)), "exec")
    main = types.ModuleType("__main__")
    main.__dict__.update(__file__=str(path), __builtins__=__builtins__, __cached__=None)
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = main
    try:
        exec(code, main.__dict__)
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


def _mapper(mappings: Sequence[tuple[str, str]]) -> Callable[[str], str]:
    def mapped(path: str) -> str:
        for source, seen in mappings:
            if path.startswith(seen + os.sep):
                return source + path[len(seen) :]
        return path

    return mapped


class _MappedLoader(importlib.machinery.SourceFileLoader):
    """Imports from the snapshot compiled under their source file's name."""

    mapped: Callable[[str], str] = staticmethod(lambda path: path)

    def source_to_code(self, data, path, *, _optimize=-1):  # type: ignore[no-untyped-def,override]
        return compile(data, self.mapped(str(path)), "exec", dont_inherit=True)


@contextlib.contextmanager
def _restored(
    snapshot: Path, variables: dict[str, str], mappings: Sequence[tuple[str, str]]
) -> Iterator[None]:
    saved_argv, saved_path, saved_cwd = sys.argv[:], sys.path[:], Path.cwd()
    saved_modules = set(sys.modules)
    saved_environ = dict(os.environ)
    saved_hooks = sys.path_hooks[:]
    loader = type("Loader", (_MappedLoader,), {"mapped": staticmethod(_mapper(mappings))})
    finder = importlib.machinery.FileFinder.path_hook((loader, importlib.machinery.SOURCE_SUFFIXES))
    inside = str(snapshot)

    def hook(path: str) -> PathEntryFinderProtocol:
        if _inside(path, inside):
            return finder(path)
        raise ImportError("not the snapshot")

    sys.path_hooks.insert(0, hook)
    _forget_finders(inside)
    try:
        os.environ.clear()
        os.environ.update(variables)
        os.chdir(snapshot)
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
        sys.argv[:], sys.path[:] = saved_argv, saved_path
        sys.path_hooks[:] = saved_hooks
        _forget_finders(inside)
        for name in set(sys.modules) - saved_modules:
            # The user's code is imported afresh by the next run; a library stays (numpy and
            # other extension modules cannot be imported twice in one interpreter).
            if _from_snapshot(sys.modules[name], inside):
                del sys.modules[name]


def _inside(path: str | None, folder: str) -> bool:
    return path is not None and (path == folder or path.startswith(folder + os.sep))


def _from_snapshot(module: types.ModuleType, inside: str) -> bool:
    """A module, package or namespace package (no __file__, only __path__) of the run's code."""
    places = [getattr(module, "__file__", None), *getattr(module, "__path__", ())]
    return any(_inside(place, inside) for place in places)


def _forget_finders(inside: str) -> None:
    for path in list(sys.path_importer_cache):
        if _inside(path, inside):
            del sys.path_importer_cache[path]


class _Stream(io.TextIOBase):
    """sys.stdout / sys.stderr of an in-process run: into the run's log, and echoed."""

    def __init__(self, splitter: LineSplitter) -> None:
        self._splitter = splitter

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._splitter.feed(text.encode("utf-8", errors="backslashreplace"))
        return len(text)


@contextlib.contextmanager
def _output(log: LogWriter) -> Iterator[tuple[TextIO, TextIO]]:
    out, err = LineSplitter("stdout", log), LineSplitter("stderr", log)
    saved = sys.stdout, sys.stderr
    streams = cast("TextIO", _Stream(out)), cast("TextIO", _Stream(err))
    sys.stdout, sys.stderr = streams
    try:
        yield streams
    finally:
        sys.stdout, sys.stderr = saved
        out.close()
        err.close()
