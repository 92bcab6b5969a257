"""A registry on a full or read-only disk: a clear error (exit 1 for a full disk, 2 for a
read-only one), and the catalogue as it was. The registry lives on a small tmpfs mounted in a
private mount namespace (`unshare`), so the real disk is never filled or remounted."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from registry_helpers import MakeModule


def _unshare_prefix() -> list[str] | None:
    """How to get a private mount namespace here (as root, or as a mapped root user)."""
    if shutil.which("unshare") is None:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        for prefix in (["unshare", "--mount", "--propagation", "private"],
                       ["unshare", "--user", "--map-root-user", "--mount"]):  # fmt: skip
            probe = [*prefix, "mount", "-t", "tmpfs", "-o", "size=64k", "none", scratch]
            if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
                return prefix
    return None


UNSHARE = _unshare_prefix()
needs_mounts = pytest.mark.skipif(UNSHARE is None, reason="cannot mount a tmpfs in a namespace")


def in_namespace(script: str, registry: Path) -> subprocess.CompletedProcess[str]:
    """Run `script` (sh) with `runner` meaning this interpreter's runner, and the registry on a
    fresh tmpfs at `registry`."""
    assert UNSHARE is not None
    runner = f"{shlex.quote(sys.executable)} -m runner"
    body = f'set -u\nrunner() {{ {runner} "$@"; }}\n{script}'
    env = {**os.environ, "RUNNER_REGISTRY": str(registry)}
    return subprocess.run(
        [*UNSHARE, "sh", "-c", body],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def section(out: str, name: str) -> str:
    """What the script printed after `--- name` (up to the next `--- ` line)."""
    after = out.split(f"--- {name}\n", 1)[1]
    return after.split("\n--- ", 1)[0]


@needs_mounts
def test_a_full_disk_exits_1_and_leaves_the_catalogue_unchanged(
    make_module: MakeModule, tmp_path: Path
) -> None:
    small = make_module(name="small")
    big = make_module(name="big")
    (big.parent / "src" / "weights.bin").write_bytes(os.urandom(3 << 20))
    registry = tmp_path / "registry"
    registry.mkdir()
    done = in_namespace(
        f"""
        mount -t tmpfs -o size=1m none {shlex.quote(str(registry))}
        runner module register {shlex.quote(str(small))} || exit 10
        runner module register {shlex.quote(str(big))}
        echo "big: $?"
        echo "--- list"
        runner module list --json
        echo "--- tmp"
        ls {shlex.quote(str(registry / "tmp"))}
        """,
        registry,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "big: 1" in out, done.stderr
    assert "cannot register big: the disk holding" in done.stderr and "is full" in done.stderr
    assert "Traceback" not in done.stderr
    listing = json.loads(section(out, "list"))["modules"]
    assert [m["name"] for m in listing] == ["small"]
    assert section(out, "tmp").strip() == ""  # nothing staged is left in tmp/


@needs_mounts
def test_a_read_only_registry_refuses_changes_and_still_resolves(
    make_module: MakeModule, tmp_path: Path
) -> None:
    first = make_module(name="first")
    second = make_module(name="second")
    registry = tmp_path / "registry"
    registry.mkdir()
    where = shlex.quote(str(registry))
    done = in_namespace(
        f"""
        mount -t tmpfs -o size=4m none {where}
        runner module register {shlex.quote(str(first))} || exit 10
        runner run first --quiet >/dev/null || exit 11
        mount -o remount,ro {where}
        runner module register {shlex.quote(str(second))}
        echo "register: $?"
        runner module disable first
        echo "disable: $?"
        runner datatype register Table
        echo "datatype: $?"
        echo "--- list"
        runner module list --json
        echo "--- run"
        runner run first -i text=ro --quiet --no-cache --json
        """,
        registry,
    )
    assert done.returncode == 0, done.stderr
    out, err = done.stdout, done.stderr
    assert "register: 2" in out and "disable: 2" in out and "datatype: 2" in out
    assert "is not writable" in err and "Traceback" not in err
    listing = json.loads(section(out, "list"))["modules"]
    assert [(m["name"], m["status"]) for m in listing] == [("first", "enabled")]
    result = json.loads(section(out, "run"))
    assert result["status"] == "succeeded"
    assert Path(result["outputs"]["out"], "said.txt").read_text() == "RO v1"
