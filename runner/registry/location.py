"""Where the registry lives, and the names of the paths inside it.

    catalogue.db          the SQLite catalogue: modules, versions, data types
    store/                a content-addressed store (runner.cache.store, untagged): one entry per
                          registered bundle, keyed by the bundle's digest, kept from gc
    checkouts/<digest>/   a bundle placed on disk (links into store/): what resolution loads
    tmp/                  registrations being staged; checkouts being placed

Location: `--registry DIR`, else $RUNNER_REGISTRY, else $XDG_DATA_HOME/runner/registry (when
absolute), else ~/.local/share/runner/registry. A data folder, not a cache: registered
versions exist nowhere else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

REGISTRY_VARIABLE = "RUNNER_REGISTRY"
BUNDLE = "bundle"  # the one output of each entry of the registry's store: a version's bundle


def default_registry_root(environ: Mapping[str, str]) -> Path:
    configured = environ.get(REGISTRY_VARIABLE, "").strip()
    if configured:
        return Path(configured).expanduser().absolute()
    xdg = environ.get("XDG_DATA_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "runner" / "registry"
    home = environ.get("HOME")
    return (Path(home) if home else Path.home()) / ".local" / "share" / "runner" / "registry"


def registry_root(given: Path | None, environ: Mapping[str, str] | None = None) -> Path:
    """`given` (a --registry flag), else the default for `environ` (os.environ)."""
    if given is not None:
        return Path(given).expanduser().absolute()
    return default_registry_root(os.environ if environ is None else environ)


class Layout:
    """The paths of the registry at `root` (a plain class: it is on the way to every run of a
    registered module, and a dataclass costs a millisecond to create)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def catalogue(self) -> Path:
        return self.root / "catalogue.db"

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def checkouts(self) -> Path:
        return self.root / "checkouts"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def checkout(self, digest: str) -> Path:
        return self.checkouts / digest

    def scratch(self, purpose: str) -> Path:
        """A fresh name under tmp/ (not created), unique across processes."""
        return self.tmp / f"{purpose}-{os.getpid()}-{os.urandom(6).hex()}"
