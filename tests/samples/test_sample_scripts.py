"""The sample modules' scripts work on their own, without the runner.

Each test builds the folder the runner's snapshot would be (spec folder + additional
includes - ignored files) in tmp_path, renders argv from the spec with a deliberately tiny
renderer, runs the script with sys.executable and checks its outputs. If a runner test on
these samples fails while these pass, the bug is in the runner, not in the sample.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
DATA = SAMPLES / "data"
SHARED = SAMPLES / "shared"
IGNORED = shutil.ignore_patterns("scratch", "*.tmp", "__pycache__")  # as word_count/.amlignore

# 2.0 and CLI v2 placeholders and optional-group delimiters.
STYLES = {
    "component2": (re.compile(r"\{(?:inputs|outputs)\.(\w+)\}"), "[", "]"),
    "cliv2": (re.compile(r"\$\{\{\s*(?:inputs|outputs)\.(\w+)\s*\}\}"), "$[[", "]]"),
}

# Runs a parallel entry script the way a parallel driver does: init, run per mini-batch,
# shutdown. Results go to a file because entry scripts may print to stdout.
PARALLEL_HARNESS = """
import importlib, json, sys
job = json.loads(sys.argv[1])
sys.argv = [job["entry"], *job["args"]]
sys.path.insert(0, ".")
entry = importlib.import_module(job["entry"].removesuffix(".py"))
entry.init()
files, size, rows = job["files"], job["batch"], []
for start in range(0, len(files), size):
    rows.extend(entry.run(files[start : start + size]))
entry.shutdown()
with open(job["results"], "w") as f:
    json.dump(rows, f)
