"""Named environments: the shipped definitions, every reference form, the search path and its
precedence, and the errors (unknown name or version, broken definition files)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from runner.config import load_settings
from runner.env.choose import choose_environment
from runner.env.named import (
    SHIPPED,
    default_search_path,
    load_definition,
    load_definitions,
    parse_reference,
    resolve_named,
)
from runner.errors import SpecError, UnsupportedError
from runner.spec.load import load_spec

REPO = Path(__file__).resolve().parent.parent.parent
SHIPPED_FILES = sorted(SHIPPED.glob("*.yaml"))


def define(folder: Path, name: str, version: int, python: str = "3.11", file: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (file or f"{name}-{version}.yaml")
    path.write_text(
        textwrap.dedent(
            f"""\
            name: {name}
            version: {version}
            description: test environment
            image: example.org/{name}:{version}
            conda_file:
              channels: [conda-forge]
              dependencies:
                - python={python}
                - pip:
                    - six
            """
        ),
        encoding="utf-8",
    )
    return path


# ---- the shipped definitions --------------------------------------------------------------


def test_shipped_folder_is_the_top_level_one_and_in_the_package() -> None:
    assert (REPO / "environments").resolve() == SHIPPED
    # The package reaches it through a symlink, which a wheel turns into copies.
    assert (REPO / "runner" / "environments").is_symlink()
    assert (REPO / "runner" / "environments").resolve() == SHIPPED
    assert len(SHIPPED_FILES) >= 5


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=lambda path: path.stem)
def test_shipped_definition_is_valid(path: Path) -> None:
    definition = load_definition(path)
    assert definition.name == path.stem
    assert definition.version >= 1
    assert definition.description
    spec = definition.spec
    assert (
        spec.image
        == f"mcr.microsoft.com/azureml/curated/{path.stem.removeprefix('AzureML-')}:latest"
    )
    assert spec.conda is not None
    assert spec.conda.channels == ("conda-forge",)
    assert spec.conda.python_version in ("3.8", "3.10", "3.11")
    assert spec.conda.pip, "every curated environment installs its frameworks with pip"
    assert spec.named is None and spec.os == "linux"
    assert resolve_named(f"azureml:{definition.name}@latest", [SHIPPED]) == spec


def test_shipped_names() -> None:
    assert sorted(d.name for d in load_definitions([SHIPPED])) == [
        "AzureML-sklearn-1.0-ubuntu20.04-py38-cpu",
        "acpt-pytorch-2.2-cuda12.1",
        "lightgbm-3.3",
        "minimal-py311-inference",
        "sklearn-1.5",
    ]


# ---- reference forms ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [
        "azureml:sklearn-1.5:1",
        "azureml:sklearn-1.5@latest",
        "azureml://registries/azureml/environments/sklearn-1.5/versions/1",
        "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
        "sklearn-1.5:1",
        "sklearn-1.5@latest",
        "azureml:AzureML-sklearn-1.5:1",
        "azureml:AzureML-sklearn-1.5@latest",
        "azureml://registries/azureml/environments/AzureML-sklearn-1.5/labels/latest",
        "  azureml:sklearn-1.5:1  ",
    ],
)
def test_reference_forms_resolve(reference: str) -> None:
    spec = resolve_named(reference, [SHIPPED])
    assert spec.image == "mcr.microsoft.com/azureml/curated/sklearn-1.5:latest"
    assert spec.conda is not None and "scikit-learn~=1.5.0" in spec.conda.pip


def test_workspace_curated_long_name_resolves() -> None:
    spec = resolve_named("azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest", [SHIPPED])
    assert spec.conda is not None and spec.conda.python_version == "3.8"


def test_parse_reference() -> None:
    assert parse_reference("azureml:x:3").version == "3"
    assert parse_reference("azureml:x@latest").version is None
    uri = "azureml://registries/r/environments/x/versions/7"
    assert (parse_reference(uri).name, parse_reference(uri).version) == ("x", "7")


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("azureml:sklearn-1.5", "names no version"),
        ("azureml:sklearn-1.5@stable", "only the label 'latest' is known locally"),
        ("azureml://registries/azureml/environments/x/labels/prod", "only the label 'latest'"),
        ("azureml:a:b:c", "cannot read the environment reference"),
        ("azureml://registries/azureml/models/x/versions/1", "cannot read"),
    ],
)
def test_bad_references(reference: str, message: str) -> None:
    with pytest.raises(UnsupportedError, match=message):
        resolve_named(reference, [SHIPPED])


# ---- versions and precedence --------------------------------------------------------------


def test_latest_is_the_highest_version(tmp_path: Path) -> None:
    for version in (1, 3, 2):
        define(tmp_path / "mine", "tool", version, python=f"3.{9 + version}")
    spec = resolve_named("azureml:tool@latest", [tmp_path / "mine"])
    assert spec.conda is not None and spec.conda.python_version == "3.12"
    spec = resolve_named("azureml:tool:2", [tmp_path / "mine"])
    assert spec.conda is not None and spec.conda.python_version == "3.11"


def test_unknown_version_lists_the_known_ones(tmp_path: Path) -> None:
    for version in (2, 10):
        define(tmp_path / "mine", "tool", version)
    with pytest.raises(UnsupportedError) as failure:
        resolve_named("azureml:tool:26", [tmp_path / "mine"])
    assert (
        failure.value.message == "environment 'tool' has no version 26 here (known versions: 2, 10)"
    )
    assert failure.value.hint == (
        "use azureml:tool@latest, or add a definition with version: 26 (see environments/README.md)"
    )


def test_user_folder_takes_precedence(tmp_path: Path) -> None:
    define(tmp_path / "user", "sklearn-1.5", 1, python="3.12")
    search = [tmp_path / "user", SHIPPED]
    spec = resolve_named("azureml:sklearn-1.5:1", search)
    assert spec.image == "example.org/sklearn-1.5:1"
    assert spec.conda is not None and spec.conda.python_version == "3.12"
    # The shipped ones the user did not redefine are still there.
    assert resolve_named("azureml:lightgbm-3.3@latest", search).image is not None


def test_a_user_version_adds_to_the_shipped_ones(tmp_path: Path) -> None:
    define(tmp_path / "user", "sklearn-1.5", 26)
    search = [tmp_path / "user", SHIPPED]
    assert resolve_named("azureml:sklearn-1.5@latest", search).image == "example.org/sklearn-1.5:26"
    assert resolve_named("azureml:sklearn-1.5:1", search).image == (
        "mcr.microsoft.com/azureml/curated/sklearn-1.5:latest"
    )


def test_same_name_and_version_twice_in_one_folder(tmp_path: Path) -> None:
    define(tmp_path / "user", "tool", 1, file="a.yaml")
    second = define(tmp_path / "user", "tool", 1, file="b.yml")
    with pytest.raises(SpecError) as failure:
        resolve_named("azureml:tool:1", [tmp_path / "user"])
    assert str(second) in str(failure.value)
    assert "environment tool version 1 is also defined in a.yaml" in str(failure.value)


def test_unknown_name_lists_the_known_ones(tmp_path: Path) -> None:
    define(tmp_path / "user", "beta", 1)
    define(tmp_path / "user", "Alpha", 1)
    missing = tmp_path / "missing"
    with pytest.raises(UnsupportedError) as failure:
        resolve_named("azureml:gamma:1", [tmp_path / "user", missing])
    assert failure.value.message == (
        "unknown environment 'gamma' in 'azureml:gamma:1'; known environments "
        "(each also as AzureML-<name>): Alpha, beta"
    )
    assert failure.value.hint == (
        "add a definition: one YAML file with name, version, image and conda_file in "
        "~/.config/runner/environments/ or a folder named by RUNNER_ENVIRONMENTS "
        f"(see environments/README.md); searched: {tmp_path / 'user'}, {missing} (missing)"
    )


def test_unknown_name_suggests_a_close_one() -> None:
    with pytest.raises(UnsupportedError, match=r"\(did you mean 'sklearn-1.5'\?\)"):
        resolve_named("azureml:sklearn-1.6@latest", [SHIPPED])


# ---- the search path ----------------------------------------------------------------------


def test_default_search_path(tmp_path: Path) -> None:
    environ = {
        "RUNNER_ENVIRONMENTS": f"{tmp_path / 'a'}{os.pathsep}{os.pathsep}{tmp_path / 'b'}",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    assert default_search_path(environ) == [
        tmp_path / "a",
        tmp_path / "b",
        tmp_path / "config" / "runner" / "environments",
        SHIPPED,
    ]


def test_default_search_path_without_settings() -> None:
    assert default_search_path({"XDG_CONFIG_HOME": "relative/ignored"}) == [
        Path.home() / ".config" / "runner" / "environments",
        SHIPPED,
    ]


def test_a_spec_naming_a_curated_environment(write_module, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_module(
        """\
        $schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
        type: command
        name: train
        version: 1
        environment: azureml:AzureML-lightgbm-3.3@latest
        command: python -c pass
        """
    )
    named = load_spec(path).environment.named
    assert named == "azureml:AzureML-lightgbm-3.3@latest"
    search = default_search_path({"XDG_CONFIG_HOME": str(tmp_path / "config")})
    spec = resolve_named(named, search)
    assert spec.conda is not None and "lightgbm~=3.3.5" in spec.conda.pip


LEGACY_REFERENCE = """\
    amlModuleIdentifier: {{moduleName: Legacy Env, moduleVersion: 0.0.1}}
    outputs:
    - {{name: Out, type: AnyDirectory}}
    implementation:
      container:
        amlEnvironment: {{name: {name}{version}}}
        command: [python, -c, pass]
        args: [{{outputPath: Out}}]
    """


@pytest.mark.parametrize("version", ["", ", version: '1'"])
def test_a_legacy_name_version_reference_resolves_to_a_curated_environment(
    version: str,
    write_module,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    path = write_module(
        LEGACY_REFERENCE.format(name="AzureML-sklearn-1.0-ubuntu20.04-py38-cpu", version=version)
    )
    settings = load_settings({}, env="host")
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    choice = choose_environment(load_spec(path), settings, environ=environ)
    assert choice.request.spec.conda is not None
    assert any(dep.startswith("scikit-learn") for dep in choice.request.spec.conda.pip)


@pytest.mark.parametrize(
    ("name", "version", "problem"),
    [
        ("AzureML-Minimal", ", version: '1'", "unknown environment 'AzureML-Minimal'"),
        ("sklearn-1.5", ", version: '7'", "environment 'sklearn-1.5' has no version 7"),
    ],
)
def test_an_unknown_legacy_reference_says_what_to_do(
    name: str,
    version: str,
    problem: str,
    write_module,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    path = write_module(LEGACY_REFERENCE.format(name=name, version=version))
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    with pytest.raises(UnsupportedError) as failure:
        choose_environment(load_spec(path), load_settings({}, env="host"), environ=environ)
    assert failure.value.message.startswith(f"{path}: {problem}")
    assert failure.value.hint is not None
    assert "in amlEnvironment, leave out `version`" in failure.value.hint
    assert "describe the environment inline" in failure.value.hint


# ---- broken definition files --------------------------------------------------------------


def broken(tmp_path: Path, text: str) -> str:
    path = tmp_path / "envs" / "bad.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(SpecError) as failure:
        resolve_named("azureml:x:1", [tmp_path / "envs"])
    return str(failure.value)


def test_bad_version_names_file_and_line(tmp_path: Path) -> None:
    message = broken(tmp_path, "name: x\nversion: one\n")
    path = tmp_path / "envs" / "bad.yaml"
    assert message == f"{path}:2:10: version: expected an integer, found string 'one'"


def test_zero_version(tmp_path: Path) -> None:
    message = broken(tmp_path, "name: x\nversion: 0\n")
    assert message.startswith(
        f"{tmp_path / 'envs' / 'bad.yaml'}:2:10: version: expected an integer"
    )


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    message = broken(tmp_path, "name: x\nversion: 1\nconda_file:\n  dependencies: [python\n")
    assert message.startswith(f"{tmp_path / 'envs' / 'bad.yaml'}:4:")
    assert "invalid YAML" in message


def test_unknown_key(tmp_path: Path) -> None:
    message = broken(tmp_path, "name: x\nversion: 1\nconda:\n  dependencies: [python]\n")
    assert message.startswith(
        f"{tmp_path / 'envs' / 'bad.yaml'}:4:3: conda: unknown key 'conda' "
        "(did you mean 'conda_file'?)"
    )


def test_missing_name(tmp_path: Path) -> None:
    message = broken(tmp_path, "version: 1\n")
    assert "missing required field 'name'" in message and "bad.yaml" in message


def test_bad_conda_section(tmp_path: Path) -> None:
    message = broken(
        tmp_path,
        """\
        name: x
        version: 1
        conda_file:
          dependencies:
            - python=3.11
            - {pipp: [six]}
        """,
    )
    assert message.startswith(f"{tmp_path / 'envs' / 'bad.yaml'}:6:7: conda_file.dependencies[1]")


def test_conda_file_next_to_the_definition(tmp_path: Path) -> None:
    folder = tmp_path / "envs"
    (folder / "conda").mkdir(parents=True)
    (folder / "conda" / "x.yml").write_text(
        "channels: [conda-forge]\ndependencies: [python=3.12, numpy]\n", encoding="utf-8"
    )
    (folder / "x.yaml").write_text(
        "name: x\nversion: 1\nconda_file: conda/x.yml\n", encoding="utf-8"
    )
    spec = resolve_named("azureml:x:1", [folder])
    assert spec.conda is not None and spec.conda.dependencies == ("python=3.12", "numpy")
    assert spec.image is None


def test_a_conda_file_among_the_definitions_is_reported(tmp_path: Path) -> None:
    message = broken(tmp_path, "channels: [conda-forge]\ndependencies: [python=3.12]\n")
    assert "unknown key 'channels'" in message
    assert "a conda file it names goes in a subfolder" in message


def test_missing_conda_file(tmp_path: Path) -> None:
    message = broken(tmp_path, "name: x\nversion: 1\nconda_file: nowhere.yml\n")
    assert (
        f"{tmp_path / 'envs' / 'bad.yaml'}:3:13: conda_file: conda file 'nowhere.yml' not found"
        in message
    )
