"""runner/parallel_run.py, run as the standalone script it is (copied away from the package)."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "runner" / "resources" / "parallel_run.py"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A run folder holding a copy of the driver and five input files, two of them nested."""
    shutil.copy(SCRIPT, tmp_path / "parallel_run.py")
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    for name in ["b.txt", "a.txt", "c.txt", "sub/e.txt", "sub/d.txt"]:
        (data / name).write_text(name)
    return tmp_path


def write_entry(work: Path, code: str, name: str = "entry.py") -> Path:
    entry = work / name
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(textwrap.dedent(code))
    return entry


def drive(
    work: Path, *options: str, entry_args: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(work / "parallel_run.py"), *options, "--", *entry_args]
    # A minimal environment: the driver must need nothing of ours.
    return subprocess.run(
        argv,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"},
        check=False,
    )


def results(work: Path) -> list[str]:
    return (work / "out" / "parallel_run_step.txt").read_text().splitlines()


FULL_ENTRY = """
import argparse
import json
import os
import sys

state = {}

def init():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tag")
    parser.add_argument("--count", type=int)
    args = parser.parse_args()
    state["tag"] = args.tag
    state["argv0"] = sys.argv[0]
    with open("events.txt", "a") as f:
        f.write("init %s %d\\n" % (args.tag, args.count))

def run(mini_batch):
    with open("events.txt", "a") as f:
        f.write("run %s\\n" % json.dumps(mini_batch))
    return ["%s %s" % (state["tag"], os.path.basename(p)) for p in mini_batch]

def shutdown():
    with open("events.txt", "a") as f:
        f.write("shutdown\\n")
"""


def test_init_run_shutdown_in_mini_batches(work: Path) -> None:
    write_entry(work, FULL_ENTRY)
    done = drive(
        work,
        "--entry",
        "entry.py",
        "--output",
        "out",
        "--mini-batch-size",
        "2",
        "--input",
        "data",
        entry_args=("--tag", "two words", "--count", "3"),
    )
    assert done.returncode == 0, done.stderr
    events = (work / "events.txt").read_text().splitlines()
    assert events[0] == "init two words 3"
    assert events[-1] == "shutdown"
    batches = [json.loads(line[len("run ") :]) for line in events[1:-1]]
    data = work / "data"
    assert batches == [
        [str(data / "a.txt"), str(data / "b.txt")],
        [str(data / "c.txt"), str(data / "sub" / "d.txt")],
        [str(data / "sub" / "e.txt")],
    ]
    assert results(work) == [
        "two words a.txt",
        "two words b.txt",
        "two words c.txt",
        "two words d.txt",
        "two words e.txt",
    ]
    assert "3/3 mini-batches, 5/5 files, 0 failed" in done.stderr


def test_inputs_in_order_files_and_folders(work: Path) -> None:
    write_entry(work, "def run(batch):\n    return [p.split('/')[-1] for p in batch]\n")
    (work / "single.csv").write_text("x")
    done = drive(
        work,
        *("--entry", "entry.py", "--output", "out"),
        *("--input", "single.csv", "--input", "data/sub"),
    )
    assert done.returncode == 0, done.stderr
    assert results(work) == ["single.csv", "d.txt", "e.txt"]


def test_entry_imports_its_siblings_and_the_snapshot_root(work: Path) -> None:
    write_entry(work, "ROOT = 'root'\n", name="rootpkg/__init__.py")
    write_entry(work, "SIBLING = 'sibling'\n", name="src/helper.py")
    write_entry(
        work,
        """
        import sys
        import helper
        import rootpkg

        def run(batch):
            return [helper.SIBLING, rootpkg.ROOT, sys.argv[0]]
        """,
        name="src/score.py",
    )
    done = drive(work, "--entry", "src/score.py", "--output", "out", "--input", "data/a.txt")
    assert done.returncode == 0, done.stderr
    assert results(work) == ["sibling", "root", "src/score.py"]


def test_dataframe_results_and_none(work: Path) -> None:
    write_entry(
        work,
        """
        class Frame:  # what the driver needs of a pandas DataFrame
            def __init__(self, rows):
                self.rows = rows
            def to_csv(self, sep=",", header=True, index=True):
                assert (sep, header, index) == (" ", False, False)
                return "".join(sep.join(map(str, row)) + "\\n" for row in self.rows)

        calls = []

        def run(batch):
            calls.append(batch)
            if len(calls) == 1:
                return None
            return Frame([(len(batch), "rows"), (2, "more")])
        """,
    )
    done = drive(
        work, "--entry", "entry.py", "--output", "out", "--mini-batch-size", "3", "--input", "data"
    )
    assert done.returncode == 0, done.stderr
    assert results(work) == ["2 rows", "2 more"]


