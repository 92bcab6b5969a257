"""`runner render` prints exactly the argv `runner run` executes: every sample command of
samples/README.md is rendered, then run with the same bindings and run folder, and the two
argvs are compared (absolute output paths, the file names of file outputs chosen with -o, the
interpreter `python` means)."""

from __future__ import annotations

import io
import json
import re
import shlex
from pathlib import Path

import pytest

from runner.cli.main import run_command

REPO = Path(__file__).resolve().parents[2]
COMMANDS = [
    shlex.split(line.strip())[2:]
    for line in (REPO / "samples" / "README.md").read_text(encoding="utf-8").splitlines()
    if re.match(r"\s+runner run samples/", line)
]


def cli(*argv: str) -> dict[str, object]:
    out, err = io.StringIO(), io.StringIO()
    code = run_command(argv[0], list(argv[1:]), out, err)
    assert code == 0, err.getvalue()
    result = json.loads(out.getvalue())
    assert isinstance(result, dict)
    return result


def test_every_sample_command_is_found() -> None:
    assert len(COMMANDS) >= 7
    assert all("-o" in command for command in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0].split("/")[-1] for c in COMMANDS])
def test_render_prints_what_run_executes(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("RUNNER_ENV", "host")
    argv = [word.replace("/tmp/runner-samples/", f"{tmp_path}/chosen/") for word in command]
    workdir = tmp_path / "run"
    rendered = cli("render", *argv, "--workdir", str(workdir), "--json")["argv"]
    ran = cli("run", *argv, "--workdir", str(workdir), "--json", "--quiet", "--no-cache")
    assert ran["status"] == "succeeded"
    executed = json.loads((workdir / "run.json").read_text())["argv"]
    assert rendered == executed
    assert isinstance(rendered, list) and Path(rendered[0]).is_absolute()
    assert all(str(workdir / "outputs") in w for w in rendered if "/outputs/" in w)


def test_a_file_output_keeps_the_name_chosen_with_o(tmp_path: Path) -> None:
    spec = REPO / "samples" / "cliv2" / "csv_summary" / "csv_summary.yml"
    data = REPO / "samples" / "data" / "sales.csv"
    rendered = cli(
        "render", str(spec), "-i", f"table={data}", "-i", "group_by=product", "-i",
        "value_column=units", "-o", f"summary={tmp_path / 'mine.json'}", "--workdir",
        str(tmp_path / "run"), "--json",
    )["argv"]  # fmt: skip
    assert isinstance(rendered, list)
    assert str(tmp_path / "run" / "outputs" / "summary" / "mine.json") in rendered