"""


def load(spec: Path) -> dict[str, Any]:
    with open(spec) as f:
        return yaml.safe_load(f)  # type: ignore[no-any-return]


def render_legacy(args: list[Any], values: dict[str, str]) -> list[str]:
    """Legacy args: a nested list is emitted only when all its placeholders have values."""
    argv: list[str] = []
    for item in args:
        if isinstance(item, list):
            names = [next(iter(p.values())) for p in item if isinstance(p, dict)]
            if all(name in values for name in names):
                argv += render_legacy(item, values)
        elif isinstance(item, dict):
            argv.append(values[next(iter(item.values()))])
        else:
            argv.append(str(item))
    return argv


def render_string(command: str, values: dict[str, str], style: str) -> list[str]:
    """Shell-split first, then substitute per token; drop groups with a missing value.

    CLI v2 allows spaces inside `${{ inputs.x }}`: a placeholder must never be split, so
    those spaces go before the split.
    """
    pattern, opener, closer = STYLES[style]
    if style == "cliv2":
        command = re.sub(r"\$\{\{\s*(\w+)\.(\w+)\s*\}\}", r"${{\1.\2}}", command)
    argv: list[str] = []
    group: list[str | None] | None = None
    for token in shlex.split(command):
        if token.startswith(opener):
            token, group = token[len(opener) :], []
        closes = group is not None and token.endswith(closer)
        if closes:
            token = token[: -len(closer)]
        names = pattern.findall(token)
        text = (
            None
            if any(n not in values for n in names)
            else pattern.sub(lambda m: values[m.group(1)], token)
        )
        if group is None:
            assert text is not None, f"required placeholder without a value in {token!r}"
            argv.append(text)
        else:
            group.append(text)
            if closes:
                argv += [] if None in group else [t for t in group if t is not None]
                group = None
    return argv


def run(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, *argv], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=60
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


# ---- legacy: optional inputs, typed parameters, enum children -----------------------------

OPTIONAL_INPUT = SAMPLES / "legacy" / "optional_input"


def run_optional_input(tmp_path: Path, values: dict[str, str]) -> subprocess.CompletedProcess[str]:
    container = load(OPTIONAL_INPUT / "optional_input.yaml")["implementation"]["container"]
    snapshot = tmp_path / "snapshot"
    shutil.copytree(OPTIONAL_INPUT, snapshot, ignore=IGNORED)
    argv = [*container["command"][1:], *render_legacy(container["args"], values)]
    return run(argv, snapshot)


def test_optional_input_defaults_recommend_top_k(tmp_path: Path) -> None:
    out = tmp_path / "out"
    title = "Top picks  for you"  # double space: must arrive as one argv element, intact
    values = {
        "Input path": str(DATA / "ratings" / "train"),
        "String parameter": title,
        "Min count": "1",
        "Shrinkage": "0.0",
        "Include header": "True",
        "Score type": "Item recommendation",
        "Top k": "2",
        "Output path": str(out),
    }
    result = ok(run_optional_input(tmp_path, values))
    assert f"received string_param = {title!r}" in result.stdout
    rows = read_csv(out / "result.csv")
    assert rows[0] == ["user", "item", "score"]
    assert rows[1:3] == [["u1", "Vertigo", "4.0"], ["u1", "Heat", "3.5"]]
    assert len(rows) == 1 + 6 * 2  # six users, two unseen items each
    info = json.loads((out / "run_info.json").read_text())
    assert info["received"] == {
        "string_param": title,
        "optional_input_path": None,
        "optional_string_param": None,
        "min_count": 1,
        "shrinkage": 0.0,
        "include_header": True,
        "score_type": "Item recommendation",
        "items_to_predict": None,
        "top_k": 2,
    }
    assert info["training_rows"] == 21


def test_optional_input_every_value_set_predicts_score_set(tmp_path: Path) -> None:
    out = tmp_path / "out"
    values = {
        "Input path": str(DATA / "ratings" / "train"),
        "Optional input path": str(DATA / "ratings" / "score"),
        "String parameter": "Score set",
        "Optional string parameter": "shrunk toward the global mean",
        "Min count": "4",
        "Shrinkage": "2.5",
        "Include header": "False",
        "Score type": "Rating prediction",
        "Items to predict": "Items in score set",
        "Output path": str(out),
    }
    ok(run_optional_input(tmp_path, values))
    rows = read_csv(out / "result.csv")
    assert rows[0] == ["u1", "Heat", "3.5458"]  # no header: Include header is False
    # Dune has 3 ratings (< Min count 4) and Metropolis none: both get the global mean.
    assert ["u4", "Dune", "3.619"] in rows
    assert rows[-1] == ["u6", "Metropolis", "3.619"]
    info = json.loads((out / "run_info.json").read_text())
    assert info["received"]["optional_string_param"] == "shrunk toward the global mean"
    assert info["received"]["items_to_predict"] == "Items in score set"
    assert info["score_set_rows"] == 6


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        # A child of the other enum option reached the script: the runner failed to drop it.
        ({"Items to predict": "Items in training set", "Top k": "2"}, "child parameters"),
        # Scoring the score set without one is a user error the module reports.
        ({"Items to predict": "Items in score set"}, "needs the Optional input path"),
    ],
)
def test_optional_input_rejects_inconsistent_values(
    tmp_path: Path, extra: dict[str, str], message: str
) -> None:
    values = {
        "Input path": str(DATA / "ratings" / "train"),
        "String parameter": "x",
        "Min count": "1",
        "Shrinkage": "0.0",
        "Include header": "True",
        "Score type": "Rating prediction",
        "Output path": str(tmp_path / "out"),
        **extra,
    }
    result = run_optional_input(tmp_path, values)
    assert result.returncode != 0
    assert message in result.stderr


# ---- component 2.0: additional includes (folder, file, zip built from a folder) ------------

WORD_COUNT = SAMPLES / "component2" / "word_count"


def word_count_snapshot(tmp_path: Path) -> Path:
    """What the runner must build: spec folder + includes, zip made from lexicon/."""
    snapshot = tmp_path / "snapshot"
    shutil.copytree(WORD_COUNT, snapshot, ignore=IGNORED)
    shutil.copytree(SHARED / "textlib", snapshot / "textlib", ignore=IGNORED)
    shutil.copy(SHARED / "stopwords.txt", snapshot)
    shutil.make_archive(str(snapshot / "lexicon"), "zip", SHARED, "lexicon")
    return snapshot


@pytest.mark.parametrize("min_length", [None, "4"])
def test_word_count_uses_its_includes(tmp_path: Path, min_length: str | None) -> None:
    out = tmp_path / "out"
    values = {
        "documents": str(DATA / "reviews"),
        "top_n": "3",
        "report_title": "Review words, 2024 edition",
        "counts": str(out),
    }
    if min_length:
        values["min_length"] = min_length
    argv = render_string(load(WORD_COUNT / "word_count.yaml")["command"], values, "component2")
    assert argv[0] == "python"
    assert ("--min-length" in argv) == bool(min_length)
    assert "--top-n=3" in argv
    ok(run(argv[1:], word_count_snapshot(tmp_path)))

    report = json.loads((out / "report.json").read_text())
    assert report["title"] == "Review words, 2024 edition"
    assert report["documents"] == [f"review_0{i}.txt" for i in range(1, 7)]
    counts = dict(read_csv(out / "counts.csv")[1:])
    assert "the" not in counts  # a stop word from the included stopwords.txt
    if min_length:
        assert report["min_length"] == 4
        assert report["top"] == [["awful", 4], ["film", 4], ["acting", 2]]
        assert (report["positive"], report["negative"]) == (14, 15)
        assert min(len(word) for word in counts) == 4
    else:
        assert report["min_length"] == 1
        assert "a" not in counts and "i" not in counts  # short, but stop words
        assert report["total_words"] > 70


def test_word_count_fails_without_its_includes(tmp_path: Path) -> None:
    # The includes are genuinely needed: a copy of the spec folder alone cannot run.
    bare = tmp_path / "bare"
    shutil.copytree(WORD_COUNT, bare, ignore=IGNORED)
    argv = ["word_count.py", "--documents", str(DATA / "reviews"), "--top-n", "1", "--title", "t"]
    result = run([*argv, "--output", str(tmp_path / "out")], bare)
    assert result.returncode != 0
    assert "No module named 'textlib'" in result.stderr


def test_word_count_tree_exercises_the_snapshot_rules() -> None:
    includes = (WORD_COUNT / "word_count.additional_includes").read_text().split()
    assert includes == [
        "../../shared/textlib",
        "../../shared/stopwords.txt",
        "../../shared/lexicon.zip",
    ]
    # The zip rule: the zip must NOT exist, its folder must, so the runner has to build it.
    assert not (SHARED / "lexicon.zip").exists()
    assert (SHARED / "lexicon" / "positive.txt").is_file()
    # Things .amlignore must keep out, in the base folder and in an included folder.
    assert (WORD_COUNT / "scratch" / "ideas.md").is_file()
    assert (WORD_COUNT / "draft_output.tmp").is_file()
    assert (SHARED / "textlib" / "benchmark.tmp").is_file()
    # An include whose basename already exists in the base folder is an error.
    assert not any((WORD_COUNT / Path(p).name).exists() for p in includes)


# ---- parallel modules (legacy and 2.0) -----------------------------------------------------


def run_parallel(snapshot: Path, entry: str, args: list[str], batch: int) -> list[str]:
    files = sorted(str(p) for p in (DATA / "reviews").glob("*.txt"))
    job = {"entry": entry, "args": args, "files": files, "batch": batch}
    job["results"] = str(snapshot.parent / "results.json")
    ok(run(["-c", PARALLEL_HARNESS, json.dumps(job)], snapshot))
    return json.loads(Path(job["results"]).read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("threshold", "style", "review_03"),
    [("0.1", "upper", "POSITIVE"), ("0.5", "lower", "neutral")],
)
def test_parallel_score_labels_each_review(
    tmp_path: Path, threshold: str, style: str, review_03: str
) -> None:
    folder = SAMPLES / "legacy" / "parallel_score"
    parallel = load(folder / "parallel_score.yaml")["implementation"]["parallel"]
    assert (parallel["inputData"], parallel["outputData"]) == ("Reviews", "Scores")
    values = {"Lexicon": str(SHARED / "lexicon"), "Threshold": threshold, "Label style": style}
    # The driver may append options of its own: init() must tolerate them.
    args = [*render_legacy(parallel["args"], values), "--driver-option", "1"]
    shutil.copytree(folder, tmp_path / "snapshot")
    rows = [
        row.split("\t") for row in run_parallel(tmp_path / "snapshot", parallel["entry"], args, 4)
    ]
    assert [r[0] for r in rows] == [f"review_0{i}.txt" for i in range(1, 7)]
    labels = {r[0]: r[1] for r in rows}
    assert labels["review_01.txt"] == ("POSITIVE" if style == "upper" else "positive")
    assert labels["review_03.txt"] == review_03
    assert rows[1][2:] == ["-1.000", "awful,disappointing,dull,letdown,mess"]


@pytest.mark.parametrize(("count_blank", "review_03_lines"), [("True", "3"), ("False", "2")])
def test_file_stats_counts_each_file(
    tmp_path: Path, count_blank: str, review_03_lines: str
) -> None:
    folder = SAMPLES / "component2" / "file_stats"
    parallel = load(folder / "file_stats.yaml")["parallel"]
    args = render_string(parallel["args"], {"count_blank_lines": count_blank}, "component2")
    shutil.copytree(folder, tmp_path / "snapshot")
    rows = run_parallel(tmp_path / "snapshot", parallel["entry"], args, 2)
    assert len(rows) == 6
    assert rows[2] == f"review_03.txt\t{review_03_lines}\t19\t92"


# ---- CLI v2 ----------------------------------------------------------------------------------


def test_csv_summary_writes_a_single_file(tmp_path: Path) -> None:
    folder = SAMPLES / "cliv2" / "csv_summary"
    spec = load(folder / "csv_summary.yml")
    summary = tmp_path / "outputs" / "summary.json"  # a uri_file output: a file path
    values = {
        "table": str(DATA / "sales.csv"),
        "group_by": "product",
        "value_column": "units",
        "top": "2",
        "title": "Units by product",
        "summary": str(summary),
    }
    argv = render_string(spec["command"], values, "cliv2")
    snapshot = tmp_path / "snapshot"
    shutil.copytree(folder / spec["code"], snapshot)
    ok(run(argv[1:], snapshot))
    result = json.loads(summary.read_text())
    assert result["title"] == "Units by product"
    assert result["groups"]["Gizmo"] == {"rows": 4, "total": 42.0}
    assert result["top_groups"] == ["Gizmo", "Widget"]
    assert result["total"] == 102.0


ENV = {"STATS_DELIMITER": ";", "STATS_RUN_LABEL": "nordic stations"}


@pytest.mark.parametrize(
    ("extra", "count", "stdev"),
    [({}, 8, 4.02), ({"min_value": "0", "population": "True"}, 6, 1.65)],
)
def test_column_stats_single_file_snapshot(
    tmp_path: Path, extra: dict[str, str], count: int, stdev: float
) -> None:
    folder = SAMPLES / "cliv2" / "column_stats"
    spec = load(folder / "column_stats.yml")
    assert spec["environment_variables"] == ENV
    values = {
        "measurements": str(DATA / "measurements.csv"),
        "column": "temperature",
        "population": "False",
        "decimals": "2",
        "stats": str(tmp_path / "out"),
        **extra,
    }
    argv = render_string(spec["command"], values, "cliv2")
    assert ("--min-value" in argv) == ("min_value" in extra)
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    shutil.copy(folder / spec["code"], snapshot)  # code: ./stats.py, the whole snapshot
    result = ok(run(argv[1:], snapshot, ENV))
    assert "STATS_RUN_LABEL='nordic stations'" in result.stdout
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert (stats["label"], stats["count"], stats["stdev"]) == ("nordic stations", count, stdev)
    assert stats["max"] == 9.0


def test_column_stats_requires_its_environment_variables(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATS_")}
    result = subprocess.run(
        [sys.executable, str(SAMPLES / "cliv2" / "column_stats" / "stats.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "environment_variables" in result.stderr


# ---- the README documents every sample -------------------------------------------------------


def test_readme_has_a_run_command_for_every_spec() -> None:
    readme = (SAMPLES / "README.md").read_text()
    specs = sorted(
        p
        for p in SAMPLES.rglob("*.y*ml")
        # The SAR sample documents its own modules (tests/samples/test_sar_scripts.py checks).
        if p.name != "conda.yaml" and "data" not in p.parts and "sar" not in p.parts
    )
    assert len(specs) == 6
    for spec in specs:
        assert f"runner run samples/{spec.relative_to(SAMPLES).as_posix()}" in readme
