"""Running pipelines: caching across re-runs, fixing a failed step, parallel branches,
selection (--only/--from/--until/--force), and the command line."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from ctrl_c import RUNNER_WITH_CTRL_C

from runner.cli.main import main
from runner.errors import PipelineError
from runner.pipeline.executors.base import LocalExecutor, StepCall
from runner.pipeline.load import load_pipeline
from runner.pipeline.run import run_pipeline
from runner.pipeline.state import PipelineResult, StepState
from runner.run.result import RunResult

# A step: concatenates its optional input folders' `data.txt` with its own tag, appends a line
# to a log of executions, sleeps, and fails when its tag is listed in FAIL_TAGS.
STEP_PY = """\
import os, sys, time
from pathlib import Path
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
tag, out = args["--tag"], Path(args["--out"])
text = "".join(Path(args[k], "data.txt").read_text() for k in ("--a", "--b") if k in args)
with open(os.environ["EXECUTIONS"], "a") as log:
    log.write(f"{tag} {time.time()} start\\n")
time.sleep(float(args.get("--sleep", "0")))
if tag in os.environ.get("FAIL_TAGS", "").split(","):
    sys.exit(f"step {tag} failed on purpose")
(out / "data.txt").write_text(text + tag + "\\n")
with open(os.environ["EXECUTIONS"], "a") as log:
    log.write(f"{tag} {time.time()} end\\n")
"""

STEP_YAML = """\
$schema: http://azureml/sdk-2-0/CommandComponent.json
type: CommandComponent
name: tagger
version: 1
inputs:
  a: {type: AnyDirectory, optional: true}
  b: {type: AnyDirectory, optional: true}
  tag: {type: String}
  sleep: {type: Float, default: 0}
outputs:
  out: {type: AnyDirectory}
command: >-
  python step.py [--a {inputs.a}] [--b {inputs.b}] --tag {inputs.tag}
  --sleep {inputs.sleep} --out {outputs.out}
"""

# A diamond: root -> left, right -> join; and an independent `side` step.
PIPELINE = """\
type: pipeline
name: diamond
inputs:
  pause: 0.0
jobs:
  root:
    component: ./modules/step.yaml
    inputs: {tag: root}
  left:
    component: ./modules/step.yaml
    inputs: {a: "${{parent.jobs.root.outputs.out}}", tag: left, sleep: "${{parent.inputs.pause}}"}
  right:
    component: ./modules/step.yaml
    inputs: {a: "${{parent.jobs.root.outputs.out}}", tag: right, sleep: "${{parent.inputs.pause}}"}
  join:
    component: ./modules/step.yaml
    inputs:
      a: ${{parent.jobs.left.outputs.out}}
      b: ${{parent.jobs.right.outputs.out}}
      tag: join
  side:
    component: ./modules/step.yaml
    inputs: {tag: side}
outputs:
  final: ${{parent.jobs.join.outputs.out}}
