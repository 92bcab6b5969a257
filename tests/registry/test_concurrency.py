"""Several processes registering at once: each change is one transaction, nobody loses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from registry_helpers import Json, MakeModule


def start_all(argvs: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Start every `runner` process before waiting for any."""
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "runner", *argv],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    done = []
    for child, argv in zip(children, argvs, strict=True):
        out, err = child.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(argv, child.returncode, out, err))
    return done


def test_eight_processes_register_different_modules_at_once(
    make_module: MakeModule, run_json: Json
) -> None:
    specs = [make_module(name=f"echo_{i}", tag=f"t{i}") for i in range(8)]
    done = start_all([["module", "register", str(spec), "--json"] for spec in specs])
    for result in done:
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["status"] == "registered"
    modules = run_json("module", "list")["modules"]
    assert isinstance(modules, list)
    assert sorted(m["name"] for m in modules) == [f"echo_{i}" for i in range(8)]
    for i in range(8):
        result = run_json("run", f"echo_{i}", "-i", "text=x")
        assert Path(result["outputs"]["out"], "said.txt").read_text() == f"X t{i}"


def test_four_processes_registering_the_same_version_agree(
    make_module: MakeModule, run_json: Json
) -> None:
    spec = make_module()
    done = start_all([["module", "register", str(spec), "--json"] for _ in range(4)])
    assert all(result.returncode == 0 for result in done), [r.stderr for r in done]
    statuses = sorted(json.loads(result.stdout)["status"] for result in done)
    assert statuses.count("registered") == 1 and statuses.count("unchanged") == 3
    assert [m["versions"] for m in run_json("module", "list")["modules"]] == [["1.0.0"]]
