"""The engine SIGKILLed mid-run or mid-publication: the next run never sees a partial entry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

import runner
from runner.cli.main import main

SPEC = """\
$schema: http://azureml/sdk-2-0/CommandComponent.json
type: CommandComponent
name: slow_writer
version: 1
inputs: {pause: {type: Float, default: 0}}
outputs: {out: {type: AnyDirectory}}
command: python write.py {outputs.out} {inputs.pause}
"""

WRITE = """\
import os, sys, time
from pathlib import Path
out = Path(sys.argv[1])
for i in range(20):
    (out / f"part-{i:02}.txt").write_text(f"part {i}\\n" * 1000)
Path(os.environ["MARKERS"], "module-pid").write_text(str(os.getpid()))
time.sleep(float(sys.argv[2]))
"""

# Runs the module in a child process that stops at `point` (a publication step, or "execute":
# while the module runs) and says so through a marker file, for the parent to SIGKILL it there.
DRIVER = """\
import sys, time
from pathlib import Path
import runner
import runner.cache.publish as publish

spec, point, markers, pause = sys.argv[1:5]
def reached(name):
    if name == point:
        Path(markers, "reached").write_text(name)
        time.sleep(600)
publish.reached = reached
runner.load_module(spec).run(pause=float(pause), quiet=True)
"""


@pytest.fixture
def markers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the module and the crash driver leave word of how far they got."""
    folder = tmp_path / "markers"
    folder.mkdir()
    monkeypatch.setenv("MARKERS", str(folder))
    return folder


def wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


@pytest.mark.parametrize(
    "point", ["execute", "object-stored", "after-objects", "manifest-half", "after-manifest"]
)
def test_killed_before_commit_leaves_no_entry(
    point: str, tmp_path: Path, write_module: Callable[..., Path], markers: Path
) -> None:
    spec = write_module(textwrap.dedent(SPEC), {"write.py": WRITE})
    env = dict(os.environ)
    pause = "600" if point == "execute" else "0"
    child = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(spec), point, str(markers), pause], env=env
    )
    wait_for(markers / ("module-pid" if point == "execute" else "reached"))
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    if point == "execute":
        # The module outlives a SIGKILLed engine (nothing can catch SIGKILL); end it here.
        psutil.Process(int((markers / "module-pid").read_text())).kill()

    module = runner.load_module(spec)
    result = module.run(quiet=True)
    assert result.status is runner.Status.SUCCEEDED, result.log.read_text()
    assert sorted(p.name for p in result.outputs["out"].iterdir())[-1] == "part-19.txt"
    again = module.run(quiet=True)
    assert again.cached
    assert len(list(again.outputs["out"].iterdir())) == 20
    assert (again.outputs["out"] / "part-07.txt").read_text() == "part 7\n" * 1000


def test_killed_after_commit_serves_the_complete_entry(
    write_module: Callable[..., Path], markers: Path
) -> None:
    spec = write_module(textwrap.dedent(SPEC), {"write.py": WRITE})
    env = dict(os.environ)
    child = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(spec), "after-rename", str(markers), "0"], env=env
    )
    wait_for(markers / "reached")
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    served = runner.load_module(spec).run(quiet=True)
    assert served.cached
    assert len(list(served.outputs["out"].iterdir())) == 20


def test_corrupted_object_is_found_by_verify_and_then_missed(
    write_module: Callable[..., Path],
    isolated_cache: Path,
    capsys: pytest.CaptureFixture[str],
    markers: Path,
) -> None:
    spec = write_module(textwrap.dedent(SPEC), {"write.py": WRITE})
    module = runner.load_module(spec)
    first = module.run(quiet=True, cache=True)
    assert first.ok
    objects = sorted((isolated_cache / "objects").rglob("*"))
    victim = next(path for path in objects if path.is_file())
    st = victim.stat()
    victim.chmod(0o644)
    data = bytearray(victim.read_bytes())
    data[0] ^= 0xFF
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))  # only re-hashing can tell
    assert main(["cache", "verify"]) == 1
    report = capsys.readouterr().out
    assert "damaged:" in report and first.cache_key in report
    rerun = module.run(quiet=True)
    assert not rerun.cached and rerun.ok
    assert len(list(rerun.outputs["out"].iterdir())) == 20
