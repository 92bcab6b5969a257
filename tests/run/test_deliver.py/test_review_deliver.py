"""Review: outputs delivered with -o to places that overlap the run's own output folders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import runner
from runner.errors import RunnerError
from runner.run.deliver import deliver

SPEC = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: tree
version: 1
outputs: {out: {type: uri_folder}}
command: python make.py ${{outputs.out}}
"""

MAKE = """\
import sys
from pathlib import Path
(Path(sys.argv[1]) / "sub").mkdir()
(Path(sys.argv[1]) / "sub" / "a.txt").write_text("a")
"""


def test_deliver_refuses_a_destination_inside_what_it_delivers(tmp_path: Path) -> None:
    produced = tmp_path / "produced"
    (produced / "sub").mkdir(parents=True)
    (produced / "sub" / "a.txt").write_text("a")
    with pytest.raises(RunnerError, match="inside"):
        deliver(produced, produced / "deeper")
    # Nothing was created inside the produced tree (it used to recurse until ENAMETOOLONG).
    assert sorted(p.name for p in produced.iterdir()) == ["sub"]


def test_output_placed_inside_its_own_run_folder_output_is_refused_before_running(
    write_module: Callable[..., Path], tmp_path: Path
) -> None:
    module = runner.load_module(write_module(SPEC, {"make.py": MAKE}))
    workdir = tmp_path / "run"
    with pytest.raises(RunnerError, match="inside"):
        module.run(
            workdir=workdir, outputs={"out": workdir / "outputs" / "out" / "deeper"}, quiet=True
        )
    assert not workdir.exists()


def test_output_placed_at_its_own_run_folder_output_is_fine(
    write_module: Callable[..., Path], tmp_path: Path
) -> None:
    module = runner.load_module(write_module(SPEC, {"make.py": MAKE}))
    workdir = tmp_path / "run"
    result = module.run(workdir=workdir, outputs={"out": workdir / "outputs" / "out"}, quiet=True)
    assert result.ok
    assert sorted(p.name for p in (workdir / "outputs" / "out").iterdir()) == ["sub"]
