"""pip's index settings handed to uv: which files and variables count, and when uv's win."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.env import pipconf
from runner.env.pipconf import PipIndexes, masked


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def environ(home: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(home), "XDG_CONFIG_DIRS": str(home / "xdg"), **extra}


def pip_indexes(env: dict[str, str]) -> PipIndexes:
    return pipconf.pip_indexes(env, etc=Path(env["HOME"]) / "etc")


def bridged_variables(env: dict[str, str]) -> dict[str, str]:
    return pipconf.bridged_variables(env, etc=Path(env["HOME"]) / "etc")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_user_config_file(home: Path) -> None:
    write(
        home / ".config" / "pip" / "pip.conf",
        "[global]\nindex-url = https://mirror.example/simple\n"
        "extra-index-url =\n  file:///opt/a/simple\n  file:///opt/b/simple\n"
        "find-links = /opt/wheels\n",
    )
    indexes = pip_indexes(environ(home))
    assert indexes == PipIndexes(
        index_url="https://mirror.example/simple",
        extra_index_urls=("file:///opt/a/simple", "file:///opt/b/simple"),
        find_links=("/opt/wheels",),
    )
    assert indexes.uv_variables() == {
        "UV_INDEX_URL": "https://mirror.example/simple",
        "UV_EXTRA_INDEX_URL": "file:///opt/a/simple file:///opt/b/simple",
        "UV_INDEX_STRATEGY": "unsafe-best-match",
        "UV_FIND_LINKS": "/opt/wheels",
    }


def test_system_files_come_first(home: Path) -> None:
    write(home / "xdg" / "pip" / "pip.conf", "[global]\nindex-url = https://xdg/simple\n")
    assert pip_indexes(environ(home)).index_url == "https://xdg/simple"
    write(home / "etc" / "pip.conf", "[global]\nindex-url = https://etc/simple\n")
    assert pip_indexes(environ(home)).index_url == "https://etc/simple"
    write(home / ".config" / "pip" / "pip.conf", "[global]\nindex-url = https://user/simple\n")
    assert pip_indexes(environ(home)).index_url == "https://user/simple"
    write(home / "etc" / "uv" / "uv.toml", 'index-url = "https://uv/simple"\n')
    assert bridged_variables(environ(home)) == {}


def test_precedence_install_section_config_file_then_variables(home: Path) -> None:
    write(home / ".pip" / "pip.conf", "[global]\nindex_url = https://legacy/simple\n")
    write(home / ".config" / "pip" / "pip.conf", "[install]\nfind-links = /user\n")
    chosen = write(
        home / "chosen.conf", "[global]\nfind-links = /chosen\n[install]\nno-index = yes\n"
    )
    env = environ(home, PIP_CONFIG_FILE=str(chosen), PIP_FIND_LINKS="/from-env /second")
    indexes = pip_indexes(env)
    assert indexes.index_url == "https://legacy/simple"
    assert indexes.find_links == ("/from-env", "/second")
    assert indexes.no_index
    assert indexes.uv_variables()["UV_FIND_LINKS"] == "/from-env,/second"


def test_devnull_config_file_disables_files(home: Path) -> None:
    write(home / ".config" / "pip" / "pip.conf", "[global]\nfind-links = /user\n")
    assert pip_indexes(environ(home, PIP_CONFIG_FILE=os.devnull)) == PipIndexes()


def test_nothing_configured_adds_nothing(home: Path) -> None:
    assert bridged_variables(environ(home)) == {}


def test_uv_settings_win(home: Path) -> None:
    write(home / ".config" / "pip" / "pip.conf", "[global]\nfind-links = /user\n")
    assert bridged_variables(environ(home))["UV_FIND_LINKS"] == "/user"
    assert bridged_variables(environ(home, UV_INDEX_URL="https://uv/simple")) == {}
    write(home / ".config" / "uv" / "uv.toml", '[[index]]\nurl = "https://uv/simple"\n')
    assert bridged_variables(environ(home)) == {}


def test_uv_toml_without_index_settings_does_not_count(home: Path) -> None:
    write(home / ".config" / "pip" / "pip.conf", "[global]\nfind-links = /user\n")
    write(home / ".config" / "uv" / "uv.toml", 'cache-dir = "/tmp/uv"\n')
    assert bridged_variables(environ(home)) == {"UV_FIND_LINKS": "/user"}


def test_pip_cert_only_when_no_bundle_is_set(home: Path) -> None:
    write(home / ".config" / "pip" / "pip.conf", "[global]\ncert = /etc/corp.pem\n")
    assert bridged_variables(environ(home)) == {"SSL_CERT_FILE": "/etc/corp.pem"}
    assert bridged_variables(environ(home, SSL_CERT_FILE="/etc/other.pem")) == {}


def test_passwords_are_masked_in_the_log() -> None:
    assert masked("https://user:s3cret@mirror/simple file:///opt/x") == (
        "https://***@mirror/simple file:///opt/x"
    )
