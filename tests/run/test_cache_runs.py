"""The result cache seen from module runs: hits, misses and their reasons, single flight."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import runner
from runner.cli.main import main
from runner.run.engine import RunOptions
from runner.run.explain import explain_module

SPEC = """\
$schema: http://azureml/sdk-2-0/CommandComponent.json
type: CommandComponent
name: line_counter
version: 0.0.1
is_deterministic: {deterministic}
environment_variables: {{EXECUTIONS: {executions}}}
inputs:
  data: {{type: AnyDirectory}}
  ratio: {{type: Float, default: 0.75}}
outputs:
  counts: {{type: AnyDirectory}}
  summary: {{type: AnyFile}}
command: python count.py {{inputs.data}} {{inputs.ratio}} {{outputs.counts}} {{outputs.summary}}
"""

COUNT = """\
import json, os, sys, time
from pathlib import Path
data, ratio, counts, summary = sys.argv[1:5]
with open(os.environ["EXECUTIONS"], "a") as log:
    log.write("ran\\n")
time.sleep(float(os.environ.get("COUNT_SLEEP", "0")))
total = 0
for path in sorted(Path(data).rglob("*")):
    if path.is_file():
        lines = len(path.read_text().splitlines())
        total += lines
        (Path(counts) / (path.name + ".count")).write_text(str(lines))
