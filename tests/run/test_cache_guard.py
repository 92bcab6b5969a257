"""What the cache folder protects itself from: outputs delivered into it, and an object changed
in place through a run folder's hardlink (served never, whatever stamps were put back)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.cli import main as cli

SPEC = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: writer
version: 1
inputs:
  text: {type: string}
outputs:
  out: {type: uri_file}
command: python write.py ${{inputs.text}} ${{outputs.out}}
"""
SCRIPT = "import sys\nopen(sys.argv[2], 'w').write(sys.argv[1])\n"


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "module" / "writer.yml"
    path.parent.mkdir()
    path.write_text(SPEC, encoding="utf-8")
    (path.parent / "write.py").write_text(SCRIPT, encoding="utf-8")
    return path


@pytest.mark.parametrize("where", ["inside", "root", "through-a-link"])
def test_an_output_placed_in_the_cache_folder_is_refused(
    spec: Path, tmp_path: Path, isolated_cache: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    isolated_cache.mkdir(parents=True)
    (tmp_path / "link").symlink_to(isolated_cache)
    destination = {
        "inside": isolated_cache / "objects" / "mine.txt",
        "root": isolated_cache / "out.txt",
        "through-a-link": tmp_path / "link" / "entries" / "mine.txt",
    }[where]
    code = cli.main(["run", str(spec), "-i", "text=hi", "-o", f"out={destination}", "--json"])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert not out
    assert f"is inside the cache folder {isolated_cache.resolve()}" in err
    assert "Traceback" not in err
    assert not (isolated_cache.parent / "runs").exists()  # refused before anything ran
    assert not (isolated_cache / "objects" / "mine.txt").exists()
    assert not (isolated_cache / "entries" / "mine.txt").exists()


def test_an_output_beside_the_cache_is_delivered(
    spec: Path, tmp_path: Path, isolated_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = isolated_cache.parent / "cache-results" / "out.txt"  # a name sharing a prefix
    code = cli.main(["run", str(spec), "-i", "text=hi", "-o", f"out={destination}", "--json"])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert destination.read_text() == "hi"


def _run(spec: Path, cwd: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "runner", "run", str(spec), "-i", "text=original", "-q", "--json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_an_output_rewritten_in_place_with_its_stamps_put_back_is_never_served(
    spec: Path, tmp_path: Path
) -> None:
    """Issue 15's first defect, end to end: root (or a tool ignoring the read-only bit) edits an
    output in its run folder, which is a hardlink to the cached object, keeping its size and
    putting its mtime back. The next identical run must not be served those bytes."""
    _run(spec, tmp_path)
    time.sleep(0.3)  # past the memo's racy window, so the served file is vouched for by stat
    served = _run(spec, tmp_path)
    assert served["status"] == "cached"
    victim = Path(str(served["outputs"]["out"]))  # type: ignore[index]
    before = victim.stat()
    assert before.st_nlink > 1  # the run folder's file IS the object
    victim.chmod(0o644)
    with open(victim, "r+b") as stream:
        stream.write(b"ORIGINAL")
    victim.chmod(before.st_mode)
    os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = victim.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )
    again = _run(spec, tmp_path)
    assert again["status"] == "succeeded"  # ran again: the damaged entry was not served
    assert any("was modified after it was stored" in str(n) for n in again["notes"])  # type: ignore[attr-defined]
    produced = Path(str(again["outputs"]["out"]))  # type: ignore[index]
    assert produced.read_text() == "original"
    assert _run(spec, tmp_path)["status"] == "cached"  # and the good result is cached again
