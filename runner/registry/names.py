"""Registered names as users write them, and how versions sort.

    NAME, NAME@VERSION, NAME@latest              on the command line and in the Python API
    NAMESPACE/NAME@VERSION                      (a legacy namespace may itself hold '/')
    azureml:NAME, azureml:NAME:VERSION, azureml:NAME@latest   in pipeline files (CLI v2)
    azureml://registries/R/components/NAME/versions/V (or .../labels/latest)

NAME alone means the module's default version; `@latest` the version registered last (as the
service's `latest` label). Names compare case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from runner.errors import quote
from runner.registry.errors import RegistryError
from runner.struct import Struct

PREFIX = "azureml:"
LATEST = "latest"
DEFAULT = "default"
_URI = re.compile(
    r"//(?:[^/]+/)*?(?:components|modules)/(?P<name>[^/]+)/"
    r"(?:versions/(?P<version>[^/]+)|labels/(?P<label>[^/]+))/?"
)
_FORBIDDEN = re.compile(r"[@:\x00-\x1f\x7f]")
_NUMBER = re.compile(r"(\d+)")
FORMS = (
    "NAME, NAME@VERSION or NAME@latest (in a pipeline: azureml:NAME:VERSION, azureml:NAME@latest)"
)


# A Struct, not a NamedTuple: typing would compile() the annotations of a NamedTuple at import,
# and the first compile() of a process costs about 1 ms on the way to every run.
class Reference(Struct):
    written: str
    name: str  # as written: NAMESPACE/NAME or NAME
    version: str | None = None  # None: the default version, unless `latest`
    latest: bool = False

    def __str__(self) -> str:
        if self.latest:
            return f"{self.name}@{LATEST}"
        return self.name if self.version is None else f"{self.name}@{self.version}"


def is_registered_form(text: str) -> bool:
    return text.strip().lower().startswith(PREFIX)


def parse_reference(text: str) -> Reference:
    """A reference in any of the forms above; a RegistryError when it is none of them."""
    written = text.strip()
    prefixed = written.lower().startswith(PREFIX)
    rest = written[len(PREFIX) :] if prefixed else written
    if rest.startswith("//"):
        match = _URI.fullmatch(rest)
        if match is None:
            raise RegistryError(f"cannot read the module reference {quote(text)}", f"write {FORMS}")
        name, version, label = match.group("name", "version", "label")
        return _reference(text, name, version if label is None else f"@{label}")
    if "@" in rest:
        name, _, label = rest.rpartition("@")
        return _reference(text, name, f"@{label}")
    if prefixed and ":" in rest:
        name, _, version = rest.rpartition(":")
        return _reference(text, name, version)
    return _reference(text, rest, None)


def _reference(text: str, name: str, version: str | None) -> Reference:
    name = name.strip()
    if not name or (version is not None and not version.strip("@ ")):
        raise RegistryError(f"cannot read the module reference {quote(text)}", f"write {FORMS}")
    if version is not None and version.startswith("@"):
        label = version[1:].strip()
        if label.lower() == LATEST:
            return Reference(text, name, None, latest=True)
        if label.lower() == DEFAULT:
            return Reference(text, name, None)
        version = label
    return Reference(text, name, None if version is None else version.strip())


def check_name(full_name: str, version: str) -> str | None:
    """Why a module cannot be registered under this name and version, or None."""
    if not full_name.strip() or full_name != full_name.strip():
        return f"name {quote(full_name)} is empty or starts or ends with spaces"
    if _FORBIDDEN.search(full_name):
        return f"name {quote(full_name)} holds '@', ':' or a control character"
    if not version.strip():
        return "it has no version"
    if _FORBIDDEN.search(version) or "/" in version or version != version.strip():
        return (
            f"version {quote(version)} holds '@', ':', '/', spaces at its ends"
            " or a control character"
        )
    return None


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order: 0.10.0 after 0.9.1; numbers before words at the same place."""
    parts = [part for part in _NUMBER.split(version) if part]
    return tuple((0, int(part)) if part.isdigit() else (1, part.lower()) for part in parts)


def close_matches(name: str, known: Iterable[str]) -> list[str]:
    """Known names close to `name` (case-insensitively), best first."""
    by_lower = {k.lower(): k for k in known}
    wanted = name.lower()
    import difflib  # here: about 1 ms to import, for error messages only

    found = difflib.get_close_matches(wanted, list(by_lower), n=5, cutoff=0.5)
    found += sorted(k for k in by_lower if wanted in k and k not in found)
    return [by_lower[k] for k in found[:5]]