Path(summary).write_text(json.dumps({"total": total, "ratio": float(ratio)}))
"""


# Longer than the stat memo's racy-write margin (runner.cache.state), so files count as settled.
MEMO_MARGIN = 0.25


class Counter:
    def __init__(self, tmp_path: Path, write: Callable[..., Path], deterministic: bool = True):
        self.executions = tmp_path / "executions.log"
        self.data = tmp_path / "data"
        (self.data / "sub").mkdir(parents=True)
        (self.data / "a.csv").write_text("1\n2\n3\n")
        (self.data / "sub" / "b.csv").write_text("4\n5\n")
        spec = SPEC.format(
            deterministic=str(deterministic).lower(), executions=json.dumps(str(self.executions))
        )
        self.spec_path = write(spec, {"count.py": COUNT})
        # Files written a moment ago cannot be memoised yet (a same-tick rewrite would go
        # unnoticed); age them so the memo behaves as it does on a user's settled files.
        for folder in (self.data, self.spec_path.parent):
            for path in folder.rglob("*"):
                os.utime(path, ns=(1_000_000_123, 1_000_000_123))  # not whole seconds: see is_racy
        time.sleep(MEMO_MARGIN)  # the ctime that utime just set must age as well
        self.module = runner.load_module(self.spec_path)
        self.runs = 0
        self.tmp_path = tmp_path

    def run(self, **values: object) -> runner.RunResult:
        self.runs += 1
        result = self.module.run(
            data=self.data, workdir=self.tmp_path / f"run{self.runs}", quiet=True, **values
        )
        assert result.ok, result.log.read_text()
        return result

    @property
    def executed(self) -> int:
        return len(self.executions.read_text().splitlines()) if self.executions.exists() else 0

    def explain(self, **values: object) -> list[str]:
        spec = runner.load_module(self.spec_path).spec
        explanation = explain_module(spec, {"data": self.data, **values}, None, RunOptions())
        return list(explanation.reasons)


@pytest.fixture
def counter(tmp_path: Path, write_module: Callable[..., Path]) -> Counter:
    return Counter(tmp_path, write_module)


def record(result: runner.RunResult) -> dict[str, object]:
    data = json.loads((result.workdir / "run.json").read_text())
    assert isinstance(data, dict)
    return data


def test_second_identical_run_is_served_from_the_cache(counter: Counter) -> None:
    first = counter.run()
    second = counter.run()
    assert first.status is runner.Status.SUCCEEDED and not first.cached
    assert second.status is runner.Status.CACHED and second.cached
    assert second.cache_key == first.cache_key
    assert counter.executed == 1
    assert json.loads(second.outputs["summary"].read_text()) == {"total": 5, "ratio": 0.75}
    assert (second.outputs["counts"] / "b.csv.count").read_text() == "2"
    assert record(second)["status"] == "cached"
    assert counter.explain() == []


def test_file_changed_inside_a_directory_input_is_a_miss(counter: Counter) -> None:
    counter.run()
    (counter.data / "sub" / "b.csv").write_text("4\n5\n6\n")
    assert counter.explain() == ["input 'data': sub/b.csv changed"]
    result = counter.run()
    assert not result.cached
    assert json.loads(result.outputs["summary"].read_text())["total"] == 6


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda data: (data / "sub" / "c.csv").write_text("7\n"), "sub/c.csv added"),
        (lambda data: (data / "a.csv").rename(data / "z.csv"), "a.csv removed"),
    ],
)
def test_file_added_or_renamed_is_a_miss(
    counter: Counter, change: Callable[[Path], object], reason: str
) -> None:
    counter.run()
    change(counter.data)
    assert f"input 'data': {reason}" in counter.explain()
    assert not counter.run().cached
    assert counter.executed == 2


def test_touch_without_change_is_a_hit_that_reads_only_the_touched_file(counter: Counter) -> None:
    counter.run()
    settled = counter.run()  # every input file is memoised by now
    assert settled.cached and record(settled)["hashed_bytes"] == 0
    os.utime(counter.data / "a.csv")
    time.sleep(MEMO_MARGIN)
    touched = counter.run()
    assert touched.cached
    # The new stat cannot vouch for the content, so exactly that file is read again, once.
    assert record(touched)["hashed_bytes"] == len("1\n2\n3\n")
    again = counter.run()
    assert again.cached and record(again)["hashed_bytes"] == 0
    assert counter.executed == 1


def test_parameter_change_is_a_miss_with_its_reason(counter: Counter) -> None:
    counter.run()
    assert counter.explain(ratio="0.8") == ["parameter ratio: 0.75 -> 0.8"]
    assert not counter.run(ratio="0.8").cached
    assert counter.run(ratio=0.8).cached  # the typed value, whatever its spelling


def test_code_change_is_a_miss_with_the_file_named(counter: Counter) -> None:
    counter.run()
    script = counter.spec_path.parent / "count.py"
    script.write_text(script.read_text() + "# a comment is a change\n")
    assert counter.explain() == ["code: count.py changed"]
    assert not counter.run().cached


def test_explain_compares_with_the_nearest_cached_entry_not_the_last_run(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    nearest = counter.run()  # ratio 0.75
    counter.run(ratio="0.8")  # the most recent entry
    (counter.data / "sub" / "b.csv").write_text("4\n5\n6\n")
    monkeypatch.setenv("COUNT_SLEEP", "not a number")  # the last run fails
    failed = counter.module.run(data=counter.data, ratio="0.9", quiet=True)
    assert failed.status is runner.Status.FAILED
    spec = counter.module.spec
    explanation = explain_module(spec, {"data": counter.data}, None, RunOptions())
    assert explanation.nearest == nearest.cache_key
    assert explanation.reasons == ("input 'data': sub/b.csv changed",)


def test_environment_change_is_a_miss(counter: Counter, tmp_path: Path) -> None:
    counter.run()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    other = str(venv / "bin" / "python")
    spec = counter.module.spec
    options = RunOptions(python=other)
    explanation = explain_module(spec, {"data": counter.data}, None, options)
    assert explanation.reasons == ("environment changed",)
    result = counter.module.run(data=counter.data, python=other, quiet=True)
    assert result.ok and not result.cached


def test_non_deterministic_module_always_runs(
    tmp_path: Path, write_module: Callable[..., Path]
) -> None:
    counter = Counter(tmp_path, write_module, deterministic=False)
    assert not counter.run().cached
    assert not counter.run().cached
    assert counter.executed == 2
    assert "not deterministic" in counter.explain()[0]


def test_no_cache_and_force(counter: Counter) -> None:
    first = counter.run()
    no_cache = counter.module.run(data=counter.data, cache=False, quiet=True)
    assert not no_cache.cached and no_cache.cache_key is None
    forced = counter.module.run(data=counter.data, force=True, quiet=True)
    assert not forced.cached and forced.cache_key == first.cache_key
    assert counter.run().cached
    assert counter.executed == 3


def test_an_output_not_written_is_a_warning_and_the_run_is_not_cached(
    tmp_path: Path, write_module: Callable[..., Path]
) -> None:
    """The service judges a run by its exit code: exit 0 succeeds, whatever the outputs. A
    folder output left unwritten is an empty folder, a file output is absent, and both say so.
    Such a run is not cached (the next run executes again)."""
    spec = """\
    $schema: http://azureml/sdk-2-0/CommandComponent.json
    type: CommandComponent
    name: forgetful
    version: 1
    outputs: {report: {type: AnyFile}, Model dir: {type: AnyDirectory}}
    command: python -c "import shutil, sys; shutil.rmtree(sys.argv[1])" {outputs.model_dir}
    """
    module = runner.load_module(write_module(spec))
    chosen = tmp_path / "chosen"
    result = module.run(
        quiet=True, workdir=tmp_path / "run", outputs={"report": chosen / "report.txt"}
    )
    assert result.status is runner.Status.SUCCEEDED and result.exit_code == 0
    assert result.missing_outputs == ("model_dir", "report")
    assert result.outputs["model_dir"].is_dir() and not any(result.outputs["model_dir"].iterdir())
    assert not result.outputs["report"].exists() and not chosen.exists()
    assert [n for n in result.notes if "did not write" in n] == [
        "the module did not write output 'report' (report): no file at"
        f" {tmp_path / 'run' / 'outputs' / 'report' / 'report.txt'}",
        "the module did not write output 'Model dir' (model_dir): it is an empty folder",
    ]
    recorded = record(result)
    assert (recorded["status"], recorded["exit_code"]) == ("succeeded", 0)
    assert recorded["missing_outputs"] == ["model_dir", "report"]
    assert result.to_json()["missing_outputs"] == ["model_dir", "report"]
    assert not module.run(quiet=True).cached


def test_failed_runs_are_not_cached(tmp_path: Path, write_module: Callable[..., Path]) -> None:
    spec = """\
    $schema: http://azureml/sdk-2-0/CommandComponent.json
    type: CommandComponent
    name: failing
    version: 1
    command: python -c "raise SystemExit(2)"
    """
    module = runner.load_module(write_module(spec))
    assert module.run(quiet=True).status is runner.Status.FAILED
    assert module.run(quiet=True).status is runner.Status.FAILED


def test_cli_reports_cached_and_key(
    counter: Counter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", str(counter.spec_path), "-i", f"data={counter.data}", "--json", "--quiet"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert (first["status"], first["cached"]) == ("succeeded", False)
    assert (second["status"], second["cached"]) == ("cached", True)
    assert first["cache_key"] == second["cache_key"]
    assert main(["explain", str(counter.spec_path), "-i", f"data={counter.data}"]) == 0
    assert "would be served from the cache" in capsys.readouterr().out
    assert main(["cache", "ls"]) == 0
    listing = capsys.readouterr().out
    assert first["cache_key"] in listing and "line_counter" in listing
    assert main(["cache", "rm", first["cache_key"][:8]]) == 0
    assert capsys.readouterr().out == f"removed {first['cache_key']}\n"
    assert main(["cache", "ls", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["entries"] == []


def test_eight_concurrent_identical_runs_execute_once(counter: Counter, tmp_path: Path) -> None:
    env = {**os.environ, "COUNT_SLEEP": "1"}
    argv = [sys.executable, "-m", "runner", "run", str(counter.spec_path)]
    argv += ["-i", f"data={counter.data}", "--json", "--quiet"]
    processes = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(8)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        results.append(json.loads(out))
    assert counter.executed == 1
    assert sorted(r["status"] for r in results) == ["cached"] * 7 + ["succeeded"]
    for result in results:
        assert json.loads(Path(result["outputs"]["summary"]).read_text())["total"] == 5


def test_runs_folder_inside_the_module_folder_stays_out_of_the_snapshot(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default runs folder is ./runs: running from the module's own folder puts it there.
    monkeypatch.delenv("RUNNER_RUNS_DIR")
    monkeypatch.chdir(counter.spec_path.parent)
    first = counter.module.run(data=counter.data, quiet=True)
    assert first.workdir.parent == counter.spec_path.parent / "runs"
    assert not (first.workdir / "snapshot" / "runs").exists()
    again = counter.module.run(data=counter.data, quiet=True)
    assert again.cached, again.notes


def history_files(counter: Counter) -> dict[str, tuple[int, int]]:
    """Every file of the module's history: relative path -> (inode, size)."""
    root = Path(os.environ["RUNNER_CACHE_DIR"]) / "history"
    return {
        str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_size)
        for p in root.rglob("*")
        if p.is_file()
    }


