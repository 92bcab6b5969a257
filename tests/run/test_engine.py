"""Module runs end to end through the Python API: real snapshots, real child processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

import runner
from runner.errors import BindingError, UnsupportedError

LEGACY = """\
amlModuleIdentifier: {{moduleName: Probe, moduleVersion: 0.0.1}}
isDeterministic: true
inputs:
- {{name: Message, type: String, default: hello}}
- {{name: Exit code, type: Integer, default: 0}}
outputs:
- {{name: Output dir, type: AnyDirectory}}
implementation:
  container:
    command: [{command}]
    args: [{args}]
"""

PROBE = """\
import json, os, sys
from pathlib import Path
out = Path(sys.argv[sys.argv.index("--out") + 1])
(out / "probe.json").write_text(json.dumps({
    "argv": sys.argv[1:], "cwd": os.getcwd(), "executable": sys.executable,
    "env": {k: os.environ.get(k) for k in ("GREETING", "PYTHONUNBUFFERED")},
}))
print("probe ran")
sys.exit(int(sys.argv[sys.argv.index("--code") + 1]))
"""


def probe_module(write: Callable[..., Path], **extra: str) -> runner.Module:
    spec = LEGACY.format(
        command="python, probe.py",
        args="--message, {inputValue: Message}, --code, {inputValue: Exit code}, "
        "--out, {outputPath: Output dir}",
    )
    return runner.load_module(write(spec, {"probe.py": PROBE, **extra}))


def test_successful_run_records_everything(
    write_module: Callable[..., Path], tmp_path: Path
) -> None:
    module = probe_module(write_module)
    result = module.run(message="two words", workdir=tmp_path / "run", quiet=True)
    assert result.status is runner.Status.SUCCEEDED and result.ok
    assert result.exit_code == 0
    assert result.workdir == tmp_path / "run"
    probe = json.loads((result.outputs["output_dir"] / "probe.json").read_text())
    assert probe["argv"][:2] == ["--message", "two words"]
    assert probe["cwd"] == str(result.workdir / "snapshot")
    assert probe["env"]["PYTHONUNBUFFERED"] == "1"
    assert (result.workdir / "snapshot" / "probe.py").is_file()
    record = json.loads((result.workdir / "run.json").read_text())
    assert record["status"] == "succeeded"
    assert record["parameters"] == {"Message": "two words", "Exit code": 0}
    assert record["argv"][0] == sys.executable
    assert record["spec"]["name"] == "Probe"
    log = result.log.read_text()
    assert "stdout probe ran" in log


def test_rerun_script_repeats_the_command(
    write_module: Callable[..., Path], tmp_path: Path
) -> None:
    result = probe_module(write_module).run(workdir=tmp_path / "run", quiet=True)
    probe = result.outputs["output_dir"] / "probe.json"
    first = json.loads(probe.read_text())
    probe.unlink()
    done = subprocess.run(
        [str(result.workdir / "rerun.sh")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(probe.read_text()) == first


def test_nonzero_exit_is_a_failed_result(write_module: Callable[..., Path], tmp_path: Path) -> None:
    result = probe_module(write_module).run(exit_code=3, workdir=tmp_path / "run", quiet=True)
    assert result.status is runner.Status.FAILED
    assert result.exit_code == 3
    assert result.message == "the command exited with code 3"
    assert json.loads((result.workdir / "run.json").read_text())["status"] == "failed"


def test_zero_or_greater_return_code_rule(
    write_module: Callable[..., Path], tmp_path: Path
) -> None:
    spec = """\
    $schema: http://azureml/sdk-2-0/CommandComponent.json
    type: CommandComponent
    name: lenient
    version: 0.0.1
    successful_return_code: ZeroOrGreater
    command: python -c "import sys; sys.exit(4)"
    """
    result = runner.load_module(write_module(spec)).run(workdir=tmp_path / "run", quiet=True)
    assert result.status is runner.Status.SUCCEEDED
    assert result.exit_code == 4


def test_environment_variables_and_python_shim(
    write_module: Callable[..., Path], tmp_path: Path
) -> None:
    spec = """\
    $schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
    type: command
    name: shimmed
    version: 1
    environment_variables: {GREETING: hi there}
    outputs: {out: {type: uri_folder}}
    command: >-
      sh -c 'python -c "import os, sys; print(sys.executable, os.environ[\\"GREETING\\"])"
      > "$0/shim.txt"' ${{outputs.out}}
    """
    module = runner.load_module(write_module(spec))
    result = module.run(workdir=tmp_path / "run", quiet=True)
    assert result.ok, result.log.read_text()
    executable, greeting = (result.outputs["out"] / "shim.txt").read_text().split(" ", 1)
    assert Path(executable).samefile(sys.executable)
    assert greeting.strip() == "hi there"


def test_snapshot_root_is_importable(write_module: Callable[..., Path], tmp_path: Path) -> None:
    spec = """\
    $schema: http://azureml/sdk-2-0/CommandComponent.json
    type: CommandComponent
    name: importer
    version: 0.0.1
    command: python entries/main.py
    """
    files = {
        "entries/main.py": "import helpers\nhelpers.hello()\n",
        "helpers/__init__.py": "def hello():\n    print('imported from the snapshot root')\n",
    }
    result = runner.load_module(write_module(spec, files)).run(workdir=tmp_path / "r", quiet=True)
    assert result.ok, result.log.read_text()
    assert "imported from the snapshot root" in result.log.read_text()


def test_timeout_kills_the_whole_tree(write_module: Callable[..., Path], tmp_path: Path) -> None:
    sleeper = """\
    import subprocess, sys, time
    from pathlib import Path
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    (Path(sys.argv[1]) / "pid").write_text(str(child.pid))
    time.sleep(60)
    """
    spec = LEGACY.format(command="python, sleeper.py", args="{outputPath: Output dir}")
    module = runner.load_module(write_module(spec, {"sleeper.py": sleeper}))
    started = time.monotonic()
    result = module.run(
        workdir=tmp_path / "run", outputs={"output_dir": tmp_path / "out"}, timeout=1.5, quiet=True
    )
    assert time.monotonic() - started < 30
    assert result.status is runner.Status.FAILED
    assert result.message.startswith("timed out after 1.5 s")
    # A failed run delivers nothing to the chosen place: its outputs stay in the run folder.
    assert not (tmp_path / "out").exists()
    assert result.outputs["output_dir"] == tmp_path / "run" / "outputs" / "output_dir"
    grandchild = int((result.outputs["output_dir"] / "pid").read_text())
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == "zombie"


def test_hdinsight_is_refused(write_module: Callable[..., Path], tmp_path: Path) -> None:
    spec = """\
    amlModuleIdentifier: {moduleName: Spark job, moduleVersion: 1}
    jobType: HDInsight
    implementation:
      hdinsight:
        file: main.py
    """
    module = runner.load_module(write_module(spec, {"main.py": "print(1)\n"}))
    with pytest.raises(UnsupportedError, match=r"hdinsight .* cannot run locally"):
        module.run(workdir=tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()


def test_mpi_without_mpiexec_is_a_clear_error(
    write_module: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = """\
    amlModuleIdentifier: {moduleName: Mpi job, moduleVersion: 1}
    jobType: Mpi
    implementation:
      container:
        command: [python, -c, "print(1)"]
    """
    module = runner.load_module(write_module(spec))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UnsupportedError, match="needs `mpiexec` on PATH"):
        module.run(workdir=tmp_path / "run", quiet=True)


def test_existing_workdir_is_never_overwritten(
    write_module: Callable[..., Path], tmp_path: Path
) -> None:
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "precious.txt").write_text("keep me")
    with pytest.raises(BindingError, match="already exists and is not empty"):
        probe_module(write_module).run(workdir=workdir, quiet=True)
    assert (workdir / "precious.txt").read_text() == "keep me"


def test_render_matches_the_run(write_module: Callable[..., Path], tmp_path: Path) -> None:
    module = probe_module(write_module)
    argv = module.render(message="a b", exit_code="0")
    assert argv == [
        "python",
        "probe.py",
        "--message",
        "a b",
        "--code",
        "0",
        "--out",
        "outputs/output_dir",
    ]


@pytest.mark.mpi
def test_mpi_runs_every_rank(write_module: Callable[..., Path], tmp_path: Path) -> None:
    spec = """\
    $schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
    type: command
    name: ranks
    version: 1
    distribution: {type: mpi, process_count_per_instance: 2}
    outputs: {out: {type: uri_folder}}
    command: python rank.py ${{outputs.out}}
    """
    rank = """\
    import os, sys
    from pathlib import Path
    rank = os.environ.get("PMI_RANK") or os.environ.get("OMPI_COMM_WORLD_RANK")
    Path(sys.argv[1], f"rank-{rank}").write_text("ok")
    """
    result = runner.load_module(write_module(spec, {"rank.py": rank})).run(
        workdir=tmp_path / "run", quiet=True
    )
    assert result.ok, result.log.read_text()
    assert sorted(p.name for p in result.outputs["out"].iterdir()) == ["rank-0", "rank-1"]
    assert result.argv[1:3] == ("-n", "2")


def test_chosen_output_place_receives_only_what_the_run_produced(
    write_module: Callable[..., Path], tmp_path: Path
) -> None:
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    (chosen / "mine.txt").write_text("the user's own file")
    module = probe_module(write_module)
    first = module.run(outputs={"output_dir": chosen}, quiet=True)
    assert first.ok and first.outputs["output_dir"] == chosen
    assert sorted(p.name for p in chosen.iterdir()) == ["mine.txt", "probe.json"]
    assert (chosen / "mine.txt").read_text() == "the user's own file"
    # What the module saw was an empty folder of its run, and that is what was cached.
    produced = first.workdir / "outputs" / "output_dir"
    assert sorted(p.name for p in produced.iterdir()) == ["probe.json"]
    again = module.run(outputs={"output_dir": chosen}, quiet=True)
    assert again.cached and again.outputs["output_dir"] == chosen
    assert sorted(p.name for p in chosen.iterdir()) == ["mine.txt", "probe.json"]


V2_SLEEPER = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: sleeper
limits:
  timeout: {timeout}
command: python -c "import time; time.sleep(60)"
"""


