"""mypy reads Struct classes as dataclasses (PEP 681), in a real mypy run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_mypy_reads_structs_as_dataclasses(tmp_path: Path) -> None:
    """PEP 681: mypy sees the fields, the frozen attributes, and replace's keywords."""
    pytest.importorskip("mypy")
    source = tmp_path / "use.py"
    source.write_text(
        textwrap.dedent("""\
        from runner.struct import Struct, field, replace

        class A(Struct):
            name: str
            size: int = 0
            items: list[int] = field(default_factory=list)

        class M(Struct, frozen=False):
            n: int

        a = A("x", size=1)
        m = M(1)
        m.n = 2
        A(1)
        a.size = 2
        replace(a, size="big")
        reveal_type(replace(a, size=3))
        """)
    )
    env = {**os.environ, "MYPYPATH": str(REPO)}  # the editable install is not a typed package
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(source)],
        capture_output=True, text=True, check=False, cwd=tmp_path, env=env,
    )  # fmt: skip
    lines = [line.split(": ", 1)[1] for line in done.stdout.splitlines() if ": " in line]
    assert lines == [
        'error: Argument 1 to "A" has incompatible type "int"; expected "str"  [arg-type]',
        'error: Property "size" defined in "A" is read-only  [misc]',
        'error: Argument "size" to "replace" of "A" has incompatible type "str"; '
        'expected "int"  [arg-type]',
        'note: Revealed type is "use.A"',
    ], done.stdout