def test_history_writes_only_what_is_new(counter: Counter) -> None:
    counter.run()
    first = history_files(counter)
    trees = {name for name in first if "/trees/" in name}
    assert len(trees) == 2  # the input's file list and the code's
    counter.run()  # a hit: nothing written, the run's file only marked as the latest
    assert history_files(counter) == first
    counter.run(ratio="0.8")  # a new key, same input and code: one small file, no list again
    second = history_files(counter)
    added = set(second) - set(first)
    assert len(added) == 1 and not any("/trees/" in name for name in added)
    assert {name: second[name] for name in first} == first
    assert counter.explain(ratio="0.75") == []  # a hit: nothing to explain
    (counter.data / "a.csv").write_text("1\n")
    assert counter.explain(ratio="0.8") == ["input 'data': a.csv changed"]


def test_history_keeps_the_last_runs(counter: Counter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("runner.run.history.KEEP", 2)
    for ratio in ("0.1", "0.2", "0.3", "0.4", "0.5"):
        counter.run(ratio=ratio)
    runs = [name for name in history_files(counter) if "/trees/" not in name]
    assert len(runs) == 2
    # The latest run is the one explain compares with.
    assert counter.explain(ratio="0.6") == ["parameter ratio: 0.5 -> 0.6"]


def test_steps_of_one_module_record_their_runs_at_once(counter: Counter, tmp_path: Path) -> None:
    import threading

    from runner.run.history import record_last_run
    from runner.run.key import KeyParts

    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def record(n: int) -> None:
        parts = KeyParts(f"m{n}", ("x",), {}, {}, "", "env", {})
        barrier.wait()
        try:
            record_last_run(tmp_path / "cache", counter.module.spec, parts, "succeeded")
        except BaseException as exc:  # the race this test is about
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(list((tmp_path / "cache" / "history").glob("*/*.json"))) == 8


def test_outputs_delivered_with_o_are_writable_files_independent_of_the_cache(
    counter: Counter,
) -> None:
    """-o gives the user ordinary files (a reflink or a copy, never a hard link into the store):
    editing one leaves the cache entry intact. The run folder's own files may be the store's
    objects, and stay read-only."""
    chosen = counter.tmp_path / "chosen"
    for attempt in ("executed", "served"):
        result = counter.module.run(
            data=counter.data,
            workdir=counter.tmp_path / attempt,
            outputs={"counts": chosen / attempt / "counts", "summary": chosen / attempt / "s"},
            quiet=True,
        )
        assert result.ok and result.cached == (attempt == "served")
        summary, count = chosen / attempt / "s", chosen / attempt / "counts" / "b.csv.count"
        for delivered in (summary, count):
            st = delivered.stat()
            assert st.st_nlink == 1 and st.st_mode & 0o777 == 0o644, oct(st.st_mode)
        summary.write_text("edited")
        count.write_text("edited")
    assert counter.executed == 1
    again = counter.run()
    assert again.cached
    assert json.loads(again.outputs["summary"].read_text()) == {"total": 5, "ratio": 0.75}
    assert (again.outputs["counts"] / "b.csv.count").read_text() == "2"
    store_linked = again.outputs["summary"].stat()
    assert store_linked.st_mode & 0o222 == 0 or store_linked.st_nlink == 1
