"""What the storage tests share: a small module, and runner run as a real child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from runner.struct import Struct

SPEC = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: writer
version: 1
inputs:
  text: {type: string}
  size: {type: integer, default: 0}
outputs:
  out: {type: uri_folder}
environment_variables:
  API_TOKEN: not-for-other-users
command: python write.py ${{inputs.text}} ${{inputs.size}} ${{outputs.out}}
"""

# Writes the text, and `size` bytes more when asked (-1: until the disk is full, then says more
# than a full disk's log can take, and succeeds).
SCRIPT = """\
import os, sys
text, size, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
print("writing", text)
with open(os.path.join(out, "said.txt"), "w") as stream:
    stream.write(text)
chunk, left = b"x" * 65536, size
with open(os.path.join(out, "blob.bin"), "wb", buffering=0) as stream:
    while left != 0:
        try:
            left -= stream.write(chunk[: left if left > 0 else len(chunk)])
        except OSError:
            break
if size < 0:
    print("\\n".join(f"after the disk filled: line {n}" for n in range(2000)))
print("done")
"""


def write_module(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "write.py").write_text(SCRIPT, encoding="utf-8")
    spec = folder / "writer.yml"
    spec.write_text(SPEC, encoding="utf-8")
    return spec


# A pipeline of one step running the module of `write_module` (in ./module beside it).
PIPELINE = """\
type: pipeline
jobs:
  only:
    type: command
    component: ./module/writer.yml
    inputs: {text: TEXT, size: SIZE}
"""


def write_pipeline(folder: Path, text: str, size: int = 0) -> Path:
    pipeline = folder / "pipeline.yml"
    body = PIPELINE.replace("TEXT", text).replace("SIZE", str(size))
    pipeline.write_text(body, encoding="utf-8")
    return pipeline


class Ran(Struct):
    code: int
    result: Mapping[str, object]  # the --json object ({} when none was printed)
    stderr: str

    @property
    def notes(self) -> list[str]:
        notes = self.result.get("notes", [])
        return [str(note) for note in notes] if isinstance(notes, list) else []

    def output(self, name: str = "out") -> Path:
        outputs = self.result["outputs"]
        assert isinstance(outputs, dict)
        return Path(outputs[name])


def runner(*argv: str, cwd: Path, env: Mapping[str, str] | None = None, umask: int = 0o022) -> Ran:
    """`runner ARGV --json` in a child process (never a traceback: checked here)."""
    done = subprocess.run(
        [sys.executable, "-m", "runner", *argv, "--json"],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        umask=umask,
    )
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    result = json.loads(done.stdout) if done.stdout.strip() else {}
    return Ran(done.returncode, result, done.stderr)


def tree_state(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under `root` with its mode, size and mtime: equal before and after means
    nothing there was written."""
    found = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        found[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return found
