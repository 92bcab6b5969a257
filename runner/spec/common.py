"""What the three spec loaders share: key checks, scalars, names, command refs, environments."""

from __future__ import annotations

import keyword
import os
import re
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

from runner.errors import quote
from runner.spec.model import CondaDependencies, EnvironmentSpec, Input, OutputPort, SpecWarning
from runner.spec.names import python_name
from runner.spec.source import Document, Node
from runner.struct import Struct, field
from runner.template.model import CommandTemplate, Part, Ref, RefKind, Token


class Context(Struct):
    """One load: the document and the warnings gathered so far."""

    doc: Document
    warnings: list[SpecWarning] = field(default_factory=list)

    @property
    def spec_dir(self) -> Path:
        return self.doc.path.parent

    def warn(self, node: Node, message: str) -> None:
        self.warnings.append(SpecWarning(str(node.location()), message))


def absolute(base: Path, written: str) -> Path:
    """`written` relative to `base`, normalised but with symlinks kept (they may be the point)."""
    return Path(os.path.normpath(base / written))


# ---- keys and scalars ---------------------------------------------------------------------


def fields(
    ctx: Context, node: Node, known: Collection[str], *, ignore_case: bool = False
) -> dict[str, Node]:
    """The mapping at `node`; unknown keys are warned about, since real specs carry extras."""
    found = node.mapping()
    folded = {k.lower() for k in known} if ignore_case else set(known)
    unknown = [key for key in found if (key.lower() if ignore_case else key) not in folded]
    for key in unknown[:_UNKNOWN_KEYS_SHOWN]:
        import difflib  # here: about 1 ms to import, for error messages only

        close = difflib.get_close_matches(key, list(known), n=1)
        guess = f" (did you mean '{close[0]}'?)" if close else ""
        ctx.warn(found[key], f"unknown key {quote(key)} is ignored{guess}")
    if len(unknown) > _UNKNOWN_KEYS_SHOWN:
        more = len(unknown) - _UNKNOWN_KEYS_SHOWN
        ctx.warn(node, f"{more} more unknown keys are ignored")
    return found


# Beyond this many, unknown keys of one mapping are counted, not listed: a mapping of
# thousands of stray keys is a broken document, and guessing each one's meaning costs seconds.
_UNKNOWN_KEYS_SHOWN = 10


def present(node: Node, key: str) -> Node | None:
    """The child at `key` unless it is missing or null (`key:` with nothing after it)."""
    child = node.get(key)
    return None if child is None or child.value is None else child


def opt_text(node: Node, key: str, default: str = "") -> str:
    child = present(node, key)
    return default if child is None else child.text()


def opt_bool(node: Node, key: str, default: bool) -> bool:
    child = present(node, key)
    return default if child is None else child.boolean()


def required_text(node: Node, key: str, what: str) -> str:
    child = node.require(key, what)
    if child.value is None or (isinstance(child.value, str) and not child.value.strip()):
        raise child.expected(what)
    return child.text()


def version_text(ctx: Context, node: Node) -> str:
    if isinstance(node.value, float):
        # YAML reads 1.10 as the number 1.1: the written text is already lost.
        ctx.warn(
            node, f"version was read as the number {node.value!r}; quote it to keep it as written"
        )
    return node.text()


def at_least(node: Node, low: int) -> int:
    value = node.integer()
    if value < low:
        raise node.expected(f"an integer of at least {low}")
    return value


def text_list(node: Node | None) -> tuple[str, ...]:
    """A list of scalars, or one scalar standing for a one-item list."""
    if node is None or node.value is None:
        return ()
    if not isinstance(node.value, list):
        return (node.text(),)
    return tuple(item.text() for item in node.items())


def tags(node: Node | None) -> tuple[tuple[str, str], ...]:
    """Tags as (key, value) pairs: a map, or a list of bare tags (legacy) with empty values."""
    if node is None or node.value is None:
        return ()
    if isinstance(node.value, dict):
        return tuple(
            (key, "" if child.value is None else child.text())
            for key, child in node.mapping().items()
        )
    return tuple((tag, "") for tag in text_list(node))


def environment_variables(node: Node | None) -> tuple[tuple[str, str], ...]:
    """Variables in spec order; numbers and booleans become their YAML text, null becomes ''."""
    if node is None or node.value is None:
        return ()
    pairs: list[tuple[str, str]] = []
    for key, child in node.mapping().items():
        if not key or "=" in key or "\0" in key:
            raise child.error(f"{quote(key)} is not a valid environment variable name")
        value = "" if child.value is None else child.text()
        if "\0" in value:
            raise child.error("an environment variable value cannot contain a NUL character")
        pairs.append((key, value))
    return tuple(pairs)


# ---- names --------------------------------------------------------------------------------


