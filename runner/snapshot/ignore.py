"""Which files an `.amlignore` / `.gitignore` keeps out of the code snapshot.

Rules, chosen to match what AzureML uploads (azure-ai-ml's ComponentIgnoreFile):

- In every folder of a snapshot source tree, `.amlignore` is read if present, else `.gitignore`.
  Its patterns are relative to that folder. Patterns use gitignore syntax (negation, dir-only
  `x/`, anchored `/x`, `**`), evaluated with `pathspec.GitIgnoreSpec`.
- Paths are the paths *in the snapshot*. The base folder's ignore file sits at the snapshot
  root, so it also filters included folders as they are placed there: `*.log` matches inside
  `lib1/`, `/build` only matches a top-level `build`, and `lib1/tests/` names an included
  folder's subfolder. An ignore file found at the root of an included folder (or deeper) applies
  from where it lands (`lib1/`).
- As in git, the deepest ignore file with a matching pattern decides, its last matching pattern
  wins, and an ignored folder is not entered: a negation cannot bring back a file whose folder is
  ignored.
- The ignore files themselves stay in the snapshot (AzureML uploads them) unless a pattern
  ignores them.
- Always skipped, whatever the ignore files say: `.git` (repository metadata is never part of
  a snapshot) and `__pycache__` folders (AzureML drops them for components too; they change on
  every local import, so keeping them would change the snapshot digest for nothing).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from runner.struct import Struct

if TYPE_CHECKING:
    import pathspec

from runner.errors import SnapshotError

IGNORE_FILE_NAMES = (".amlignore", ".gitignore")  # in order of precedence
ALWAYS_SKIPPED_DIRS = frozenset({".git", "__pycache__"})
ALWAYS_SKIPPED_FILES = frozenset({".git"})  # a submodule's or worktree's gitlink file


def always_skipped(name: str, *, is_dir: bool) -> bool:
    return name in (ALWAYS_SKIPPED_DIRS if is_dir else ALWAYS_SKIPPED_FILES)


class IgnoreLayer(Struct):
    """One ignore file and the snapshot folder its patterns are relative to."""

    prefix: str  # snapshot path of the folder holding the file, with a trailing '/'; '' at root
    source: Path
    spec: pathspec.GitIgnoreSpec

    def verdict(self, relpath: str, *, is_dir: bool) -> bool | None:
        """True: ignored, False: re-included by a negation, None: no pattern says anything."""
        if not relpath.startswith(self.prefix) or len(relpath) == len(self.prefix):
            return None
        inner = relpath[len(self.prefix) :] + ("/" if is_dir else "")
        result = self.spec.check_file(inner)
        return result.include


class IgnoreRules(Struct):
    """The ignore files in force at some folder, outermost first."""

    layers: tuple[IgnoreLayer, ...] = ()

    def entering(self, folder: Path, prefix: str, names: Collection[str]) -> IgnoreRules:
        """The rules inside `folder` (snapshot path `prefix`), given the names it holds."""
        for candidate in IGNORE_FILE_NAMES:
            if candidate in names:
                path = folder / candidate
                if path.is_file():
                    return IgnoreRules((*self.layers, _read_layer(path, prefix)))
        return self

    def ignored_by(self, relpath: str, *, is_dir: bool) -> Path | None:
        """The ignore file that keeps `relpath` out of the snapshot, or None if it stays."""
        for layer in reversed(self.layers):
            verdict = layer.verdict(relpath, is_dir=is_dir)
            if verdict is not None:
                return layer.source if verdict else None
        return None


def _read_layer(path: Path, prefix: str) -> IgnoreLayer:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotError(
            f"cannot read ignore file {path}: {_reason(exc)}",
            hint="an ignore file must be readable UTF-8 text in gitignore syntax",
        ) from None
    try:
        import pathspec  # only when an ignore file exists: it costs 20 ms of start-up

        spec = pathspec.GitIgnoreSpec.from_lines(text.splitlines())
    except ValueError as exc:  # pathspec's GitWildMatchPatternError is a ValueError
        raise SnapshotError(
            f"invalid pattern in ignore file {path}: {exc}",
            hint="see https://git-scm.com/docs/gitignore#_pattern_format",
        ) from None
    return IgnoreLayer(prefix, path, spec)


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)
