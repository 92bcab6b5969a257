"""`python -m runner ARGS` with Ctrl-C's usual meaning, for tests that send it SIGINT.

A shell's background job (a test run started with `&`, or from a shell that ignores SIGINT)
starts its children with SIGINT ignored, and Python then keeps it ignored: the child would
never see the Ctrl-C the test sends. The child sets the default disposition first."""

from __future__ import annotations

import sys

RUNNER_WITH_CTRL_C = [
    sys.executable,
    "-c",
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'runner'; runpy.run_module('runner', run_name='__main__')",
]
