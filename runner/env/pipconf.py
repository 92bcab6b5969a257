"""pip's index settings, handed to uv, which reads no pip configuration.

A module's requirements were written for pip, and many machines configure pip with a company
mirror (`index-url`), extra indexes or local wheel folders (`find-links`), in pip.conf or in
PIP_* variables. uv ignores all of it, so without this bridge a venv build would go to pypi.org
where pip would not (and fail behind a firewall, or miss wheels only a local folder has).

The bridge applies only when uv has no index settings of its own (UV_* variables, or a uv.toml
that mentions an index), so uv's configuration always wins. Extra indexes are searched the
way pip searches them (`UV_INDEX_STRATEGY=unsafe-best-match`: the best version across all
indexes) rather than uv's default (the first index that has the package), so the versions
chosen are the ones pip would choose. The settings travel as environment variables, not as
arguments: an index URL may hold a password, and argv is visible to every user and in the log.

Index settings are not part of an environment's fingerprint: they say where packages come
from, not which packages are installed.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Mapping
from pathlib import Path

from runner.struct import Struct

_UV_INDEX_VARIABLES = (
    "UV_INDEX",
    "UV_DEFAULT_INDEX",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_CONFIG_FILE",
)
_TRUE = {"1", "true", "yes", "on"}


class PipIndexes(Struct):
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    cert: str | None = None

    def uv_variables(self) -> dict[str, str]:
        """The same settings as uv environment variables."""
        variables: dict[str, str] = {}
        if self.index_url:
            variables["UV_INDEX_URL"] = self.index_url
        if self.extra_index_urls:
            variables["UV_EXTRA_INDEX_URL"] = " ".join(self.extra_index_urls)
            variables["UV_INDEX_STRATEGY"] = "unsafe-best-match"
        if self.find_links:
            variables["UV_FIND_LINKS"] = ",".join(self.find_links)
        if self.no_index:
            variables["UV_NO_INDEX"] = "1"
        return variables


def pip_indexes(environ: Mapping[str, str], etc: Path = Path("/etc")) -> PipIndexes:
    """pip's effective index settings for `pip install`: config files, then PIP_* variables."""
    settings: dict[str, str] = {}
    for path in _pip_config_files(environ, etc):
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue
        for section in ("global", "install"):
            if parser.has_section(section):
                for key, value in parser.items(section):
                    settings[key.replace("_", "-")] = value
    for key in ("index-url", "extra-index-url", "find-links", "no-index", "cert"):
        variable = "PIP_" + key.upper().replace("-", "_")
        if environ.get(variable):
            settings[key] = environ[variable]
    return PipIndexes(
        index_url=settings.get("index-url", "").strip() or None,
        extra_index_urls=tuple(settings.get("extra-index-url", "").split()),
        find_links=tuple(settings.get("find-links", "").split()),
        no_index=settings.get("no-index", "").strip().lower() in _TRUE,
        cert=settings.get("cert", "").strip() or None,
    )


def uv_has_index_settings(environ: Mapping[str, str], etc: Path = Path("/etc")) -> bool:
    if any(environ.get(variable) for variable in _UV_INDEX_VARIABLES):
        return True
    home = Path(environ.get("HOME") or Path.home())
    config_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    system = [Path(d) for d in environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":") if d]
    for folder in [config_home, *system, etc]:
        try:
            text = (folder / "uv" / "uv.toml").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if re.search(r"index|find-links", text):
            return True
    return False


def bridged_variables(environ: Mapping[str, str], etc: Path = Path("/etc")) -> dict[str, str]:
    """What to add to uv's environment so that it installs from where pip would (`etc`: the
    system configuration folder, replaceable for tests)."""
    if uv_has_index_settings(environ, etc):
        return {}
    indexes = pip_indexes(environ, etc)
    variables = indexes.uv_variables()
    if indexes.cert and not environ.get("SSL_CERT_FILE"):
        variables["SSL_CERT_FILE"] = indexes.cert
    return variables


def masked(value: str) -> str:
    """A URL list with passwords hidden, for the build log."""
    return re.sub(r"//[^/@\s]+@", "//***@", value)


def _pip_config_files(environ: Mapping[str, str], etc: Path) -> list[Path]:
    """pip's configuration files, lowest precedence first (as `pip config debug` lists them)."""
    chosen = environ.get("PIP_CONFIG_FILE")
    if chosen == os.devnull:
        return []
    home = Path(environ.get("HOME") or Path.home())
    xdg_dirs = [Path(d) for d in environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":") if d]
    config_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    files = [d / "pip" / "pip.conf" for d in xdg_dirs]
    files += [etc / "pip.conf", home / ".pip" / "pip.conf", config_home / "pip" / "pip.conf"]
    if chosen:
        files.append(Path(chosen))
    return [path for path in files if path.is_file()]
