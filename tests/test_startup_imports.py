"""Start-up: the commands a user runs most import nothing heavy they do not use, and compile
nothing.

Each is a real `runner` process under `python -X importtime`; the modules it imported are read
from that report. Timing is bench/bench_startup.py's job; this guards what is imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"

# Each costs milliseconds to import and serves only some paths: builds, containers, misses,
# error messages, zip snapshots, locks. `dataclasses` (with `inspect`): runner uses none.
HEAVY = {
    *("dataclasses", "inspect", "docker", "jinja2", "psutil", "filelock", "pathspec"),
    *("difflib", "zipfile", "secrets", "hashlib", "decimal", "subprocess"),
}

TRIVIAL = """\
type: command
name: trivial
inputs:
  salt: {type: integer, default: 0}
outputs:
  out: {type: uri_folder}
command: python -c "open('${{outputs.out}}/done', 'w').write('${{inputs.salt}}')"
"""


def imported(*args: str, cwd: Path) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "runner", *args],
        capture_output=True, text=True, check=True, cwd=cwd, env=dict(os.environ),
    )  # fmt: skip
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "imported package" not in line
    }


def heavy(modules: set[str]) -> set[str]:
    return {name for name in modules if name.split(".")[0] in HEAVY}


def test_a_cache_hit_imports_nothing_heavy(tmp_path: Path) -> None:
    (tmp_path / "module").mkdir()
    spec = tmp_path / "module" / "trivial.yaml"
    spec.write_text(TRIVIAL)
    first = imported("run", str(spec), "--quiet", cwd=tmp_path)
    assert "subprocess" in first  # the miss ran the module: the report is read right
    hit = imported("run", str(spec), "--quiet", "--json", cwd=tmp_path)
    assert "runner.run.engine" in hit
    assert heavy(hit) == set()


def test_validate_and_render_import_nothing_heavy(tmp_path: Path) -> None:
    spec = SAMPLES / "sar" / "modules" / "sar_score.yaml"
    assert heavy(imported("validate", str(spec), cwd=tmp_path)) == set()
    summary = SAMPLES / "cliv2" / "csv_summary" / "csv_summary.yml"
    table = f"table={SAMPLES / 'data' / 'sales.csv'}"
    imported("render", str(summary), "-i", table, cwd=tmp_path)  # probes the host once
    assert heavy(imported("render", str(summary), "-i", table, cwd=tmp_path)) == set()


def test_commands_that_read_no_yaml_do_not_import_it(tmp_path: Path) -> None:
    # `yaml` alone costs about 10 ms; these read no spec (and here no config file).
    for args in (["--version"], ["--help"]):
        modules = imported(*args, cwd=tmp_path)
        assert heavy(modules) | ({"yaml"} & modules) == set(), args
    for args in (["cache", "ls"], ["env", "ls"]):
        assert "yaml" not in imported(*args, cwd=tmp_path), args


# Runs runner's entry point with compile() counted: typing compiles string annotations it
# evaluates (a TypeVar bound, a TypedDict), and the first compile() of a process costs ~1 ms.
COUNT_COMPILES = """
import builtins, runpy, sys
compiled = []
real = builtins.compile
def counting(source, *args, **kwargs):
    if isinstance(source, str):  # not a module's source (bytes) when its .pyc is stale
        compiled.append(source[:60])
    return real(source, *args, **kwargs)
builtins.compile = counting
sys.argv = ["runner", *sys.argv[1:]]
try:
    runpy.run_module("runner", run_name="__main__")
except SystemExit:
    pass
print("compiled:", compiled, file=sys.stderr)
"""


def compiled(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", COUNT_COMPILES, *args],
        capture_output=True, text=True, check=True, cwd=cwd, env=dict(os.environ),
    )  # fmt: skip
    return done.stderr


def test_a_cache_hit_and_validate_compile_nothing(tmp_path: Path) -> None:
    (tmp_path / "module").mkdir()
    spec = tmp_path / "module" / "trivial.yaml"
    spec.write_text(TRIVIAL)
    compiled("run", str(spec), "--quiet", cwd=tmp_path)  # the miss (and any .pyc written)
    hit = compiled("run", str(spec), "--quiet", cwd=tmp_path)
    assert "cached" in hit
    assert "compiled: []" in hit, hit[-2000:]
    validate = compiled(
        "validate", str(SAMPLES / "sar" / "modules" / "sar_score.yaml"), cwd=tmp_path
    )
    assert "compiled: []" in validate, validate[-2000:]
