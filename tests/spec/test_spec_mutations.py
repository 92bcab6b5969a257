"""Every sample spec, mutated (types, deletions, unicode, huge values, alias bombs, duplicate
keys), through the command line: `validate` and `render` end with exit 0 or 2, never a
traceback, each in under 2 s of CPU and 200 MB of allocations.

The commands run in this process (a child per example would cost more than the example), so
CPU time is this process's (`time.process_time`, which a loaded machine does not inflate as it
does wall-clock time) and memory is what Python allocated (tracemalloc's peak, in a second run
of the same command)."""

from __future__ import annotations

import io
import shutil
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.cli.main import run_command

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
SPECS = sorted(
    str(path.relative_to(SAMPLES))
    for path in SAMPLES.rglob("*.y*ml")
    if "conda" not in path.name and "pipeline" not in path.name
)
PIPELINES = sorted(str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("pipeline*.yml"))
CPU_SECONDS = 2.0
MEMORY_BYTES = 200 * 1024 * 1024
ALIAS = "ALIAS-BOMB-GOES-HERE"
BOMB = "".join(
    f"bomb{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]\n"
    for i in range(9)
)

unicode_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), unicode_text
)
HUGE: dict[str, object] = {
    "huge string": "x" * 1_000_000,
    "huge list": list(range(30_000)),
    "huge mapping": {f"k{i}": i for i in range(20_000)},
    "huge unicode": "\u00e9\u6f22\U0001f600" * 100_000,
    "huge number": 10**300,
}
# Drawn by name (a failing example's report stays short), replaced by the value when mutating.
huge = st.sampled_from(sorted(HUGE)).map(lambda name: f"<{name}>")
replacements = st.one_of(scalars, huge, st.lists(scalars, max_size=3), st.just(ALIAS))


def paths(data: object, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths(value, (*at, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += paths(value, (*at, i))
    return found


def mutate(data: Any, at: tuple[Any, ...], how: str, value: object) -> Any:
    if not at:
        return value if how == "replace" else {}
    parent = data
    for key in at[:-1]:
        parent = parent[key]
    if how == "delete":
        del parent[at[-1]]
    elif how == "rename" and isinstance(parent, dict):
        parent[str(value)[:20]] = parent.pop(at[-1])
    else:
        parent[at[-1]] = value
    return data


def expanded(value: object) -> object:
    if isinstance(value, str) and value.startswith("<") and value[1:-1] in HUGE:
        return HUGE[value[1:-1]]
    return value


def dumped(data: object, duplicate: int | None) -> str:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10**6)
    if ALIAS in text:
        text = BOMB + text.replace(ALIAS, "*b8")
    lines = text.splitlines(keepends=True)
    if duplicate is not None and lines:
        line = lines[duplicate % len(lines)]
        lines.insert(duplicate % len(lines), line)
    return "".join(lines)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the samples: a mutated spec replaces its original there, beside its files."""
    root = tmp_path_factory.mktemp("mutated") / "samples"
    shutil.copytree(SAMPLES, root)
    return root


def measured(argv: list[str]) -> tuple[int, str, float, int]:
    """Exit code, stderr, CPU seconds and peak allocation of the command. It runs twice: timed
    alone, then traced (tracemalloc slows allocation-heavy code several times over)."""
    err = io.StringIO()
    started = time.process_time()
    code = run_command(argv[0], argv[1:], io.StringIO(), err)
    cpu = time.process_time() - started
    tracemalloc.start()
    try:
        run_command(argv[0], argv[1:], io.StringIO(), io.StringIO())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return code, err.getvalue(), cpu, peak


def check(tree: Path, relative: str, text: str, commands: list[list[str]]) -> None:
    target = tree / relative
    original = target.read_bytes()
    target.write_text(text, encoding="utf-8")
    try:
        for command in commands:
            code, err, cpu, peak = measured([*command, str(target)])
            assert code in (0, 2), f"{command}: exit {code}\n{err}"
            assert "Traceback" not in err and "internal error" not in err, err
            assert cpu < CPU_SECONDS, f"{command}: {cpu:.2f} s of CPU"
            assert peak < MEMORY_BYTES, f"{command}: {peak / 2**20:.0f} MB"
    finally:
        target.write_bytes(original)


MUTATION = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.slow
@pytest.mark.parametrize("relative", SPECS + PIPELINES)
@MUTATION
@given(
    choice=st.integers(min_value=0),
    how=st.sampled_from(["replace", "delete", "rename"]),
    value=replacements,
    duplicate=st.one_of(st.none(), st.integers(min_value=0)),
)
def test_a_mutated_sample_ends_in_exit_0_or_2(
    tree: Path, relative: str, choice: int, how: str, value: object, duplicate: int | None
) -> None:
    data = yaml.safe_load((SAMPLES / relative).read_text(encoding="utf-8"))
    places = paths(data)
    data = mutate(data, places[choice % len(places)], how, expanded(value))
    commands = (
        [["pipeline", "show", "--json"]]
        if relative in PIPELINES
        else [["validate"], ["render", "--json"]]
    )
    check(tree, relative, dumped(data, duplicate), commands)
