"""Additional includes resolved: the path as written, the `.zip` rule, clashing destinations."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Literal

from runner.errors import SnapshotError
from runner.snapshot.model import readlink
from runner.spec.model import CodeSpec, Include
from runner.struct import Struct


class Source(Struct):
    """An additional include, resolved: what it is and where it lands."""

    include: Include
    name: str  # destination at the snapshot root
    path: Path  # real path of the file or folder (for "zip": of the folder to zip)
    how: Literal["file", "folder", "zip"]

    @property
    def owner(self) -> str:
        return f"{self.include.origin}: additional include '{self.include.path}'"


def resolve_include(code: CodeSpec, include: Include, warnings: list[str]) -> Source:
    """What `include` names and where it lands; a missing `x.zip` falls back to the folder `x`."""
    written = include.path
    if PurePosixPath(written).is_absolute() or Path(written).is_absolute():
        raise _include_error(
            include,
            "is an absolute path",
            f"write it relative to the spec's folder {code.spec_dir}",
        )
    candidate = code.spec_dir / written
    if os.path.lexists(candidate):
        return _existing_include(include, candidate, warnings)
    if candidate.name.endswith(".zip"):
        return _folder_to_zip(include, candidate)
    raise _include_error(
        include,
        f"does not exist ({candidate})",
        f"additional include paths are relative to the spec's folder {code.spec_dir}",
    )


def _folder_to_zip(include: Include, candidate: Path) -> Source:
    stem = candidate.name.removesuffix(".zip")
    folder = candidate.parent / stem
    if stem and folder.is_dir():
        return Source(include, candidate.name, folder.resolve(), "zip")
    raise _include_error(
        include,
        f"does not exist: there is neither a file {candidate} nor a folder {folder}",
        "a '.zip' include copies that zip file, or else zips the folder of the same name",
    )


def _existing_include(include: Include, candidate: Path, warnings: list[str]) -> Source:
    real = candidate.resolve()
    if not real.exists():
        raise _include_error(
            include,
            f"is a symlink whose target does not exist ({candidate} -> {readlink(candidate)})",
            "fix the symlink or include its target directly",
        )
    parts = PurePosixPath(include.path).parts
    name = parts[-1] if parts and parts[-1] != ".." else real.name
    if not name:
        raise _include_error(
            include, "resolves to the filesystem root", "include a named folder instead"
        )
    if not real.is_dir() and not real.is_file():
        raise _include_error(include, f"is neither a file nor a folder ({real})", None)
    source = Source(include, name, real, "folder" if real.is_dir() else "file")
    if candidate.is_symlink() and real.name != name:
        warnings.append(
            f"{source.owner} is a symlink to {real}: placed as '{name}' "
            f"(AzureML places it under its target's name, '{real.name}')"
        )
    return source


def check_destinations(code: CodeSpec, sources: Sequence[Source]) -> frozenset[str]:
    """Refuse clashing destinations; return the base symlinks that includes stand in for."""
    taken: dict[str, Source] = {}
    replaced: set[str] = set()
    for source in sources:
        earlier = taken.setdefault(source.name, source)
        if earlier is not source:
            raise _include_error(
                source.include,
                f"and {earlier.owner} would both be placed at '{source.name}'",
                "includes land at the snapshot root under their own name: rename one of them",
            )
        if _replaces_base_symlink(code, source):
            replaced.add(source.name)
    return frozenset(replaced)


def _replaces_base_symlink(code: CodeSpec, source: Source) -> bool:
    if code.is_single_file:
        if source.name == code.base.name:
            raise _include_error(
                source.include,
                f"would be placed at '{source.name}', the name of the code file {code.base}",
                "rename the include or the code file",
            )
        return False
    existing = code.base.resolve() / source.name
    if not os.path.lexists(existing):
        return False
    if existing.is_symlink() and source.how != "zip" and existing.resolve() == source.path:
        return True
    raise _include_error(
        source.include,
        f"would be placed at '{source.name}', which already exists in the code folder ({existing})",
        "rename or remove one of them: includes land at the snapshot root under their own name",
    )


def _include_error(include: Include, problem: str, hint: str | None) -> SnapshotError:
    return SnapshotError(f"{include.origin}: additional include '{include.path}' {problem}", hint)
