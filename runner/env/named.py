"""Named environments (`environment: azureml:<name>:<version>`) resolved against local files.

A definition is one YAML file: `name`, `version` (an integer), `description`, and the CLI v2
inline environment fields `image` and `conda_file` (inline, or a path next to the file). The
curated ones ship in the top-level `environments/` folder (inside the package as
`runner/environments`, a symlink to it, so that a wheel carries them); users add theirs in a
folder named by `RUNNER_ENVIRONMENTS` or in `~/.config/runner/environments/`, which come
first: a user file with the same name and version replaces a shipped one.

The resolved spec keeps the image as an image used as is (a curated image already holds its
environment) and the conda definition for the backends that build it themselves.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from runner.errors import Location, SpecError, UnsupportedError, quote
from runner.spec.common import os_name, present
from runner.spec.files import conda_from, first_existing, read_conda_file
from runner.spec.model import CondaDependencies, EnvironmentSpec
from runner.spec.source import Node, load_document
from runner.struct import Struct

SHIPPED = (Path(__file__).parent.parent / "environments").resolve()
CURATED_PREFIX = "AzureML-"
_KEYS = ("name", "version", "description", "image", "conda_file", "os_type", "tags")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SHORT = re.compile(r"(?P<name>[^:@/\s]+)(?::(?P<version>[^:@/\s]+)|@(?P<label>[^:@/\s]+))?")
_URI = re.compile(
    r"//(?:[^/]+/)*?environments/(?P<name>[^/]+)/"
    r"(?:versions/(?P<version>[^/]+)|labels/(?P<label>[^/]+))/?"
)
_FORMS = (
    "write azureml:<name>:<version>, azureml:<name>@latest or "
    "azureml://registries/<registry>/environments/<name>/versions/<version> (or .../labels/latest)"
)


class Definition(Struct):
    name: str
    version: int
    description: str
    spec: EnvironmentSpec
    path: Path  # the file it was read from


class Reference(Struct):
    written: str
    name: str
    version: str | None  # None: the latest


def default_search_path(environ: Mapping[str, str]) -> list[Path]:
    """`$RUNNER_ENVIRONMENTS` folders in order, the user's folder, then the shipped ones."""
    folders = [
        Path(entry).expanduser()
        for entry in environ.get("RUNNER_ENVIRONMENTS", "").split(os.pathsep)
        if entry.strip()
    ]
    config = environ.get("XDG_CONFIG_HOME", "")
    root = Path(config) if config and Path(config).is_absolute() else Path.home() / ".config"
    folders += [root / "runner" / "environments", SHIPPED]
    return list(dict.fromkeys(folders))


def parse_reference(written: str) -> Reference:
    text = written.strip()
    rest = text[len("azureml:") :] if text.lower().startswith("azureml:") else text
    match = _URI.fullmatch(rest) if rest.startswith("//") else _SHORT.fullmatch(rest)
    if match is None:
        raise UnsupportedError(f"cannot read the environment reference {quote(written)}", _FORMS)
    name, version, label = match.group("name", "version", "label")
    if label is not None and label != "latest":
        raise UnsupportedError(
            f"environment reference {quote(written)}: only the label 'latest' is known locally",
            f"use {name}@latest or a version",
        )
    if version is None and label is None:
        raise UnsupportedError(
            f"environment reference {quote(written)} names no version",
            f"use azureml:{name}@latest or azureml:{name}:<version>",
        )
    return Reference(written, name, version)


