"""Pipeline fixtures: a copy of the fixture modules and data, and writers for pipelines and
small modules with chosen port types."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

WritePipeline = Callable[..., Path]
WriteModule = Callable[..., Path]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the fixtures (three modules, data, pipeline.yml): tests write next to it."""
    root = tmp_path / "ws"
    shutil.copytree(FIXTURES, root)
    return root


@pytest.fixture
def write_pipeline(workspace: Path) -> WritePipeline:
    """`write_pipeline(yaml_text, name="p.yml")`: the dedented text, in the workspace."""

    def write(text: str, name: str = "p.yml") -> Path:
        path = workspace / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_module(workspace: Path) -> WriteModule:
    """`write_module("m", inputs={"x": "AnyFile", "n": "{type: Integer}"}, outputs={...})`:
    a component 2.0 spec at `<workspace>/m.yaml`; a bare type stands for `{type: <it>}`."""

    def write(
        name: str, inputs: dict[str, str] | None = None, outputs: dict[str, str] | None = None
    ) -> Path:
        def block(items: dict[str, str] | None) -> str:
            if not items:
                return " {}\n"
            lines = [
                f"  {key}: {value if value.startswith('{') else '{type: ' + value + '}'}"
                for key, value in items.items()
            ]
            return "\n" + "\n".join(lines) + "\n"

        path = workspace / f"{name}.yaml"
        path.write_text(
            "$schema: http://azureml/sdk-2-0/CommandComponent.json\n"
            f"name: {name}\nversion: 0.0.1\ntype: CommandComponent\n"
            f"inputs:{block(inputs)}outputs:{block(outputs)}command: python {name}.py\n",
            encoding="utf-8",
        )
        (workspace / f"{name}.py").write_text("", encoding="utf-8")
        return path

    return write
