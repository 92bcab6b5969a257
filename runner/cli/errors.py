"""The one top-level handler: every way a command can end becomes a message and an exit code."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from runner.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_MODULE_FAILED, EXIT_OK, RunnerError
from runner.files import FULL, refused_folder, storage_problem

UNAMBIGUOUS = FULL | {errno.EROFS}


def handled(command: Callable[[], int], stderr: TextIO) -> int:
    try:
        return command()
    except RunnerError as exc:
        print(f"error: {exc}", file=stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`runner ... | head`): nothing more to say, and nowhere to say it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_MODULE_FAILED
    except SystemExit as exc:  # argparse --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except OSError as exc:
        # A full disk or a read-only file system met where no caller said it in its own words:
        # the storage's refusal, not a bug. (EACCES and EPERM can be bugs: not these.)
        if exc.errno not in UNAMBIGUOUS or not exc.filename:
            return internal_error(stderr)
        print(f"error: {storage_problem(exc, refused_folder(exc, Path.cwd()))}", file=stderr)
        return EXIT_MODULE_FAILED
    except Exception:
        return internal_error(stderr)


def internal_error(stderr: TextIO) -> int:
    """A bug in runner: keep the traceback in a file, show one line and where to find it."""
    import tempfile  # with traceback, about 10 imports that only a crash needs
    import traceback

    with tempfile.NamedTemporaryFile(
        "w", prefix="runner-crash-", suffix=".log", delete=False
    ) as log:
        traceback.print_exc(file=log)
    kind = sys.exc_info()[0]
    name = kind.__name__ if kind else "error"
    print(f"internal error ({name}); the traceback is in {log.name}", file=stderr)
    print("  hint: this is a bug in runner; please report it with that file", file=stderr)
    return EXIT_INTERNAL
