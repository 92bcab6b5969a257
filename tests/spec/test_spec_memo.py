"""The memo of parsed spec documents: the same document as parsing, no parser imported for a
spec read before, never an error or an inexact value kept, a damaged entry parsed again."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.errors import SpecError
from runner.pipeline.load import load_pipeline
from runner.spec import memo
from runner.spec.source import load_document

REPO = Path(__file__).resolve().parents[2]
SAMPLE_SPECS = sorted(
    path
    for path in (REPO / "samples").rglob("*.y*ml")
    if path.suffix in (".yaml", ".yml") and "data" not in path.parts
)


@pytest.fixture
def memo_root(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "cache"
    root.mkdir()
    memo.use(root)
    yield root
    memo.use(None)


def entries(root: Path) -> list[Path]:
    folder = root / memo.FOLDER_NAME
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


@pytest.mark.parametrize("path", SAMPLE_SPECS, ids=lambda p: str(p.relative_to(REPO)))
def test_a_remembered_sample_is_the_document_parsing_gives(path: Path, memo_root: Path) -> None:
    memo.use(None)
    parsed = load_document(path)
    memo.use(memo_root)
    first = load_document(path)
    assert len(entries(memo_root)) == 1
    recalled = load_document(path)
    assert (recalled.path, recalled.data, recalled.positions) == (
        parsed.path,
        parsed.data,
        parsed.positions,
    )
    assert first.data == parsed.data


def test_specs_and_pipelines_load_equal_through_the_memo(memo_root: Path) -> None:
    pipeline = REPO / "samples" / "sar" / "pipeline.yml"
    memo.use(None)
    fresh = load_pipeline(pipeline)
    memo.use(memo_root)
    load_pipeline(pipeline)
    assert entries(memo_root), "the pipeline and its components were kept"
    assert load_pipeline(pipeline) == fresh


def test_the_same_bytes_elsewhere_share_an_entry_placed_at_their_own_path(
    tmp_path: Path, memo_root: Path
) -> None:
    text = "a: 1\nb:\n  - x\n  - y\n"
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text(text)
    two.write_text(text)
    load_document(one)
    recalled = load_document(two)
    assert len(entries(memo_root)) == 1
    assert recalled.path == two
    assert recalled.positions[("b", 1)] == (4, 5)
    two.write_text(text + "c: 2\n")
    assert load_document(two).data == {"a": 1, "b": ["x", "y"], "c": 2}
    assert len(entries(memo_root)) == 2


@pytest.mark.parametrize(
    "text",
    [
        "1: integer key\n",  # JSON would give the key back as a string
        "true: boolean key\n",
        "x: .inf\n",  # JSON has no infinity
        "x: [1, {2: two}]\n",
    ],
)
def test_what_json_would_not_give_back_exactly_is_not_kept(
    text: str, tmp_path: Path, memo_root: Path
) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(text)
    first = load_document(path)
    assert entries(memo_root) == []
    assert load_document(path).data == first.data


def test_an_error_is_judged_afresh_and_never_kept(tmp_path: Path, memo_root: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("name: x\ninputs: [a, \n")
    for _ in range(2):
        with pytest.raises(SpecError, match="invalid YAML"):
            load_document(path)
    assert entries(memo_root) == []


def test_a_damaged_entry_is_parsed_again_and_replaced(tmp_path: Path, memo_root: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text("a: [1, 2]\n")
    expected = load_document(path)
    (entry,) = entries(memo_root)
    for damage in (b"", b'{"not": "ours"}', b"[99, {}, []]", b"\xff\xfe"):
        entry.write_bytes(damage)
        again = load_document(path)
        assert (again.data, again.positions) == (expected.data, expected.positions)
    assert load_document(path).positions == expected.positions


def test_an_unwritable_memo_folder_changes_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.mkdir()
    (blocker / memo.FOLDER_NAME).write_text("a file where the folder would go")
    memo.use(blocker)
    try:
        path = tmp_path / "doc.yaml"
        path.write_text("a: 1\n")
        assert load_document(path).data == {"a": 1}
    finally:
        memo.use(None)


def run_cli(args: list[str], cache: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUNNER_CACHE_DIR": str(cache), "RUNNER_ENV": "host"}
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "runner", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def imported(stderr: str, module: str) -> bool:
    return any(line.rsplit("|", 1)[-1].strip() == module for line in stderr.splitlines())


def test_a_command_parses_a_spec_it_read_before_without_importing_yaml(tmp_path: Path) -> None:
    spec = next(p for p in SAMPLE_SPECS if "word_count" in p.parts)
    cache = tmp_path / "cache"
    first = run_cli(["validate", str(spec)], cache, tmp_path)
    assert first.returncode == 0, first.stderr
    assert not cache.exists(), "a command that uses no cache folder makes none for the memo"
    cache.mkdir()
    kept = run_cli(["validate", str(spec)], cache, tmp_path)
    assert kept.returncode == 0 and imported(kept.stderr, "yaml")
    again = run_cli(["validate", str(spec)], cache, tmp_path)
    assert again.returncode == 0, again.stderr
    assert not imported(again.stderr, "yaml"), "the kept document was parsed again"


def test_cache_gc_empties_the_memo(tmp_path: Path) -> None:
    spec = next(p for p in SAMPLE_SPECS if "word_count" in p.parts)
    cache = tmp_path / "cache"
    cache.mkdir()
    assert run_cli(["validate", str(spec)], cache, tmp_path).returncode == 0
    assert entries(cache)
    gc = run_cli(["cache", "gc", "--json"], cache, tmp_path)
    assert gc.returncode == 0, gc.stderr
    assert entries(cache) == []
