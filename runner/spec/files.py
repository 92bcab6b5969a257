"""Files a spec points to, read at load time: conda and pip files, includes files, code paths."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from runner.errors import Location, SpecError, quote
from runner.spec.common import Context, absolute, present
from runner.spec.model import CodeSpec, CondaDependencies, Include
from runner.spec.source import Node, load_document

_REMOTE_PREFIXES = ("azureml:", "http:", "https:", "git+", "wasbs:", "abfss:", "adl:")


def is_remote(written: str) -> bool:
    """A URI or registered asset rather than a local path."""
    return written.lower().startswith(_REMOTE_PREFIXES) or "://" in written


def kind_of(node: Node, path: Path) -> str | None:
    """ "file", "folder", "other" or None (nothing there) for the path written at `node`. A path
    the system refuses (too long, a NUL byte, no permission) is a SpecError naming the field."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise node.error(f"cannot use the path {_shown(path)}: {exc.strerror or exc}") from None
    except ValueError as exc:  # an embedded NUL byte
        raise node.error(f"cannot use the path {_shown(path)}: {exc}") from None
    if stat.S_ISDIR(mode):
        return "folder"
    return "file" if stat.S_ISREG(mode) else "other"


def _shown(path: Path) -> str:
    """A path for a message: whole, unless it is too long to read (ENAMETOOLONG)."""
    text = str(path)
    return text if len(text) <= 200 else f"{text[:150]}...{text[-40:]} ({len(text)} characters)"


def _quoted(written: str) -> str:
    return repr(written) if len(written) <= 200 else repr(written[:150] + "...")


def local_path(node: Node, base: Path, what: str) -> Path:
    """The local path written at `node`, relative to `base`, which must exist."""
    written = node.string()
    if not written.strip():
        raise node.expected(f"a path to {what}")
    if is_remote(written):
        raise node.error(
            f"{what} must be a local path, found {quote(written)}",
            "only local files can be used when running locally",
        )
    path = absolute(base, written)
    if kind_of(node, path) is None:
        raise node.error(f"{what} {_quoted(written)} not found (looked for {_shown(path)})")
    return path


def first_existing(node: Node, bases: Sequence[Path], what: str) -> Path:
    """A path written at `node` that may be relative to any of `bases`, tried in order."""
    written = node.string()
    if not written.strip():
        raise node.expected(f"a path to {what}")
    tried = [absolute(base, written) for base in dict.fromkeys(bases)]
    for path in tried:
        if kind_of(node, path) == "file":
            return path
    looked = " or ".join(_shown(path) for path in tried)
    raise node.error(f"{what} {_quoted(written)} not found (looked for {looked})")


# ---- conda and pip ------------------------------------------------------------------------


def conda_from(node: Node) -> CondaDependencies:
    """A conda environment definition: inline in a spec, or the root of a conda file."""
    node.mapping()
    name = present(node, "name")
    channels = present(node, "channels")
    dependencies = present(node, "dependencies")
    deps: list[str] = []
    pip: list[str] = []
    for item in () if dependencies is None else dependencies.items():
        if isinstance(item.value, dict):
            pip.extend(_pip_section(item))
        elif item.value is not None:
            deps.append(item.text())
    return CondaDependencies(
        name=None if name is None else name.text(),
        channels=() if channels is None else tuple(c.text() for c in channels.items()),
        dependencies=tuple(deps),
        pip=tuple(pip),
    )


def _pip_section(item: Node) -> list[str]:
    keys = list(item.mapping())
    if keys != ["pip"]:
        raise item.expected(
            "a package spec or a {pip: [...]} entry", "conda dependencies hold strings and pip:"
        )
    section = item.require("pip")
    if section.value is None:
        return []
    return [line.text() for line in section.items()]


def read_conda_file(field: Node, path: Path) -> CondaDependencies:
    """Parse the conda file named at `field` now: its errors name the conda file itself."""
    if kind_of(field, path) != "file":
        raise field.error(f"conda file not found: {path}")
    doc = load_document(path)
    if not doc.root.is_map():
        raise doc.root.expected("a conda environment (a mapping with 'dependencies')")
    return conda_from(doc.root)


def read_pip_file(field: Node, path: Path) -> tuple[str, ...]:
    """Requirement lines of a pip file; blank lines and comments dropped."""
    text = _read_text(field, path, "pip requirements file")
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return tuple(lines)


