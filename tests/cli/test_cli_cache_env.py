"""`runner cache` and `runner env` for people: tables with headers, a readable entry, and sizes
and `gc` that count the environments built in the cache folder too."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import is_iso

from runner.cli.main import main

BARE = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: bare
version: 1
inputs:
  n: {type: integer}
outputs:
  out: {type: uri_folder}
command: >-
  python -c "import sys; open(sys.argv[2] + '/n.txt', 'w').write(sys.argv[1])"
  ${{inputs.n}} ${{outputs.out}}
"""


@pytest.fixture
def bare(write_module: Callable[..., Path]) -> Path:
    return write_module(BARE, name="bare.yaml")


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main([*argv, "--json"]) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_cache_ls_and_show_for_people(bare: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cache", "ls"]) == 0
    assert capsys.readouterr().out.startswith("no cache entries in ")
    key = run_json(capsys, "run", str(bare), "-i", "n=7", "--quiet")["cache_key"]
    assert main(["cache", "ls"]) == 0
    header, row, total = capsys.readouterr().out.splitlines()
    assert header.split() == ["KEY", "CREATED", "SIZE", "MODULE"]
    assert row.startswith(f"{key}  ") and row.endswith("  bare:1") and " 1 B " in row
    assert total.startswith("1 entry (1 B) and 0 environments (0 B): 1 B in ")

    assert main(["cache", "show", str(key)[:6]]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"entry      {key}\nmodule     bare:1  ({bare})\n")
    assert "\noutputs:\n  out  1 files " in shown
    assert "\nkey parts:\n" in shown and "  parameters   n=7\n" in shown
    assert "  environment  host:" in shown


def test_env_build_ls_and_cache_gc_count_environments(
    bare: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built = run_json(capsys, "env", "build", str(bare), "--env", "venv", "--quiet")
    fingerprint = str(built["fingerprint"])
    assert built["backend"] == "venv" and Path(str(built["location"])).is_dir()

    listing = run_json(capsys, "env", "ls")
    (env,) = listing["environments"]  # type: ignore[misc]
    assert env["fingerprint"] == fingerprint and env["size"] > 10_000
    assert is_iso(env["created_at"]) and is_iso(env["last_used"])
    assert main(["env", "ls"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["BACKEND", "FINGERPRINT", "LAST", "USED", "SIZE", "DESCRIPTION"]
    assert row.startswith(f"venv     {fingerprint}  ") and "MiB" in row

    run_json(capsys, "run", str(bare), "-i", "n=1", "--quiet")
    cache = run_json(capsys, "cache", "ls")
    assert cache["environments"] == {"count": 1, "size": env["size"]}
    assert cache["total_size"] == 1 + env["size"]

    # Under the size limit with room for the one-byte result only: the venv (used before the
    # result) goes first, the result stays.
    collected = run_json(capsys, "cache", "gc", "--max-size", "100")
    assert collected["environments_removed"] == [fingerprint]
    assert collected["removed"] == [] and collected["size"] == 1
    assert run_json(capsys, "env", "ls")["environments"] == []


def test_env_build_announces_and_shows_uv_only_with_verbose(
    bare: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["env", "build", str(bare), "--env", "venv"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("ready: venv ")
    assert err.startswith("building a venv for bare.yaml: python ") and "no packages" in err
    assert "uv venv" not in err
    fingerprint = out.split()[2]
    assert run_json(capsys, "env", "rm", fingerprint[:8]) == {"removed": [fingerprint]}
    assert main(["env", "build", str(bare), "--env", "venv", "-v"]) == 0
    assert "uv venv" in capsys.readouterr().err


def test_env_prune_json(bare: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fingerprint = run_json(capsys, "env", "build", str(bare), "--env", "venv", "-q")["fingerprint"]
    assert run_json(capsys, "env", "prune", "--older-than", "1h") == {
        "removed": [],
        "unfinished": 0,
    }
    record = next(Path(os.environ["RUNNER_CACHE_DIR"], "envs", "venv").glob("*.json"))
    old = time.time() - 7200
    os.utime(record, (old, old))
    assert run_json(capsys, "env", "prune", "--older-than", "1h")["removed"] == [fingerprint]