def test_no_input_files_still_creates_the_result_file(work: Path) -> None:
    (work / "empty").mkdir()
    write_entry(work, "def run(batch):\n    raise AssertionError('never called')\n")
    done = drive(work, "--entry", "entry.py", "--output", "out", "--input", "empty")
    assert done.returncode == 0, done.stderr
    assert results(work) == []


FAILING_ENTRY = """
import os

def run(mini_batch):
    names = [os.path.basename(p) for p in mini_batch]
    if "c.txt" in names or "d.txt" in names:
        raise ValueError("cannot score " + ",".join(names))
    return names

def shutdown():
    open("shutdown.txt", "w").close()
"""


def test_failures_beyond_the_threshold_stop_the_job(work: Path) -> None:
    write_entry(work, FAILING_ENTRY)
    done = drive(
        work,
        *("--entry", "entry.py", "--output", "out", "--input", "data"),
        *("--mini-batch-size", "1", "--error-threshold", "0"),
    )
    assert done.returncode == 1
    assert results(work) == ["a.txt", "b.txt"]
    assert "ValueError: cannot score c.txt" in done.stderr
    assert "d.txt" not in done.stderr
    assert "3/5 mini-batches, 3/5 files, 1 failed" in done.stderr
    assert (work / "shutdown.txt").exists()


@pytest.mark.parametrize("threshold", ["2", "-1"])
def test_failures_within_the_threshold_are_tolerated(work: Path, threshold: str) -> None:
    write_entry(work, FAILING_ENTRY)
    done = drive(
        work,
        *("--entry", "entry.py", "--output", "out", "--input", "data"),
        *("--mini-batch-size", "1", "--error-threshold", threshold),
    )
    assert done.returncode == 0, done.stderr
    assert results(work) == ["a.txt", "b.txt", "e.txt"]
    assert "5/5 mini-batches, 5/5 files, 2 failed" in done.stderr
    assert (work / "shutdown.txt").exists()


def test_a_failed_mini_batch_counts_all_its_files(work: Path) -> None:
    write_entry(work, FAILING_ENTRY)
    done = drive(
        work,
        *("--entry", "entry.py", "--output", "out", "--input", "data"),
        *("--mini-batch-size", "2", "--error-threshold", "1"),
    )
    # c.txt and d.txt share the second mini-batch: 2 failed files > 1.
    assert done.returncode == 1
    assert "2/3 mini-batches, 4/5 files, 2 failed" in done.stderr


def test_wrong_result_type_fails_the_mini_batch(work: Path) -> None:
    write_entry(work, "def run(batch):\n    return 'a string'\n")
    done = drive(work, "--entry", "entry.py", "--output", "out", "--input", "data/a.txt")
    assert done.returncode == 1
    assert "run() must return a list, a tuple, a pandas DataFrame or None, not str" in done.stderr


def test_init_failure_fails_the_job(work: Path) -> None:
    write_entry(
        work, "def init():\n    raise RuntimeError('no model')\ndef run(b):\n    return b\n"
    )
    done = drive(work, "--entry", "entry.py", "--output", "out", "--input", "data")
    assert done.returncode == 1
    assert "RuntimeError: no model" in done.stderr


def test_missing_run_is_a_usage_error(work: Path) -> None:
    write_entry(work, "def init():\n    pass\n")
    done = drive(work, "--entry", "entry.py", "--output", "out", "--input", "data")
    assert done.returncode == 2
    assert "defines no run(mini_batch) function" in done.stderr


@pytest.mark.parametrize(
    "options",
    [
        ("--entry", "missing.py", "--output", "out"),
        ("--entry", "entry.py", "--output", "out", "--input", "missing"),
        ("--entry", "entry.py", "--output", "out", "--mini-batch-size", "0"),
        ("--entry", "entry.py"),
    ],
)
def test_usage_errors(work: Path, options: tuple[str, ...]) -> None:
    write_entry(work, "def run(batch):\n    return batch\n")
    assert drive(work, *options).returncode == 2


def test_entry_named_like_a_loaded_module_does_not_replace_it(work: Path) -> None:
    code = "import traceback\ndef run(b):\n    return [traceback.__name__, __name__]\n"
    write_entry(work, code, name="src/traceback.py")
    done = drive(work, "--entry", "src/traceback.py", "--output", "out", "--input", "data/a.txt")
    assert done.returncode == 0, done.stderr
    assert results(work) == ["traceback", "__parallel_entry__"]


def test_script_is_standalone_and_python38_syntax() -> None:
    tree = ast.parse(SCRIPT.read_text(), feature_version=(3, 8))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