def test_limits_timeout_of_a_v2_component_is_the_run_timeout(
    write_module: Callable[..., Path], tmp_path: Path
) -> None:
    module = runner.load_module(write_module(V2_SLEEPER.format(timeout=1)))
    assert module.spec.timeout == 1
    started = time.monotonic()
    result = module.run(workdir=tmp_path / "run", quiet=True)
    assert time.monotonic() - started < 30
    assert result.status is runner.Status.FAILED
    assert result.message == (
        "timed out after 1 s (the spec's limits.timeout); the process tree was killed"
    )
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["status"] == "failed" and "limits.timeout" in record["message"]


def test_the_timeout_option_overrides_limits_timeout(
    write_module: Callable[..., Path], tmp_path: Path
) -> None:
    module = runner.load_module(write_module(V2_SLEEPER.format(timeout=3600)))
    result = module.run(workdir=tmp_path / "run", quiet=True, timeout=1)
    assert result.message == "timed out after 1 s; the process tree was killed"


@pytest.mark.parametrize("written", ["0", "-5", "soon", "[1]"])
def test_limits_timeout_must_be_seconds_above_zero(
    write_module: Callable[..., Path], written: str
) -> None:
    with pytest.raises(runner.SpecError, match=r"limits\.timeout: expected a number"):
        runner.load_module(write_module(V2_SLEEPER.format(timeout=written)))
