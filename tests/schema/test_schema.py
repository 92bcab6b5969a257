"""`runner schema`: every sample and fixture validates; every invalid-spec case of the loader's
own error table fails the schema unless its reason needs more than the file's shape (listed
below, with why); every key set a loader reads is in the schema, so the two cannot drift."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml

import runner.spec.common
from runner.errors import SpecError
from runner.pipeline.load import load_pipeline
from runner.schema.generate import KINDS, schema
from runner.spec.load import load_spec

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "spec"))
from test_spec_errors import CASES  # noqa: E402

GENERATIONS = {"legacy": "legacy", "component-2.0": "component2", "cli-v2": "cliv2"}
VALIDATORS = {kind: jsonschema.Draft202012Validator(schema(kind)) for kind in KINDS}

# Rejected by the loader for what the file's shape cannot say: other files (conda files, code
# folders), names across the spec (duplicates, placeholders naming inputs), values against
# each other (defaults against min, max and options). `runner validate` finds these.
SEMANTIC = {
    "legacy input and output with one name", "legacy inputs with one python name",
    "legacy name without a python name", "legacy default below min", "legacy default above max",
    "legacy min above max", "legacy enum default not an option", "legacy enum option twice",
    "legacy placeholder names no input", "legacy outputPath names an input",
    "legacy inputValue on a port", "legacy conda file missing", "legacy conda file not YAML",
    "legacy conda file with a bad entry", "legacy includes inline and in a file",
    "legacy sourceDirectory missing", "legacy parallel inputData unknown",
    "2.0 command names an unknown input", "2.0 command names an input as an output",
    "2.0 code missing", "2.0 code is a file", "v2 command names an unknown input",
    "v2 conda file missing", "v2 code file missing", "v2 includes inline and in a file",
}  # fmt: skip
# Not a module spec of any generation (no schema applies), or not YAML at all.
NO_SCHEMA = {"empty file", "top-level list", "unrecognised shape", "moduleIdentifier typo",
             "unknown type, no schema, other value", "args:[ glued"}  # fmt: skip


def _spec_files() -> Iterator[Path]:
    for path in sorted(
        [*REPO.glob("samples/**/*.y*ml"), *REPO.glob("tests/**/fixtures/**/*.y*ml")]
    ):
        if "node_modules" not in path.parts:
            yield path


def _kind(path: Path) -> str | None:
    """The schema a file answers to, as the loaders decide: None for what is no spec."""
    document = yaml.safe_load(path.read_text())
    if isinstance(document, dict) and document.get("type") == "pipeline":
        return "pipeline"
    try:
        return GENERATIONS[load_spec(path).generation.value]
    except SpecError as exc:
        assert "not a module spec" in str(exc), f"{path} fails to load: {exc}"
        return None  # a conda file and the like


FILES = [(path, kind) for path in _spec_files() if (kind := _kind(path)) is not None]


def test_the_schemas_are_draft_2020_12() -> None:
    for kind in KINDS:
        jsonschema.Draft202012Validator.check_schema(schema(kind))
        assert schema(kind)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize(("path", "kind"), FILES, ids=[str(p.relative_to(REPO)) for p, _ in FILES])
def test_every_sample_and_fixture_validates(path: Path, kind: str) -> None:
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}"
              for e in VALIDATORS[kind].iter_errors(yaml.safe_load(path.read_text()))]  # fmt: skip
    assert not errors, errors


def _case_kind(document: object) -> str | None:
    if not isinstance(document, dict):
        return None
    kind = str(document.get("type", "")).lower()
    marker = str(document.get("$schema", ""))
    if "amlModuleIdentifier" in document:
        return "legacy"
    if kind == "pipeline" or "pipelineJob" in marker:
        return "pipeline"
    if "CommandComponent.json" in marker or kind.endswith("component"):
        return "component2"
    return "cliv2" if kind == "command" else None


@pytest.mark.parametrize("name", list(CASES))
def test_structural_errors_of_the_loader_fail_the_schema(name: str) -> None:
    text = CASES[name][0]
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        assert name in NO_SCHEMA
        return
    kind = _case_kind(document)
    if kind is None:
        assert name in NO_SCHEMA
        return
    accepted = VALIDATORS[kind].is_valid(document)
    assert accepted == (name in SEMANTIC), (
        f"{name}: the schema {'accepts' if accepted else 'rejects'} it"
    )


def test_every_key_set_a_loader_reads_is_in_the_schema(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The loaders are run on every sample and fixture, and on the error table's cases, with
    `fields` recording the keys they know at each place; each set must be the properties of
    some object of that schema."""
    seen: dict[str, set[frozenset[str]]] = {kind: set() for kind in KINDS}
    current: list[str] = []
    original = runner.spec.common.fields

    def recording(ctx, node, known, **kw):  # type: ignore[no-untyped-def]
        if current[0] != "pipeline":  # a pipeline's modules are checked as files of their own
            seen[current[0]].add(frozenset(known))
        return original(ctx, node, known, **kw)

    def recording_pipeline(ctx, node, known, **kw):  # type: ignore[no-untyped-def]
        seen["pipeline"].add(frozenset(known))
        return original(ctx, node, known, **kw)

    for module in ("common", "legacy", "legacy_impl", "component2", "cliv2", "files", "ports"):
        target = getattr(runner.spec, module, None) or __import__(f"runner.spec.{module}",
                                                                  fromlist=["x"])  # fmt: skip
        if hasattr(target, "fields"):
            monkeypatch.setattr(target, "fields", recording)
    import runner.pipeline.load as pipeline_load

    monkeypatch.setattr(pipeline_load, "fields", recording_pipeline)
    for path, kind in FILES:
        current[:] = [kind]
        if kind == "pipeline":
            try:
                load_pipeline(path)
            except SpecError as exc:  # its modules are registered ones: none in this registry
                assert "no registered module" in exc.message, exc
        else:
            load_spec(path)
    for index, (name, (text, files, _)) in enumerate(CASES.items()):
        folder = tmp_path / str(index)
        for relpath, content in files.items():
            (folder / relpath).parent.mkdir(parents=True, exist_ok=True)
            (folder / relpath).write_text(content)
        folder.mkdir(exist_ok=True)
        (folder / "spec.yaml").write_text(text)
        current[:] = [_case_kind(_yaml_or_none(text)) or "cliv2"]
        if name not in NO_SCHEMA and current[0] != "pipeline":
            with contextlib.suppress(SpecError):
                load_spec(folder / "spec.yaml")
    missing = [
        f"{kind}: {sorted(keys)}"
        for kind, key_sets in seen.items()
        for keys in key_sets
        if not any(keys <= props for props in _objects(schema(kind)))
    ]
    assert not missing, f"key sets the loaders read and the schemas lack: {missing}"


def _yaml_or_none(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _objects(node: object) -> Iterator[frozenset[str]]:
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            yield frozenset(node["properties"])
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def test_the_command_prints_and_writes(tmp_path: Path) -> None:
    runner_cli = [sys.executable, "-m", "runner", "schema"]
    one = subprocess.run([*runner_cli, "cliv2"], capture_output=True, text=True, check=True)
    assert json.loads(one.stdout) == schema("cliv2")
    written = subprocess.run([*runner_cli, "--write", str(tmp_path), "--json"],
                             capture_output=True, text=True, check=True)  # fmt: skip
    paths = json.loads(written.stdout)["written"]
    assert sorted(paths) == sorted(KINDS)
    for kind, path in paths.items():
        assert json.loads(Path(path).read_text()) == schema(kind)
