"""Settings precedence and the backend choice (auto policy, notes about unused images)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runner.config import Settings, load_settings
from runner.env import choose as environment
from runner.errors import SpecError
from runner.spec.load import load_spec

WITH_DEPS = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: with_deps
version: 1
environment:
  image: example.org/base:1
  conda_file: conda.yaml
command: python -c pass
"""
CONDA = "name: x\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - six\n"
BARE = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: bare
version: 1
command: python -c pass
"""


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RUNNER_CONFIG", str(tmp_path / "absent.yaml"))
    monkeypatch.delenv("RUNNER_ENV", raising=False)


def test_precedence_flag_over_variable_over_file(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("env: conda\nstrict_python: true\n")
    environ = {"RUNNER_CONFIG": str(config)}
    assert load_settings(environ).env == "conda"
    assert load_settings(environ).strict_python is True
    assert load_settings({**environ, "RUNNER_ENV": "docker"}).env == "docker"
    assert load_settings({**environ, "RUNNER_ENV": "docker"}, env="venv").env == "venv"


def test_ca_bundle_defaults_to_the_usual_variables(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    absent = {"RUNNER_CONFIG": str(tmp_path / "none.yaml")}
    assert load_settings({**absent, "PIP_CERT": str(bundle)}).ca_bundle == bundle
    assert load_settings({**absent, "SSL_CERT_FILE": str(tmp_path / "gone")}).ca_bundle is None
    assert load_settings(absent, ca_bundle=bundle).ca_bundle == bundle


def test_bad_config_is_a_located_error(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("env: venv\nenvv: docker\n")
    with pytest.raises(SpecError) as caught:
        load_settings({"RUNNER_CONFIG": str(config)})
    assert str(caught.value) == (
        f"{config}:2:7: envv: unknown setting 'envv'\n"
        "  hint: known: ca_bundle, env, executor, ray_address, strict_python"
    )
    with pytest.raises(SpecError, match="unknown environment backend 'vm'"):
        load_settings({"RUNNER_CONFIG": str(tmp_path / "none"), "RUNNER_ENV": "vm"})


def test_executor_and_ray_address_flags_over_variables_over_the_config_file(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("executor: ray\nray_address: head:6379\n")
    environ = {"RUNNER_CONFIG": str(config)}
    assert load_settings({"RUNNER_CONFIG": str(tmp_path / "none")}).executor == "local"
    assert load_settings(environ).executor == "ray"
    assert load_settings(environ).ray_address == "head:6379"
    assert load_settings({**environ, "RAY_ADDRESS": "other:1"}).ray_address == "other:1"
    assert load_settings({**environ, "RUNNER_EXECUTOR": "local"}).executor == "local"
    chosen = load_settings({**environ, "RUNNER_EXECUTOR": "local"}, executor="ray")
    assert chosen.executor == "ray"
    with pytest.raises(SpecError) as caught:
        load_settings({**environ, "RUNNER_EXECUTOR": "dask"})
    assert str(caught.value).startswith("$RUNNER_EXECUTOR: executor: unknown executor 'dask'")


def test_auto_picks_venv_for_dependencies_and_host_otherwise(
    write_module: Callable[..., Path],
) -> None:
    with_deps = load_spec(write_module(WITH_DEPS, {"conda.yaml": CONDA}, name="deps.yaml"))
    bare = load_spec(write_module(BARE, name="bare.yaml"))
    auto = Settings()
    assert environment.choose_environment(with_deps, auto).name == "venv"
    assert environment.choose_environment(bare, auto).name == "host"
    # --python names a host interpreter: that is a request for the host.
    assert environment.choose_environment(with_deps, auto, python="/usr/bin/python3").name == (
        "host"
    )
    assert environment.choose_environment(bare, Settings(env="docker")).name == "docker"


def test_an_unused_image_is_a_note_about_the_spec(write_module: Callable[..., Path]) -> None:
    spec = load_spec(write_module(WITH_DEPS, {"conda.yaml": CONDA}, name="deps.yaml"))
    first = environment.choose_environment(spec, Settings())
    assert first.notes == (
        "deps.yaml: the spec names the image example.org/base:1, which a venv run does not use "
        "(use --env docker to run in it)",
    )
    # On every choice (a result's notes say it each time); the CLI shows it once per spec.
    again = environment.choose_environment(spec, Settings()).notes
    assert again == first.notes
    assert isinstance(again[0], environment.SpecNote) and again[0].spec == spec.source
    host = environment.choose_environment(spec, Settings(env="host"))
    assert host.notes == (
        "deps.yaml: the spec names the image example.org/base:1, which a host run does not use "
        "(use --env docker to run in it)",
        "deps.yaml: the declared conda/pip dependencies are not installed on the host "
        "interpreter (use --env venv, conda or docker to get them)",
    )
