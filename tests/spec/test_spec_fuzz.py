"""Robustness: whatever YAML comes in, the loader either returns a spec or raises SpecError."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.errors import SpecError
from runner.spec.load import load_spec_text

FIXTURES = Path(__file__).parent / "fixtures"
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

KEYS = [
    *("amlModuleIdentifier", "moduleName", "moduleVersion", "namespace", "jobType", "inputs"),
    *("outputs", "implementation", "container", "parallel", "hdinsight", "command", "args"),
    *("inputValue", "inputPath", "outputPath", "name", "type", "default", "options", "min"),
    *("max", "enum", "optional", "argumentName", "$schema", "code", "environment", "docker"),
    *("image", "baseImage", "conda", "conda_file", "conda_dependencies", "build", "path"),
    *("conda_dependencies_file", "pip_requirements_file", "additional_includes", "entry"),
    *("additionalIncludes", "sourceDirectory", "launcher", "distribution", "resources"),
    *("environment_variables", "inputData", "outputData", "input_data", "output_data"),
    *("amlEnvironment", "python", "condaDependencies", "condaDependenciesFile", "file"),
    *("pipRequirementsFile", "version", "tags", "metadata", "annotations", "os", "os_type"),
    *("successful_return_code", "is_deterministic", "isDeterministic", "instance_count"),
    *("process_count_per_instance", "dependencies", "pip", "channels", "mode"),
]
WORDS = [
    *("String", "Integer", "Float", "Boolean", "Enum", "Int", "Mode", "AnyFile", "AnyDirectory"),
    *("command", "CommandComponent", "ParallelComponent@2", "DistributedComponent", "pipeline"),
    *("HDInsightComponent", "uri_file", "uri_folder", "string", "integer", "number", "boolean"),
    *("enum", "mpi", "pytorch", "torch.distributed", "Zero", "ZeroOrGreater", "linux", "x", "y"),
    *("Data", "Input path", "../", ".", "src", "main.py", "conda.yaml", "bad_conda.yaml"),
    *("req.txt", "missing.yml", "azureml:env:1", "azureml:env@latest", "python:3.11"),
    *("python a.py {inputs.x} [--y {inputs.y}] {outputs.out}", "{inputs.", "[ {inputs.x}"),
    *("echo ${{inputs.x}} $[[--y ${{inputs.y}}]] ${{outputs.out}}", "${{inputs.x", "$[[x"),
    *("http://azureml/sdk-2-0/CommandComponent.json", "microsoft.com/azureml/module/v2beta1"),
    "https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json",
]
HEADS = [
    {},
    {"amlModuleIdentifier": {"moduleName": "M", "moduleVersion": "1"}},
    {"$schema": "http://azureml/sdk-2-0/CommandComponent.json", "name": "m"},
    {"type": "CommandComponent", "name": "m", "command": "echo"},
    {"type": "command", "name": "m", "command": "echo"},
]

names = st.one_of(
    st.sampled_from(["x", "y", "out", "Data", "Input path", "data_"]), st.text(max_size=6)
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(WORDS),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=12,
)

placeholders = st.dictionaries(
    st.sampled_from(["inputValue", "inputPath", "outputPath", "other"]),
    names,
    min_size=1,
    max_size=2,
)
args = st.lists(
    st.one_of(scalars, placeholders, st.lists(st.one_of(scalars, placeholders), max_size=3)),
    max_size=6,
)
legacy_input = st.fixed_dictionaries(
    {"name": names, "type": st.one_of(st.sampled_from(WORDS), values)},
    optional={
        "default": scalars,
        "min": scalars,
        "max": scalars,
        "optional": scalars,
        "argumentName": scalars,
        "options": st.lists(
            st.one_of(scalars, st.dictionaries(names, st.one_of(st.none(), st.lists(values)))),
            max_size=4,
        ),
    },
)
section = st.fixed_dictionaries(
    {},
    optional={
        "command": st.one_of(st.lists(scalars, max_size=3), values),
        "args": st.one_of(args, values),
        "amlEnvironment": values,
        "image": scalars,
        "inputData": st.one_of(names, st.lists(names)),
        "outputData": names,
        "entry": scalars,
        "sourceDirectory": st.sampled_from(["src", "missing", "main.py", "."]),
        "additionalIncludes": values,
        "file": scalars,
    },
)
legacy_doc = st.fixed_dictionaries(
    {
        "amlModuleIdentifier": st.one_of(st.just(HEADS[1]["amlModuleIdentifier"]), values),
        "inputs": st.one_of(st.lists(legacy_input, max_size=4), values),
        "implementation": st.dictionaries(
            st.sampled_from(["container", "parallel", "hdinsight", "os"]), section, max_size=2
        ),
    },
    optional={"jobType": st.one_of(scalars, st.sampled_from(["parallel", "Mpi", "hdinsight"]))},
)
map_input = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(WORDS), values)},
    optional={"default": scalars, "enum": values, "min": scalars, "max": scalars, "path": scalars},
)
map_doc = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["command", "CommandComponent", "ParallelComponent", "HDInsightComponent"]
        ),
        "name": st.one_of(st.just("m"), scalars),
        "inputs": st.one_of(st.dictionaries(names, map_input, max_size=4), values),
        "outputs": st.one_of(st.dictionaries(names, st.one_of(st.none(), map_input)), values),
        "command": st.one_of(st.sampled_from(WORDS), scalars),
    },
    optional={
        "environment": values,
        "code": st.sampled_from(["src", "main.py", "missing", "azureml:c:1"]),
        "parallel": values,
        "launcher": values,
        "distribution": values,
        "resources": values,
        "additional_includes": values,
        "environment_variables": values,
    },
)
documents = st.one_of(
    st.builds(
        lambda head, rest: {**rest, **head}, st.sampled_from(HEADS), st.dictionaries(keys, values)
    ),
    legacy_doc,
    map_doc,
    values,
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spec folder holding the files specs may name, valid and broken."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "src").mkdir()
    (root / "main.py").write_text("print(1)\n")
    (root / "conda.yaml").write_text("dependencies: [python=3.11, {pip: [rich]}]\n")
    (root / "bad_conda.yaml").write_text("dependencies: [python\n")
    (root / "req.txt").write_text("numpy\n")
    return root


def only_spec_errors(path: Path, text: str) -> None:
    with contextlib.suppress(SpecError):
        load_spec_text(path, text)


@SETTINGS
@given(doc=documents)
def test_any_document_loads_or_raises_spec_error(folder: Path, doc: object) -> None:
    only_spec_errors(folder / "spec.yaml", yaml.safe_dump(doc, sort_keys=False))


FIXTURE_TEXTS = sorted(p.read_text() for p in FIXTURES.rglob("*.y*ml") if "conda" not in p.name)


@SETTINGS
@given(
    source=st.sampled_from(FIXTURE_TEXTS),
    cuts=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 12), st.text(max_size=4)), max_size=4),
)
def test_damaged_real_specs_load_or_raise_spec_error(
    folder: Path, source: str, cuts: list[tuple[float, int, str]]
) -> None:
    text = source
    for where, length, insert in cuts:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + length :]
    only_spec_errors(folder / "spec.yaml", text)