def python_name_of(name_node: Node, name: str, override: Node | None, hint: str) -> str:
    """The python name of an input or output: derived from `name` unless overridden."""
    if override is not None and override.value is not None:
        given = override.string()
        if not given.isidentifier() or keyword.iskeyword(given):
            raise override.expected("a python identifier")
        return given
    derived = python_name(name)
    if not derived:
        raise name_node.error(
            f"name {quote(name)} has no letter or digit to make a python name of", hint
        )
    return derived


class Declared(Struct):
    """An input or output with the node that declared it, to name both places of a clash."""

    item: Input | OutputPort
    node: Node


def check_unique(declared: Sequence[Declared], hint: str) -> None:
    """Inputs and outputs are addressed by name or python name: each must mean one thing."""
    seen: dict[str, Declared] = {}
    for entry in declared:
        for name in dict.fromkeys((entry.item.name, entry.item.python_name)):
            first = seen.setdefault(name, entry)
            if first is entry:
                continue
            where = first.node.location()
            at = f"{where.field}, line {where.line}"
            if name == entry.item.name == first.item.name:
                raise entry.node.error(f"duplicate name '{name}': also declared at {at}", hint)
            raise entry.node.error(
                f"'{entry.item.name}' and '{first.item.name}' ({at}) both answer to the"
                f" name '{name}'",
                hint,
            )


class Interface(Struct):
    """Declared inputs and outputs, looked up by original or python name."""

    inputs: tuple[Input, ...]
    outputs: tuple[OutputPort, ...]

    def find_input(self, name: str) -> Input | None:
        return next((i for i in self.inputs if name in (i.name, i.python_name)), None)

    def find_output(self, name: str) -> OutputPort | None:
        return next((o for o in self.outputs if name in (o.name, o.python_name)), None)

    def known_inputs(self) -> str:
        return ", ".join(i.name for i in self.inputs) or "(none)"

    def known_outputs(self) -> str:
        return ", ".join(o.name for o in self.outputs) or "(none)"


def iter_refs(parts: Sequence[Part]) -> Iterator[Ref]:
    for part in parts:
        if isinstance(part, Token):
            yield from (s for s in part.segments if isinstance(s, Ref))
        else:
            yield from iter_refs(part.parts)


def check_refs(node: Node, template: CommandTemplate, interface: Interface) -> None:
    """Every `{inputs.x}` / `{outputs.y}` in a parsed command string names a declared one."""
    for ref in iter_refs(template.parts):
        if ref.kind is RefKind.OUTPUT:
            if interface.find_output(ref.name) is None:
                other = interface.find_input(ref.name) is not None
                raise node.error(
                    f"the command names the unknown output '{ref.name}';"
                    f" known outputs: {interface.known_outputs()}",
                    f"'{ref.name}' is declared under inputs" if other else None,
                )
        elif interface.find_input(ref.name) is None:
            other = interface.find_output(ref.name) is not None
            raise node.error(
                f"the command names the unknown input '{ref.name}';"
                f" known inputs: {interface.known_inputs()}",
                f"'{ref.name}' is declared under outputs" if other else None,
            )


# ---- environments -------------------------------------------------------------------------

# A pattern, compiled by `re` on first use: few specs name an environment.
_NAMED_ENV = r"azureml:(//.+|[^:@/\s]+(:[^:@/\s]+|@[^:@/\s]+))"
_OS_NAMES = ("linux", "windows")


def named_environment(node: Node, system: str = "linux") -> EnvironmentSpec:
    """A registered environment reference, kept to be resolved against local definitions."""
    text = node.string().strip()
    if not re.fullmatch(_NAMED_ENV, text):
        raise node.expected(
            "azureml:<name>:<version>, azureml:<name>@latest or azureml://registries/...",
            "or describe the environment inline (image, conda file)",
        )
    return EnvironmentSpec(named=text, os=system)


def image_environment(
    image: str | None, system: str, conda: CondaDependencies | None, pip: tuple[str, ...]
) -> EnvironmentSpec:
    """An image with declared dependencies is a base to build on; without, it is used as is."""
    if conda is not None or pip:
        return EnvironmentSpec(base_image=image, conda=conda, pip_requirements=pip, os=system)
    return EnvironmentSpec(image=image, os=system)


def os_name(node: Node | None) -> str:
    if node is None:
        return "linux"
    value = node.text().strip().lower()
    if value not in _OS_NAMES:
        raise node.expected("linux or windows")
    return value


def limits_timeout(ctx: Context, node: Node | None) -> float | None:
    """`limits: {timeout: SECONDS}` (CLI v2 command components and jobs): the run's timeout."""
    if node is None:
        return None
    fields(ctx, node, ("timeout",))
    child = present(node, "timeout")
    if child is None:
        return None
    seconds = child.number()
    if not 0 < seconds < 10**9:
        raise child.expected("a number of seconds above 0")
    return float(seconds)
