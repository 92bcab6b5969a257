"""Fixtures for the registry tests: a module folder factory and the command line in-process."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from registry_helpers import Cli, MakeModule

from runner.cli import main as cli

# A CLI v2 module whose output says what it was given and which code ran (TAG in main.py), so
# a changed snapshot shows in the outputs as well as in the key.
MODULE = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: {name}
version: "{version}"
display_name: {name} module
inputs:
  text: {{type: string, default: hello}}
outputs:
  out: {{type: uri_folder}}
code: ./src
additional_includes:
  - ../shared/helper.py
command: python main.py ${{{{inputs.text}}}} ${{{{outputs.out}}}}
"""
MAIN = """\
import sys
from pathlib import Path

import helper

TAG = {tag!r}
Path(sys.argv[2], "said.txt").write_text(helper.shout(sys.argv[1]) + " " + TAG)
"""
HELPER = "def shout(text):\n    return text.upper()\n"


@pytest.fixture
def registry_dir() -> Path:
    """The test's registry (tests/conftest.py points RUNNER_REGISTRY at a fresh folder)."""
    return Path(os.environ["RUNNER_REGISTRY"])


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """`runner ARGS...` in this process: (exit code, stdout, stderr)."""

    def run(*argv: str | Path) -> tuple[int, str, str]:
        code = cli.main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def run_json(run_cli: Cli) -> Callable[..., object]:
    """`runner ARGS... --json`, which must succeed; its parsed output."""

    def run(*argv: str | Path) -> object:
        code, out, err = run_cli(*argv, "--json")
        assert code == 0, err
        return json.loads(out)

    return run


@pytest.fixture
def make_module(tmp_path: Path) -> MakeModule:
    """A module folder `<tmp>/<folder>/module/` (spec + src/main.py) with a shared include
    beside it; returns the spec's path."""

    def make(name: str = "echo", version: str = "1.0.0", tag: str = "v1", folder: str = "") -> Path:
        root = tmp_path / (folder or f"{name}-{version}-{tag}")
        (root / "module" / "src").mkdir(parents=True, exist_ok=True)
        (root / "shared").mkdir(exist_ok=True)
        (root / "shared" / "helper.py").write_text(HELPER)
        (root / "module" / "src" / "main.py").write_text(MAIN.format(tag=tag))
        spec = root / "module" / "echo.yaml"
        spec.write_text(MODULE.format(name=name, version=version))
        return spec

    return make
