"""The house rules of runner/: no import cycles, and every import points down the package order.

The order (documented in docs/design.md) follows the flow of one run. A package may import its
own modules and anything on a lower floor; two packages on the same floor are independent.
Every import counts: module level, inside functions (lazy) and under `TYPE_CHECKING`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "runner"

# Lowest floor first. Root modules are named in full; a package covers its modules.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("runner.struct",),  # the base of the value classes, under the other leaves (errors uses it)
    (
        "runner._version",
        "runner.errors",
        "runner.hashing",
        "runner.files",
        "runner.clock",
        "runner.log",
    ),
    ("runner.template",),
    ("runner.spec",),
    ("runner.config", "runner.bind", "runner.snapshot", "runner.process", "runner.cache"),
    ("runner.env", "runner.registry"),
    ("runner.run",),
    ("runner.pipeline",),
    ("runner.api", "runner.ui"),
    ("runner.cli", "runner.pytest_plugin"),
    # The package itself (the public API, imported on first use) and `python -m runner`.
    ("runner", "runner.__main__"),
)
# Shipped files that run on their own (copied into run folders): they import nothing of runner.
STANDALONE = ("runner.resources",)


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    is_package = path.name == "__init__.py"
    found: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            # `from pkg import mod` imports the module pkg.mod; `from mod import x` the module.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and target.split(".")[0] == "runner":
                found.append(Import(name, target, node.lineno))
    return found


def floor_of(name: str) -> tuple[int, str]:
    """The floor and the package (longest prefix in FLOORS) a module belongs to."""
    best: tuple[int, str] | None = None
    for level, members in enumerate(FLOORS):
        for member in members:
            covers = name == member or (member != "runner" and name.startswith(member + "."))
            if covers and (best is None or len(member) > len(best[1])):
                best = (level, member)
    if best is None:
        raise AssertionError(f"{name} is on no floor: add its package to FLOORS (and design.md)")
    return best


MODULES = all_modules()
IMPORTS = [imp for name, path in MODULES.items() for imp in imports_of(name, path, MODULES)]


def test_every_module_has_a_floor() -> None:
    for name in MODULES:
        if not name.startswith(STANDALONE):
            floor_of(name)


def test_standalone_files_import_nothing_of_runner() -> None:
    bad = [imp for imp in IMPORTS if imp.source.startswith(STANDALONE)]
    assert not bad, bad


def test_imports_point_down() -> None:
    wrong: set[str] = set()
    for imp in IMPORTS:
        if imp.source.startswith(STANDALONE):
            continue
        (source_floor, source_package), (target_floor, target_package) = (
            floor_of(imp.source),
            floor_of(imp.target),
        )
        if source_package == target_package:
            continue
        if target_floor >= source_floor:
            wrong.add(f"{imp.source}:{imp.line} imports {imp.target}")
    assert not wrong, "imports against the package order:\n" + "\n".join(sorted(wrong))


def test_no_cycles() -> None:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for imp in IMPORTS:
        graph[imp.source].add(imp.target)
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    cycles.append(sorted(component))
    return cycles


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_cycle_finder(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert find_cycles(graph) == expected


def test_the_checks_see_real_imports() -> None:
    """Guards the walker itself: a known downward import and a lazy one are found."""
    edges = {(imp.source, imp.target) for imp in IMPORTS}
    assert ("runner.spec.model", "runner.template.model") in edges
    assert any(source == "runner.cli.main" for source, _ in edges)
