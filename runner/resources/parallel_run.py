"""Local driver for AzureML parallel (ParallelRunStep) modules.

STANDALONE: it is copied into each run's folder and executed by the module environment's own
python, which need not have `runner` installed. Standard library only; runs on Python 3.8+.

    python parallel_run.py --entry ENTRY.py --output OUTPUT_DIR [--mini-batch-size N]
        [--error-threshold N] [--input DIR_OR_FILE]... -- [entry args...]

Imports ENTRY with ``sys.argv = [ENTRY, *entry args]``, calls ``init()`` if defined, then
``run(mini_batch)`` with lists of absolute file paths taken from the inputs (every file,
recursively, sorted by relative path), appends what each call returns to
``OUTPUT_DIR/parallel_run_step.txt`` (a list or tuple: one line per element; a pandas
DataFrame: its rows, space separated, no header) and finally ``shutdown()`` if defined.

A ``run()`` that raises fails all the files of its mini-batch; the job stops once more files
failed than ``--error-threshold`` allows (-1: no limit).

Exit codes: 0 success, 1 failures beyond the threshold (or init/import failed), 2 usage.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

RESULT_FILE = "parallel_run_step.txt"
DEFAULT_MINI_BATCH_SIZE = 10
DEFAULT_ERROR_THRESHOLD = 0

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_PREFIX = "parallel_run: "


class _UsageError(Exception):
    pass


def _say(message: str) -> None:
    sys.stderr.write(_PREFIX + message + "\n")
    sys.stderr.flush()


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    # Split by hand: the entry's own options must never be seen (or rejected) by argparse.
    if "--" in argv:
        cut = argv.index("--")
        ours, entry_args = argv[:cut], argv[cut + 1 :]
    else:
        ours, entry_args = argv, []
    parser = argparse.ArgumentParser(
        prog="parallel_run.py", description="Run an AzureML parallel entry script locally."
    )
    parser.add_argument("--entry", required=True, help="the entry script (init/run/shutdown)")
    parser.add_argument("--output", required=True, help="the output folder")
    parser.add_argument("--mini-batch-size", type=int, default=DEFAULT_MINI_BATCH_SIZE)
    parser.add_argument(
        "--error-threshold",
        type=int,
        default=DEFAULT_ERROR_THRESHOLD,
        help="failed files tolerated before stopping; -1 for no limit",
    )
    parser.add_argument("--input", action="append", default=[], help="a file or a folder")
    options = parser.parse_args(ours)
    if options.mini_batch_size < 1:
        parser.error("--mini-batch-size must be at least 1")
    if options.error_threshold < -1:
        parser.error("--error-threshold must be -1 or more")
    return options, entry_args


def _list_files(inputs: list[str]) -> list[str]:
    """Every file under the inputs, input by input, each sorted by relative path."""
    files: list[str] = []
    for given in inputs:
        top = Path(given).absolute()
        if top.is_file():
            files.append(str(top))
            continue
        if not top.is_dir():
            raise _UsageError(f"input not found: {given}")
        found: list[tuple[str, str]] = []
        seen_dirs: set[str] = set()
        for folder, dirnames, filenames in os.walk(str(top), followlinks=True):
            real = os.path.realpath(folder)
            if real in seen_dirs:
                # A symlink loop: walking it again would never end.
                dirnames[:] = []
                continue
            seen_dirs.add(real)
            for name in filenames:
                path = Path(folder, name)
                if path.is_file():
                    found.append((path.relative_to(top).as_posix(), str(path)))
        files.extend(path for _, path in sorted(found))
    return files


def _load_entry(entry: str) -> ModuleType:
    path = Path(entry).absolute()
    if not path.is_file():
        raise _UsageError(f"entry script not found: {entry}")
    # The entry's folder, then the working directory (the snapshot root), come first so the
    # entry imports its siblings and the snapshot's packages as it would on AzureML.
    for folder in reversed([str(path.parent), str(Path.cwd())]):
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)
    name = path.stem
    if name in sys.modules:
        # An entry called like a loaded module (json.py, os.py) must not replace it.
        name = "__parallel_entry__"
    spec = importlib.util.spec_from_file_location(name, str(path))
    if spec is None or spec.loader is None:
        raise _UsageError(f"cannot import the entry script: {entry}")
    module = importlib.util.module_from_spec(spec)
    # Registered before running: pickle, dataclasses and friends look modules up by name.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _result_lines(result: Any) -> list[str]:
    if result is None:
        return []
    if isinstance(result, (list, tuple)):
        return [str(item) for item in result]
    if hasattr(result, "to_csv"):
        text = result.to_csv(sep=" ", header=False, index=False)
        return [line for line in str(text).splitlines() if line]
    raise TypeError(
        "run() must return a list, a tuple, a pandas DataFrame or None, "
        f"not {type(result).__name__}"
    )


def _too_many(failed: int, threshold: int) -> bool:
    return threshold != -1 and failed > threshold


def main(argv: list[str] | None = None) -> int:
    options, entry_args = _parse(sys.argv[1:] if argv is None else argv)
    try:
        files = _list_files(options.input)
        output = Path(options.output)
        output.mkdir(parents=True, exist_ok=True)
        result_path = output / RESULT_FILE
        sys.argv = [options.entry, *entry_args]
        try:
            module = _load_entry(options.entry)
        except _UsageError:
            raise
        except Exception:
            traceback.print_exc()
            _say(f"importing {options.entry} failed")
            return EXIT_FAILED
        run = getattr(module, "run", None)
        if not callable(run):
            raise _UsageError(f"{options.entry} defines no run(mini_batch) function")
    except _UsageError as error:
        _say(f"error: {error}")
        return EXIT_USAGE

    init = getattr(module, "init", None)
    shutdown = getattr(module, "shutdown", None)
    if callable(init):
        try:
            init()
        except Exception:
            traceback.print_exc()
            _say("init() failed")
            return EXIT_FAILED

    size = options.mini_batch_size
    batches = [files[i : i + size] for i in range(0, len(files), size)]
    done_batches = done_items = failed = 0
    aborted = False
    # Created even when nothing is returned: the output is always there for the next step.
    with open(result_path, "a", encoding="utf-8") as results:
        for number, batch in enumerate(batches, 1):
            try:
                lines = _result_lines(run(batch))
            except Exception:
                traceback.print_exc()
                failed += len(batch)
                _say(f"mini-batch {number}/{len(batches)} failed ({len(batch)} files)")
                if _too_many(failed, options.error_threshold):
                    aborted = True
                    break
                continue
            finally:
                done_batches += 1
                done_items += len(batch)
            for line in lines:
                results.write(line + "\n")
            results.flush()

    shutdown_failed = False
    if callable(shutdown):
        try:
            shutdown()
        except Exception:
            traceback.print_exc()
            _say("shutdown() failed")
            shutdown_failed = True

    _say(
        f"{done_batches}/{len(batches)} mini-batches, {done_items}/{len(files)} files, "
        f"{failed} failed (threshold {options.error_threshold})"
    )
    if aborted:
        _say("stopped: more failed files than the error threshold allows")
        return EXIT_FAILED
    return EXIT_FAILED if shutdown_failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
