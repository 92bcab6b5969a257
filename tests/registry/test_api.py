"""The registry's Python API (for the Designer's palette and scripts) and the registry
argument of `runner.load_module`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from registry_helpers import Json, MakeModule

import runner
from runner.registry.api import load_registered, registered_modules
from runner.registry.lookup import UnknownModule


def test_registered_modules_with_versions_and_interfaces(
    make_module: MakeModule, run_json: Json
) -> None:
    run_json("module", "register", make_module(version="1.0.0"))
    run_json("module", "register", make_module(version="1.1.0", tag="v11"))
    run_json("module", "disable", "echo@1.1.0")
    (module,) = registered_modules()
    assert (module.name, module.default_version, module.display_name) == (
        "echo", "1.0.0", "echo module",
    )  # fmt: skip
    assert module.versions == ("1.0.0",)
    (everything,) = registered_modules(include_disabled=True)
    assert everything.versions == ("1.0.0", "1.1.0")
    assert everything.enabled_versions == ("1.0.0",)
    spec = everything.spec("1.1.0")  # a disabled version can still be inspected
    assert spec.version == "1.1.0"
    assert [(i.python_name, i.default) for i in spec.inputs] == [("text", "hello")]
    assert [o.python_name for o in spec.outputs] == ["out"]
    assert load_registered("azureml:echo:1.1.0").version == "1.1.0"


def test_load_module_takes_a_registry_folder(
    make_module: MakeModule, run_json: Json, tmp_path: Path
) -> None:
    other = tmp_path / "other-registry"
    run_json("module", "register", make_module(), "--registry", other)
    assert registered_modules() == []
    with pytest.raises(UnknownModule):
        runner.load_module("echo")
    module = runner.load_module("echo@1.0.0", registry=other)
    result = module.run(text="api", quiet=True)
    assert result.ok, result.message
    assert Path(result.outputs["out"], "said.txt").read_text() == "API v1"
    assert os.environ["RUNNER_REGISTRY"] != str(other)
