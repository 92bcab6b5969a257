"""Every sample module, run through runner itself (loader, snapshot, render, execution)."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import runner

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
DATA = SAMPLES / "data"


def run(spec: str, tmp_path: Path, **values: object) -> runner.RunResult:
    module = runner.load_module(SAMPLES / spec)
    result = module.run(workdir=tmp_path / "run", quiet=True, **values)
    assert result.ok, result.log.read_text()
    return result


def test_legacy_optional_inputs_absent(tmp_path: Path) -> None:
    result = run(
        "legacy/optional_input/optional_input.yaml",
        tmp_path,
        input_path=DATA / "ratings" / "train",
        string_parameter="Top picks  for you",
    )
    info = json.loads((result.outputs["output_path"] / "run_info.json").read_text())
    assert info["received"]["string_param"] == "Top picks  for you"
    argv = json.loads((result.workdir / "run.json").read_text())["argv"]
    assert "--optional-input-path" not in argv
    assert "--items-to-predict" not in argv  # child of the option that is not selected
    assert argv[argv.index("--top-k") + 1] == "2"


def test_legacy_enum_child_and_optional_port(tmp_path: Path) -> None:
    result = run(
        "legacy/optional_input/optional_input.yaml",
        tmp_path,
        values={"Score type": "Rating prediction", "Optional input path": DATA / "ratings/score"},
        input_path=DATA / "ratings" / "train",
        include_header="FALSE",
        shrinkage="2.5",
    )
    argv = json.loads((result.workdir / "run.json").read_text())["argv"]
    assert argv[argv.index("--items-to-predict") + 1] == "Items in score set"
    assert argv[argv.index("--include-header") + 1] == "False"
    assert argv[argv.index("--shrinkage") + 1] == "2.5"
    assert "--top-k" not in argv
    rows = (result.outputs["output_path"] / "result.csv").read_text().splitlines()
    assert rows and not rows[0].startswith("user")


def test_component2_additional_includes_and_amlignore(tmp_path: Path) -> None:
    result = run(
        "component2/word_count/word_count.yaml",
        tmp_path,
        documents=DATA / "reviews",
        min_length=4,
        report_title="Review words, 2024 edition",
    )
    snapshot = result.workdir / "snapshot"
    assert (snapshot / "textlib").is_dir()
    assert (snapshot / "stopwords.txt").is_file()
    with zipfile.ZipFile(snapshot / "lexicon.zip") as archive:
        assert all(name.startswith("lexicon/") for name in archive.namelist())
    assert not (snapshot / "scratch").exists()
    assert not (snapshot / "draft_output.tmp").exists()
    assert not (snapshot / "textlib" / "benchmark.tmp").exists()
    report = json.loads((result.outputs["counts"] / "report.json").read_text())
    assert report["title"] == "Review words, 2024 edition"


def test_cliv2_file_output(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "summary.json"
    module = runner.load_module(SAMPLES / "cliv2/csv_summary/csv_summary.yml")
    result = module.run(
        table=DATA / "sales.csv",
        group_by="product",
        value_column="units",
        outputs={"summary": target},
        workdir=tmp_path / "run",
        quiet=True,
    )
    assert result.ok, result.log.read_text()
    assert result.outputs["summary"] == target
    summary = json.loads(target.read_text())
    with (DATA / "sales.csv").open() as stream:
        expected = sum(int(row["units"]) for row in csv.DictReader(stream))
    assert summary["total"] == expected
    assert sum(group["total"] for group in summary["groups"].values()) == expected


def test_cliv2_single_file_code_and_env_vars(tmp_path: Path) -> None:
    result = run(
        "cliv2/column_stats/column_stats.yml",
        tmp_path,
        measurements=DATA / "measurements.csv",
        min_value=0,
    )
    assert sorted(p.name for p in (result.workdir / "snapshot").iterdir()) == ["stats.py"]
    assert "nordic stations" in result.log.read_text()


def test_legacy_parallel(tmp_path: Path) -> None:
    result = run(
        "legacy/parallel_score/parallel_score.yaml",
        tmp_path,
        reviews=DATA / "reviews",
        lexicon=SAMPLES / "shared" / "lexicon",
        threshold=0.5,
    )
    lines = (result.outputs["scores"] / "parallel_run_step.txt").read_text().splitlines()
    assert len(lines) == len(list((DATA / "reviews").iterdir()))
    assert "shutdown" in result.log.read_text()


def test_component2_parallel(tmp_path: Path) -> None:
    result = run(
        "component2/file_stats/file_stats.yaml",
        tmp_path,
        documents=DATA / "reviews",
        count_blank_lines=True,
    )
    produced = list(result.outputs["stats"].iterdir())
    assert produced, "the parallel run wrote nothing"