"""


class Diamond:
    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        (root / "modules").mkdir(parents=True)
        (root / "modules" / "step.py").write_text(STEP_PY)
        (root / "modules" / "step.yaml").write_text(STEP_YAML)
        self.path = root / "pipeline.yml"
        self.path.write_text(PIPELINE)
        self.executions = root / "executions.log"
        self.runs = root / "runs"
        monkeypatch.setenv("EXECUTIONS", str(self.executions))
        monkeypatch.setenv("RUNNER_ENV", "host")

    def run(self, **kwargs: object) -> PipelineResult:
        return run_pipeline(load_pipeline(self.path), runs_root=self.runs, **kwargs)  # type: ignore[arg-type]

    def executed(self) -> list[str]:
        if not self.executions.exists():
            return []
        lines = [line.split() for line in self.executions.read_text().splitlines()]
        return [tag for tag, _, event in lines if event == "start"]

    def reset(self) -> None:
        self.executions.unlink(missing_ok=True)


@pytest.fixture
def diamond(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Diamond:
    return Diamond(tmp_path / "project", monkeypatch)


def states(result: PipelineResult) -> dict[str, str]:
    return {name: step.state.value for name, step in result.steps.items()}


def test_rerun_is_fully_cached(diamond: Diamond) -> None:
    first = diamond.run()
    assert first.ok
    assert sorted(diamond.executed()) == ["join", "left", "right", "root", "side"]
    assert Path(first.outputs["final"], "data.txt").read_text().splitlines() == [
        "root", "left", "root", "right", "join",
    ]  # fmt: skip
    diamond.reset()
    second = diamond.run()
    assert second.ok and diamond.executed() == []
    assert set(states(second).values()) == {"cached"}
    record = json.loads((second.run_dir / "pipeline.json").read_text())
    assert record["status"] == "succeeded" and record["steps"]["join"]["cached"] is True


def test_failed_step_fixed_reruns_only_it_and_its_dependents(
    diamond: Diamond, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIL_TAGS", "left")
    failed = diamond.run(continue_on_failure=True)
    assert failed.status == "failed"
    assert states(failed) == {
        "root": "succeeded", "left": "failed", "right": "succeeded", "join": "aborted",
        "side": "succeeded",
    }  # fmt: skip
    assert failed.steps["join"].message == "upstream step 'left' failed"
    assert "exited with code 1" in failed.steps["left"].message
    # The fix. (An environment change would be part of the key; flip what the script reads.)
    monkeypatch.setenv("FAIL_TAGS", "")
    diamond.reset()
    fixed = diamond.run()
    assert fixed.ok
    # `left` failed, so it had no cache entry: it runs; `join` runs because it never ran.
    assert sorted(diamond.executed()) == ["join", "left"]
    assert states(fixed)["root"] == "cached" and states(fixed)["right"] == "cached"


def test_code_fix_reruns_the_step_and_everything_downstream(diamond: Diamond) -> None:
    assert diamond.run().ok
    diamond.reset()
    # Every step shares modules/ (one snapshot), so the left branch gets its own module folder
    # beside it, with a change to its code that changes its output.
    left = diamond.path.parent / "left_module"
    left.mkdir()
    fixed = STEP_PY.replace('tag + "\\n"', 'tag + "-fixed\\n"')
    assert fixed != STEP_PY
    (left / "step.py").write_text(fixed)
    (left / "step.yaml").write_text(STEP_YAML)
    old = "  left:\n    component: ./modules/step.yaml"
    assert old in diamond.path.read_text()
    diamond.path.write_text(
        diamond.path.read_text().replace(old, "  left:\n    component: ./left_module/step.yaml")
    )
    result = diamond.run()
    assert result.ok
    assert sorted(diamond.executed()) == ["join", "left"]
    assert states(result)["root"] == "cached" and states(result)["side"] == "cached"
    assert "left-fixed" in Path(result.outputs["final"], "data.txt").read_text()


def test_first_failure_stops_starting_new_steps(
    diamond: Diamond, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIL_TAGS", "root")
    result = diamond.run(jobs=1)
    assert result.status == "failed"
    assert states(result)["root"] == "failed"
    assert states(result)["left"] == "aborted" and states(result)["join"] == "aborted"
    # `side` does not depend on root; without --continue-on-failure it is not started.
    assert states(result)["side"] in ("skipped", "succeeded")
    if states(result)["side"] == "skipped":
        assert result.steps["side"].message == "not started: step 'root' failed"


def test_parallel_branches_overlap_in_time(diamond: Diamond) -> None:
    result = diamond.run(jobs=2, sets={"pause": 1.0})
    assert result.ok
    left, right = result.steps["left"], result.steps["right"]
    assert left.started_at and left.ended_at and right.started_at and right.ended_at
    assert left.started_at < right.ended_at and right.started_at < left.ended_at


def test_only_from_until_force(diamond: Diamond) -> None:
    assert diamond.run().ok
    diamond.reset()
    only = diamond.run(only=["join"], force=["join"])
    assert diamond.executed() == ["join"]
    assert states(only) == {
        "root": "cached", "left": "cached", "right": "cached", "join": "succeeded",
        "side": "skipped",
    }  # fmt: skip
    diamond.reset()
    from_left = diamond.run(from_steps=["left"], force=["left", "join"])
    assert sorted(diamond.executed()) == ["join", "left"]
    assert states(from_left)["side"] == "skipped" and states(from_left)["right"] == "cached"
    diamond.reset()
    until = diamond.run(until=["left"], force=["root"])
    assert diamond.executed() == ["root"]
    assert states(until) == {
        "root": "succeeded", "left": "cached", "right": "skipped", "join": "skipped",
        "side": "skipped",
    }  # fmt: skip


def test_only_needs_upstream_results_in_the_cache(diamond: Diamond) -> None:
    result = diamond.run(only=["join"])
    assert result.status == "failed"
    assert states(result)["root"] == "failed"
    assert "no cached result for these inputs" in result.steps["root"].message
    assert "upstream of the selected steps" in result.steps["root"].message
    assert states(result)["join"] == "aborted"


def test_unknown_step_in_selection(diamond: Diamond) -> None:
    with pytest.raises(PipelineError, match="lef"):
        diamond.run(only=["lefft"])


def test_cli_run_json_status_show_and_dry_run(
    diamond: Diamond, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["pipeline", "run", str(diamond.path), "--runs-dir", str(diamond.runs)]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "succeeded"
    assert set(result["steps"]) == {"root", "left", "right", "join", "side"}
    assert result["steps"]["join"]["status"] == "succeeded"
    assert main([*argv, "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "join: would hit" in dry and "$ " in dry
    assert main([*argv, "--dry-run", "--set", "pause=0.5"]) == 0
    dry = capsys.readouterr().out
    assert "left: would run" in dry and "parameter sleep: 0.0 -> 0.5" in dry
    assert "join: would run after upstream" in dry
    assert main(["pipeline", "status", "--runs-dir", str(diamond.runs)]) == 0
    assert "pipeline succeeded" in capsys.readouterr().out
    assert main(["pipeline", "show", str(diamond.path)]) == 0
    shown = capsys.readouterr().out
    assert "<- root.out (AnyDirectory) -> a (AnyDirectory)" in shown


def test_cli_progress_is_one_line_per_quick_step_and_quiet_shows_only_the_summary(
    diamond: Diamond, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["pipeline", "run", str(diamond.path), "--runs-dir", str(diamond.runs)]
    assert main([*argv, "--set", "pause=1.5"]) == 0
    err = capsys.readouterr().err
    # A slow step says when it starts; a cached one (below) only how it ended.
    assert re.search(r"^\[[\d:]{8}\] left: running\n", err, re.MULTILINE)
    assert re.search(r"^\[[\d:]{8}\] left: succeeded in \d\.\d\d s\n", err, re.MULTILINE)
    assert main([*argv, "--set", "pause=1.5"]) == 0
    err = capsys.readouterr().err
    progress = [line for line in err.splitlines() if line.startswith("[")]
    assert sorted(line.split("] ")[1] for line in progress) == [
        f"{name}: cached" for name in ("join", "left", "right", "root", "side")
    ]
    assert main([*argv, "--set", "pause=1.5", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("pipeline succeeded in ")


def test_cli_failure_summary_suggests_a_rerun_from_the_step_that_works(
    diamond: Diamond, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIL_TAGS", "right")
    argv = ["pipeline", "run", str(diamond.path), "--runs-dir", str(diamond.runs)]
    assert main([*argv, "--jobs", "1", "--set", "pause=0.1"]) == 1
    err = capsys.readouterr().err
    assert "step 'right' failed: the command exited with code 1" in err
    assert "stderr step right failed on purpose" in err
    suggested = f"runner pipeline run {diamond.path} --set pause=0.1 --from right"
    assert f"  re-run from this step: {suggested}\n" in err
    assert "    (upstream steps come from the cache: root, left)\n" in err
    # The suggestion works as it says: right and after it run, upstream comes from the cache.
    monkeypatch.delenv("FAIL_TAGS")
    diamond.reset()
    assert main([*suggested.split()[1:], "--runs-dir", str(diamond.runs)]) == 0
    assert sorted(diamond.executed()) == ["join", "right"]


def test_cli_failure_summary_with_nothing_cached_suggests_what_really_runs(
    diamond: Diamond, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIL_TAGS", "join")
    argv = ["pipeline", "run", str(diamond.path), "--runs-dir", str(diamond.runs)]
    assert main([*argv, "--no-cache"]) == 1
    err = capsys.readouterr().err
    # The independent step `side` is not needed again.
    assert f"  re-run from this step: runner pipeline run {diamond.path} --from root\n" in err
    assert "(not every step upstream of 'join' is cached: the re-run starts at root)" in err
    # Everything upstream of join cached, then right's entry removed: `pipeline status` looks
    # at the cache as it is now, and a re-run of join must start at right.
    failed = diamond.run()
    assert main(["cache", "rm", str(failed.steps["right"].cache_key)]) == 0
    assert main(["pipeline", "status", "--runs-dir", str(diamond.runs)]) == 1
    out = capsys.readouterr().out
    assert f"  re-run from this step: runner pipeline run {diamond.path} --from right\n" in out
    assert "(upstream steps come from the cache: root, left)" in out
    assert "(not every step upstream of 'join' is cached: the re-run starts at right)" in out


def test_ctrl_c_stops_every_step(diamond: Diamond, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*RUNNER_WITH_CTRL_C, "pipeline", "run", str(diamond.path),
         "--runs-dir", str(diamond.runs), "--set", "pause=60", "--jobs", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(diamond.executed()) < 3 and time.monotonic() < deadline:  # root, left, right
        time.sleep(0.05)
    # This run's own steps only: other sessions' tests may run `step.py` sleepers too.
    sleepers = [
        p
        for p in psutil.Process(process.pid).children(recursive=True)
        if "step.py" in " ".join(p.cmdline())
    ]
    assert sleepers
    os.kill(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    _, alive = psutil.wait_procs(sleepers, timeout=10)
    assert not alive
    record = json.loads(next(diamond.runs.glob("*/pipeline.json")).read_text())
    assert record["status"] == "interrupted"
    assert record["steps"]["left"]["status"] == "interrupted"


def test_dsl_pipeline_runs_like_the_yaml(diamond: Diamond) -> None:
    import runner

    step = runner.load_module(diamond.path.parent / "modules" / "step.yaml")

    @runner.pipeline(name="diamond")
    def graph() -> object:
        root = step(tag="root")
        left = step(a=root.outputs.out, tag="left")
        right = step(a=root.outputs.out, tag="right")
        join = step(a=left.outputs.out, b=right.outputs.out, tag="join")
        return {"final": join.outputs.out}

    result = graph().run(runs_root=diamond.runs)
    assert result.ok
    assert Path(result.outputs["final"], "data.txt").read_text().splitlines()[-1] == "join"
    assert StepState.SUCCEEDED in {s.state for s in result.steps.values()}


def test_step_environment_variables_reach_the_step(diamond: Diamond) -> None:
    text = diamond.path.read_text().replace(
        "    inputs: {tag: side}",
        "    inputs: {tag: side}\n    environment_variables: {FAIL_TAGS: side}",
    )
    diamond.path.write_text(textwrap.dedent(text))
    result = diamond.run(continue_on_failure=True)
    assert states(result)["side"] == "failed"


def test_dry_run_counts_step_environment_variables_as_the_run_does(diamond: Diamond) -> None:
    from runner.pipeline.dryrun import dry_run

    text = diamond.path.read_text().replace(
        "    inputs: {tag: side}",
        "    inputs: {tag: side}\n    environment_variables: {SIDE_NOTE: hello}",
    )
    diamond.path.write_text(textwrap.dedent(text))
    assert diamond.run().ok
    plans = {plan.name: plan for plan in dry_run(load_pipeline(diamond.path)).steps}
    assert plans["side"].would == "hit", plans["side"].reasons
    assert {plan.would for plan in plans.values()} == {"hit"}


def test_a_bug_in_one_step_fails_that_step_only(diamond: Diamond) -> None:
    class Flaky(LocalExecutor):
        def run(self, call: StepCall) -> RunResult:
            if call.values.get("tag") == "side":
                raise RuntimeError("boom")
            return super().run(call)

    result = diamond.run(continue_on_failure=True, executor=Flaky())
    assert states(result)["side"] == "failed"
    assert result.steps["side"].message.startswith("internal error (RuntimeError: boom)")
    assert states(result)["join"] == "succeeded"


def test_steps_share_one_cache_connection(
    diamond: Diamond, monkeypatch: pytest.MonkeyPatch
) -> None:
    import runner.cache.store

    opened: list[Path] = []

    class Counted(runner.cache.store.StateDB):
        def __init__(self, path: Path, **options: Any) -> None:
            opened.append(path)
            super().__init__(path, **options)

    monkeypatch.setattr(runner.cache.store, "StateDB", Counted)
    assert diamond.run().ok
    assert diamond.run().ok
    assert len(opened) == 2  # one per pipeline run, not one per step


def test_a_file_output_not_written_fails_the_step_that_reads_it_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer exits 0 without writing its file output: it succeeds, with a warning; the
    step bound to that output fails with a message naming what is missing, not a traceback."""
    monkeypatch.setenv("RUNNER_ENV", "host")
    (tmp_path / "writer.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
        "type: command\nname: writer\noutputs: {report: {type: uri_file}}\n"
        "command: python -c pass ${{outputs.report}}\n"
    )
    (tmp_path / "reader.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
        "type: command\nname: reader\ninputs: {report: {type: uri_file}}\n"
        "command: cat ${{inputs.report}}\n"
    )
    (tmp_path / "p.yml").write_text(
        "type: pipeline\njobs:\n"
        "  write: {component: ./writer.yml}\n"
        "  read:\n    component: ./reader.yml\n"
        "    inputs: {report: '${{parent.jobs.write.outputs.report}}'}\n"
    )
    result = run_pipeline(load_pipeline(tmp_path / "p.yml"), runs_root=tmp_path / "runs")
    assert states(result) == {"write": "succeeded", "read": "failed"}
    message = result.steps["read"].message
    assert message.startswith(
        "input 'report' is bound to output 'report' of step 'write', which that step did not"
        f" write (no file at {tmp_path / 'runs'}"
    ), message


