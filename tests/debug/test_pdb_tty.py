"""pdb through a terminal: `breakpoint()` in a module gets a prompt through `runner run`, and
`--pdb` opens post-mortem pdb where the module raised (driven through a pseudo-terminal)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pexpect

SPEC = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: stops
version: 1
code: .
command: python stops.py
"""


def _spawn(spec: Path, *flags: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "runner", "run", str(spec), "--no-cache", *flags],
        cwd=str(spec.parent),
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 200),
    )


def test_breakpoint_gets_a_prompt_and_c_continues(write_module: Callable[..., Path]) -> None:
    spec = write_module(
        SPEC, {"stops.py": "value = 41\nbreakpoint()\nprint('answer', value + 1)\n"}
    )
    child = _spawn(spec)
    child.expect_exact("(Pdb) ")
    child.sendline("p value")
    child.expect_exact("41")
    child.expect_exact("(Pdb) ")
    child.sendline("c")
    child.expect_exact("answer 42")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before


def test_pdb_flag_opens_post_mortem_where_it_raised(write_module: Callable[..., Path]) -> None:
    spec = write_module(
        SPEC, {"stops.py": "def divide(n):\n    return n / 0\n\nlocal = 7\ndivide(local)\n"}
    )
    child = _spawn(spec, "--pdb")
    child.expect_exact("ZeroDivisionError")
    child.expect_exact(f"> {spec.parent / 'stops.py'}(2)divide()")  # the source, not the copy
    child.expect_exact("(Pdb) ")
    child.sendline("p n")
    child.expect_exact("7")
    child.expect_exact("(Pdb) ")
    child.sendline("c")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1, child.before
    assert "failed: the command exited with code 1" in (child.before or "")


def test_without_a_terminal_breakpoint_does_not_hang(write_module: Callable[..., Path]) -> None:
    import subprocess

    spec = write_module(SPEC, {"stops.py": "breakpoint()\nprint('went on')\n"})
    done = subprocess.run(
        [sys.executable, "-m", "runner", "run", str(spec)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "went on" in done.stdout
