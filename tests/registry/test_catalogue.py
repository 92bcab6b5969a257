"""Where the registry lives, reading one that does not exist, and catalogue formats."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from runner.registry.base import Registry
from runner.registry.catalogue import FORMAT, Catalogue
from runner.registry.errors import RegistryError
from runner.registry.location import default_registry_root, registry_root


def test_location_flag_then_variable_then_xdg_data(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path / "home")}
    assert default_registry_root(home) == tmp_path / "home/.local/share/runner/registry"
    xdg = {**home, "XDG_DATA_HOME": str(tmp_path / "data")}
    assert default_registry_root(xdg) == tmp_path / "data/runner/registry"
    relative_xdg = {**home, "XDG_DATA_HOME": "data"}  # not absolute: ignored, as the spec says
    assert default_registry_root(relative_xdg) == tmp_path / "home/.local/share/runner/registry"
    configured = {**xdg, "RUNNER_REGISTRY": str(tmp_path / "mine")}
    assert default_registry_root(configured) == tmp_path / "mine"
    assert registry_root(tmp_path / "flag", configured) == tmp_path / "flag"


def test_reading_a_registry_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    with Registry(tmp_path / "nowhere") as registry:
        assert registry.catalogue.modules() == []
        assert registry.catalogue.datatypes() == []
    assert not (tmp_path / "nowhere").exists()


def test_a_catalogue_of_a_newer_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.db"
    Catalogue(path, writable=True).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == FORMAT
        db.execute(f"PRAGMA user_version = {FORMAT + 1}")
    db.close()
    for writable in (False, True):
        with pytest.raises(RegistryError, match="was written by a newer runner"):
            Catalogue(path, writable=writable)


def test_a_damaged_catalogue_is_an_error_but_never_stops_a_spec_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from runner.cli import main as cli

    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / "catalogue.db").write_bytes(b"not a database at all" * 100)
    monkeypatch.setenv("RUNNER_REGISTRY", str(registry))
    spec = tmp_path / "custom.yaml"
    spec.write_text(
        "$schema: http://azureml/sdk-2-0/CommandComponent.json\ntype: CommandComponent\n"
        "name: custom\nversion: 1.0.0\noutputs:\n  result: {type: TabularData}\n"
        "command: echo {outputs.result}\n"
    )
    assert cli.main(["render", str(spec)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("echo ")
    assert "registered data types not read" in err and "file is not a database" in err
    for argv in (["module", "list"], ["run", "custom"], ["datatype", "register", "X"]):
        assert cli.main(argv) == 2
        _, err = capsys.readouterr()
        assert "file is not a database" in err and "Traceback" not in err