def _read_text(field: Node, path: Path, what: str) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise field.error(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise field.error(f"{what} {path} is a folder, not a file") from None
    except OSError as exc:
        raise field.error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except ValueError as exc:  # an embedded NUL byte
        raise field.error(f"cannot read {what} {path}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise field.error(f"{what} {path} is not UTF-8 text (byte {exc.start})") from None


# ---- additional includes ------------------------------------------------------------------


def includes_file_path(spec: Path) -> Path:
    """`<spec stem>.additional_includes` next to the spec."""
    return spec.with_name(f"{spec.stem}.additional_includes")


def read_includes_file(spec: Path) -> tuple[Include, ...] | None:
    """The includes listed next to the spec, or None when there is no such file."""
    path = includes_file_path(spec)
    # os.path.isfile: False, not an OSError, for a name the system refuses (too long).
    if not os.path.isfile(path):  # noqa: PTH113
        return None
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise SpecError(Location(path), f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SpecError(Location(path), f"not UTF-8 text (byte {exc.start})") from None
    found: list[Include] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            found.append(Include(line, f"{path.name}:{number}"))
    return tuple(found)


def _check_file_includes(spec: Path, found: tuple[Include, ...]) -> None:
    path = includes_file_path(spec)
    for include in found:
        problem = missing_include(spec.parent, include.path)
        if problem is not None:
            number = int(include.origin.rsplit(":", 1)[1])
            raise SpecError(Location(path, number), problem, _INCLUDE_HINT)


_INCLUDE_HINT = "additional include paths are relative to the spec's folder"


def missing_include(spec_dir: Path, written: str) -> str | None:
    """Why the additional include `written` names nothing, or None. A `x.zip` that does not
    exist stands for the folder `x`, zipped (section 4). Other problems (an absolute path, two
    includes landing at one place) are the snapshot's to report."""
    try:
        candidate = absolute(spec_dir, written)
        if os.path.lexists(candidate) or PurePosixPath(written).is_absolute():
            return None
        if candidate.name.endswith(".zip") and candidate.with_name(candidate.stem).is_dir():
            return None
    except (OSError, ValueError) as exc:
        return f"additional include {written!r} cannot be read: {_reason(exc)}"
    zipped = " (nor the folder it would zip)" if candidate.name.endswith(".zip") else ""
    return f"additional include {written!r} not found{zipped} (looked for {candidate})"


def _reason(exc: OSError | ValueError) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)


def inline_includes(node: Node) -> tuple[Include, ...]:
    """An inline include list, each entry remembering its field path as its origin."""
    if node.value is None:
        return ()
    found: list[Include] = []
    for item in node.items():
        written = item.string().strip()
        if not written:
            raise item.expected("a path")
        problem = missing_include(item.doc.path.parent, written)
        if problem is not None:
            raise item.error(problem, _INCLUDE_HINT)
        found.append(Include(written, item.location().field))
    return tuple(found)


def includes(ctx: Context, inline: Node | None, *, deprecated: str | None) -> tuple[Include, ...]:
    """Includes from the inline list or the includes file next to the spec (never both)."""
    from_file = read_includes_file(ctx.doc.path)
    if inline is None:
        _check_file_includes(ctx.doc.path, from_file or ())
        return from_file or ()
    if from_file is not None:
        other = includes_file_path(ctx.doc.path).name
        raise inline.error(
            f"additional includes are given both here and in {other}", "keep one list"
        )
    if deprecated is not None:
        ctx.warn(inline, deprecated)
    return inline_includes(inline)


# ---- code ---------------------------------------------------------------------------------


def code_spec(
    ctx: Context,
    node: Node | None,
    found_includes: tuple[Include, ...],
    *,
    allow_file: bool,
    what: str = "code",
) -> CodeSpec:
    """The snapshot base: the folder (or, for CLI v2, the file) at `node`, else the spec folder."""
    if node is None or node.value is None:
        return CodeSpec(ctx.spec_dir, ctx.spec_dir, includes=found_includes)
    base = local_path(node, ctx.spec_dir, what)
    is_file = kind_of(node, base) != "folder"
    if is_file and not allow_file:
        raise node.error(f"{what} must be a folder, found the file {base}")
    return CodeSpec(ctx.spec_dir, base, is_single_file=is_file, includes=found_includes)
