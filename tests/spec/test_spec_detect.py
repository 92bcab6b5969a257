"""Which generation a document is, and the entry points that read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.spec.load import detect_generation, load_spec, load_spec_text
from runner.spec.model import Generation
from runner.spec.source import parse_document


@pytest.mark.parametrize(
    ("text", "generation"),
    [
        ("amlModuleIdentifier: {}\ntype: command\n", Generation.LEGACY),
        ("$schema: http://azureml/sdk-2-0/CommandComponent.json\n", Generation.COMPONENT_2),
        (
            "$schema: https://componentsdk.azureedge.net/jsonschema/CommandComponent.json\n",
            Generation.COMPONENT_2,
        ),
        ("$schema: http://azureml/sdk-1-5/ParallelComponent.json\n", Generation.COMPONENT_2),
        ("$schema: https://example.com/DistributedComponent.json\n", Generation.COMPONENT_2),
        ("$schema: https://example.com/HDInsightComponent.json\n", Generation.COMPONENT_2),
        ("type: CommandComponent@2\n", Generation.COMPONENT_2),
        ("type: ParallelComponent\n", Generation.COMPONENT_2),
        ("type: command\n", Generation.CLI_V2),
        (
            "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n",
            Generation.CLI_V2,
        ),
        # Seen in the wild: the 2.0 schema URL with a CLI v2 type and CLI v2 placeholders.
        (
            "$schema: http://azureml/sdk-2-0/CommandComponent.json\ntype: command\n",
            Generation.CLI_V2,
        ),
        # An unknown type falls back to the schema.
        (
            "$schema: http://azureml/sdk-2-0/CommandComponent.json\ntype: command_component\n",
            Generation.COMPONENT_2,
        ),
    ],
)
def test_detect_generation(text: str, generation: Generation) -> None:
    root = parse_document(Path("/x/spec.yaml"), text).root
    assert detect_generation(root) is generation


def test_relative_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m/spec.yaml").write_text("type: command\nname: a\ncommand: echo\n")
    monkeypatch.chdir(tmp_path)
    spec = load_spec("m/../m/spec.yaml")
    assert spec.source == tmp_path / "m/spec.yaml"
    assert spec.code is not None and spec.code.base == tmp_path / "m"


def test_load_spec_text_uses_the_path_for_messages_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    spec = load_spec_text(
        tmp_path / "spec.yml", "type: command\nname: a\ncommand: echo\ncode: src\n"
    )
    assert spec.source == tmp_path / "spec.yml"
    assert spec.code is not None and spec.code.base == tmp_path / "src"