def resolve_named(reference: str, search_path: Sequence[Path]) -> EnvironmentSpec:
    """The environment a reference names; an unknown name or version lists what is known."""
    ref = parse_reference(reference)
    definitions = load_definitions(search_path)
    by_name: dict[str, dict[int, Definition]] = {}
    for definition in definitions:
        by_name.setdefault(definition.name, {})[definition.version] = definition
    name = ref.name
    if name not in by_name and name.lower().startswith(CURATED_PREFIX.lower()):
        name = name[len(CURATED_PREFIX) :]  # a workspace's name for a registry environment
    versions = by_name.get(name)
    if versions is None:
        raise _unknown(ref, sorted(by_name, key=str.lower), search_path)
    if ref.version is None:
        return versions[max(versions)].spec
    if ref.version.isdigit() and int(ref.version) in versions:
        return versions[int(ref.version)].spec
    known = ", ".join(str(v) for v in sorted(versions))
    raise UnsupportedError(
        f"environment {name!r} has no version {ref.version} here (known versions: {known})",
        f"use azureml:{name}@latest, or add a definition with version: {ref.version} "
        "(see environments/README.md)",
    )


def load_definitions(search_path: Sequence[Path]) -> list[Definition]:
    """Every definition, earlier folders first; a (name, version) already seen is shadowed."""
    found: dict[tuple[str, int], Definition] = {}
    for folder in search_path:
        here: dict[tuple[str, int], Definition] = {}
        for path in _definition_files(folder):
            definition = load_definition(path)
            key = (definition.name, definition.version)
            if key in here:
                raise SpecError(
                    Location(path, field="name"),
                    f"environment {definition.name} version {definition.version} is also "
                    f"defined in {here[key].path.name}",
                    "keep one of the two files, or give one another version",
                )
            here[key] = definition
        for key, definition in here.items():
            found.setdefault(key, definition)
    return list(found.values())


def load_definition(path: Path) -> Definition:
    root = load_document(path).root
    if not root.is_map():
        raise root.expected("an environment definition (name, version, image, conda_file)")
    for key, child in root.mapping().items():
        if key not in _KEYS:
            import difflib  # here: about 1 ms to import, for error messages only

            close = difflib.get_close_matches(key, _KEYS, n=1)
            guess = f" (did you mean '{close[0]}'?)" if close else ""
            raise child.error(
                f"unknown key '{key}'{guess}",
                f"known keys: {', '.join(_KEYS)}; every .yaml or .yml file in an environments "
                "folder is a definition (a conda file it names goes in a subfolder)",
            )
    name_node = root.require("name", "the environment's name")
    name = name_node.text().strip()
    if not _NAME.fullmatch(name):
        raise name_node.expected("a name of letters, digits, '.', '_' and '-'")
    version_node = root.require("version", "an integer version")
    if version_node.integer() < 1:
        raise version_node.expected("an integer version of at least 1")
    description = present(root, "description")
    image = present(root, "image")
    spec = EnvironmentSpec(
        image=None if image is None else image.string().strip(),
        conda=_conda(present(root, "conda_file"), path.parent),
        os=os_name(present(root, "os_type")),
    )
    return Definition(
        name=name,
        version=version_node.integer(),
        description="" if description is None else description.text().strip(),
        spec=spec,
        path=path,
    )


def _conda(node: Node | None, folder: Path) -> CondaDependencies | None:
    if node is None:
        return None
    if node.is_map():
        return conda_from(node)
    return read_conda_file(node, first_existing(node, [folder], "conda file"))


def _definition_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.iterdir()
        if path.suffix in (".yaml", ".yml") and not path.name.startswith(".") and path.is_file()
    )


def _unknown(ref: Reference, names: list[str], search_path: Sequence[Path]) -> UnsupportedError:
    import difflib  # here: about 1 ms to import, for error messages only

    close = difflib.get_close_matches(ref.name, names, n=1)
    guess = f" (did you mean {close[0]!r}?)" if close else ""
    searched = ", ".join(
        f"{folder}" if folder.is_dir() else f"{folder} (missing)" for folder in search_path
    )
    return UnsupportedError(
        f"unknown environment {quote(ref.name)} in {quote(ref.written)}{guess}; known environments "
        f"(each also as {CURATED_PREFIX}<name>): {', '.join(names) or 'none'}",
        "add a definition: one YAML file with name, version, image and conda_file in "
        "~/.config/runner/environments/ or a folder named by RUNNER_ENVIRONMENTS "
        f"(see environments/README.md); searched: {searched}",
    )