INLINE = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
settings:
  default_compute: azureml:cpu-cluster
  default_datastore: azureml:workspaceblobstore
jobs:
  hello:
    type: command
    component:
      type: command
      name: hello_inline
      inputs: {who: {type: string, default: world}}
      outputs: {greeting: {type: uri_folder}}
      code: ./src
      environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest
      command: python hello.py ${{outputs.greeting}} ${{inputs.who}}
    inputs: {who: there}
  shout:
    component: file:./shout.yml
    inputs: {words: "${{parent.jobs.hello.outputs.greeting}}"}
"""
SHOUT = """\
type: command
name: shout
inputs: {words: {type: uri_folder}}
command: cat ${{inputs.words}}/hi.txt
"""


def test_inline_and_file_components_run_and_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An inline component (paths relative to the pipeline file), a `file:` component, and
    `settings` noted once as having no local effect (the azureml-examples pipeline forms)."""
    monkeypatch.setenv("RUNNER_ENV", "host")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "hello.py").write_text(
        "import sys, pathlib\npathlib.Path(sys.argv[1], 'hi.txt').write_text('hi ' + sys.argv[2])\n"
    )
    (tmp_path / "shout.yml").write_text(SHOUT)
    (tmp_path / "p.yml").write_text(INLINE)
    pipeline = load_pipeline(tmp_path / "p.yml")
    assert [str(w).split(": ", 2)[-1] for w in pipeline.warnings] == [
        "'settings' has no effect in a local run; ignored"
    ]
    first = run_pipeline(pipeline, runs_root=tmp_path / "runs")
    assert states(first) == {"hello": "succeeded", "shout": "succeeded"}
    greeting = Path(first.steps["hello"].outputs["greeting"]) / "hi.txt"
    assert greeting.read_text() == "hi there"
    again = run_pipeline(load_pipeline(tmp_path / "p.yml"), runs_root=tmp_path / "runs")
    assert states(again) == {"hello": "cached", "shout": "cached"}
