"""A spec names files that must exist before anything runs: the entry its command runs (in the
code snapshot), its additional includes, its code folder and its conda and pip files. Each
missing one is a spec error naming the spec file, the field's line, the missing path and where
it was looked for. The specs follow public examples of each format: Microsoft's legacy module
samples (with their `invoker.py`), component 2.0 specs of microsoft/recommenders, and the
azureml-examples CLI v2 components."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from spec_files import LoadSpec, write_files

from runner.errors import SpecError

LEGACY = """\
amlModuleIdentifier:
  namespace: microsoft.com/azureml/samples
  moduleName: Train
  moduleVersion: 0.0.1
inputs:
- {name: Input path, type: AnyDirectory}
outputs:
- {name: Model, type: AnyDirectory}
implementation:
  container:
    amlEnvironment:
      docker: {baseImage: mcr.microsoft.com/azureml/base:intelmpi2018.3-ubuntu16.04}
    command: [python, invoker.py, python, train.py]
    args: [--input-path, {inputPath: Input path}, --model, {outputPath: Model}]
"""
V2 = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: train_model
inputs:
  training_data: {type: uri_folder}
outputs:
  model_output: {type: uri_folder}
code: ./train_src
environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest
command: >-
  {command}
"""
COMPONENT2 = """\
$schema: http://azureml/sdk-2-0/CommandComponent.json
name: microsoft.com.cat.stratified_splitter
version: 1.1.1
type: CommandComponent
inputs:
  input_path: {{type: AnyDirectory}}
outputs:
  output_train_data: {{type: AnyDirectory}}
code: ../
command: >-
  {command}
"""


def failure(load: LoadSpec, text: str, files: dict[str, str] | None = None) -> str:
    with pytest.raises(SpecError) as caught:
        load(text, files)
    return str(caught.value)


def v2(command: str) -> str:
    return V2.replace("{command}", command)


# ---- the entry ----------------------------------------------------------------------------


def test_both_scripts_of_an_invoker_chain_must_be_there(load: LoadSpec, spec_path: Path) -> None:
    folder = spec_path.parent
    assert load(LEGACY, {"invoker.py": "", "train.py": ""}).name == "Train"
    (folder / "train.py").unlink()
    assert failure(load, LEGACY) == (
        f"{spec_path}:13:14: implementation.container.command: entry script 'train.py' is not in"
        f" the code snapshot (looked for {folder / 'train.py'})\n"
        "  hint: the command runs in the snapshot: fix the path, the code folder or the includes"
    )
    (folder / "invoker.py").unlink()
    assert "entry script 'invoker.py' is not in the code snapshot" in failure(load, LEGACY)


def test_a_v2_entry_is_looked_for_in_the_code_folder(load: LoadSpec, spec_path: Path) -> None:
    command = "python train.py --training_data ${{inputs.training_data}}"
    files = {"train_src/train.py": ""}
    assert load(v2(command), files).code is not None
    message = failure(load, v2(command.replace("train.py", "src/train.py")))
    assert message.startswith(f"{spec_path}:10:10: command: entry script 'src/train.py' is not in")
    assert f"(looked for {spec_path.parent / 'train_src' / 'src' / 'train.py'})" in message


@pytest.mark.parametrize(
    "command",
    [
        "python -u -W ignore -X dev train.py",
        "python3 train.py",
        "python3.11 -B train.py",
        "/usr/bin/python3 train.py",
        "cd sub && python ../train.py",
        "python train.py > log.txt && echo done",
    ],
)
def test_the_script_is_found_behind_options_and_a_cd(load: LoadSpec, command: str) -> None:
    load(v2(command), {"train_src/train.py": "", "train_src/sub/": ""})
    missing = command.replace("train.py", "trian.py")
    assert "entry script" in failure(load, v2(missing), {"train_src/sub/": ""})


@pytest.mark.parametrize(
    "command",
    [
        "python -c 'print(1)'",
        "python ${{inputs.training_data}}/train.py",
        "python /opt/app/train.py",
        "bash run.sh",
        "python -m azureml.studio.modulehost.module_invoker",
        "echo hello",
    ],
)
def test_what_cannot_be_checked_is_left_to_the_run(load: LoadSpec, command: str) -> None:
    assert load(v2(command), {"train_src/": ""}).name == "train_model"


def test_python_m_checks_a_package_of_the_snapshot(load: LoadSpec, spec_path: Path) -> None:
    files = {"train_src/trainer/__init__.py": "", "train_src/trainer/task.py": ""}
    load(v2("python -m trainer.task --epochs 2"), files)
    load(v2("python -m trainer"), {**files, "train_src/trainer/__main__.py": ""})
    message = failure(load, v2("python -m trainer.tsak"))
    base = spec_path.parent / "train_src" / "trainer"
    assert message == (
        f"{spec_path}:10:10: command: module 'trainer.tsak' is not in the code snapshot (looked"
        f" for {base / 'tsak.py'} or {base / 'tsak' / '__init__.py'})\n"
        "  hint: the package 'trainer' is in the snapshot but has no tsak"
    )


def test_an_entry_inside_an_additional_include(load: LoadSpec, spec_path: Path) -> None:
    text = v2("python common/run.py") + "additional_includes: [../../shared/common]\n"
    shared = spec_path.parent.parent.parent / "shared" / "common"
    write_files(shared, {"run.py": ""})
    assert load(text, {"train_src/": ""}).code is not None
    (shared / "run.py").unlink()
    message = failure(load, text)
    assert f"looked for {spec_path.parent / 'train_src' / 'common' / 'run.py'} or" in message
    assert str(spec_path.parent / "../../shared/common/run.py") in message


def test_a_single_file_code_is_the_whole_snapshot(load: LoadSpec, spec_path: Path) -> None:
    text = v2("python main.py").replace("./train_src", "./src/main.py")
    assert load(text, {"src/main.py": ""}).code is not None
    message = failure(load, text.replace("python main.py", "python other.py"))
    assert f"(looked for the code file {spec_path.parent / 'src' / 'main.py'})" in message


def test_component_2_entry_relative_to_code(load: LoadSpec, spec_path: Path) -> None:
    entry = "reco_utils/azureml/azureml_designer_modules/entries/stratified_splitter_entry.py"
    text = COMPONENT2.format(command=f"python {entry} --input-path {{inputs.input_path}}")
    write_files(spec_path.parent.parent, {entry: ""})
    assert load(text).name == "microsoft.com.cat.stratified_splitter"
    (spec_path.parent.parent / entry).unlink()
    assert f"looked for {spec_path.parent.parent / entry}" in failure(load, text)


def test_parallel_entries(load: LoadSpec, spec_path: Path) -> None:
    legacy = (
        "amlModuleIdentifier: {moduleName: Score, moduleVersion: 1}\njobType: parallel\n"
        "inputs: [{name: Data, type: AnyDirectory}]\noutputs: [{name: Out, type: AnyDirectory}]\n"
        "implementation:\n  parallel: {inputData: Data, outputData: Out, entry: score.py}\n"
    )
    assert load(legacy, {"score.py": ""}).parallel is not None
    (spec_path.parent / "score.py").unlink()
    assert failure(load, legacy).startswith(
        f"{spec_path}:6:55: implementation.parallel.entry: parallel entry script 'score.py' is"
        " not in the code snapshot"
    )


# ---- includes, code, conda and pip files --------------------------------------------------


def test_a_missing_include_names_its_line(load: LoadSpec, spec_path: Path) -> None:
    listing = "../lib1\n\n# comment\n../assets/LICENSE\n"
    includes = spec_path.with_name("spec.additional_includes")
    message = failure(load, v2("echo"), {"train_src/": "", includes.name: listing, "../lib1/": ""})
    assert message == (
        f"{includes}:4: additional include '../assets/LICENSE' not found (looked for"
        f" {spec_path.parent.parent / 'assets' / 'LICENSE'})\n"
        "  hint: additional include paths are relative to the spec's folder"
    )
    inline = v2("echo") + "additional_includes:\n  - ../lib1\n  - ../lib2.zip\n"
    includes.unlink()
    assert failure(load, inline).startswith(
        f"{spec_path}:14:5: additional_includes[1]: additional include '../lib2.zip' not found"
        " (nor the folder it would zip)"
    )
    write_files(spec_path.parent.parent, {"lib2/x.py": ""})
    assert load(inline).code is not None  # lib2.zip is made from the folder lib2


def test_missing_code_and_environment_files(load: LoadSpec, spec_path: Path) -> None:
    folder = spec_path.parent
    assert failure(load, v2("echo")) == (
        f"{spec_path}:8:7: code: code './train_src' not found (looked for {folder / 'train_src'})"
    )
    conda = v2("echo").replace(
        "environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest",
        "environment: {image: python:3.11-slim, conda_file: ./env/conda.yml}",
    )
    assert failure(load, conda, {"train_src/": ""}) == (
        f"{spec_path}:9:52: environment.conda_file: conda file './env/conda.yml' not found"
        f" (looked for {folder / 'env' / 'conda.yml'})"
    )
    pip = LEGACY.replace(
        "      docker: {baseImage",
        "      python: {pipRequirementsFile: requirements.txt}\n      docker: {baseImage",
    )
    assert failure(load, pip, {"invoker.py": "", "train.py": ""}) == (
        f"{spec_path}:12:37: implementation.container.amlEnvironment.python.pipRequirementsFile:"
        f" pip file 'requirements.txt' not found (looked for {folder / 'requirements.txt'})"
    )


# ---- paths the system refuses -------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("code", "code: " + "x" * 300),
        ("code", 'code: "src\\0x"'),
        ("environment.conda_file", "environment: {conda_file: " + "c" * 300 + ".yml}"),
        ("environment.conda_file", 'environment: {conda_file: "a\\0.yml"}'),
        ("environment.build.path", 'environment: {build: {path: "' + "d/" * 3000 + '"}}'),
        ("additional_includes[0]", "additional_includes: [" + "i" * 300 + "]"),
    ],
)
def test_a_path_the_system_refuses_is_a_spec_error(
    load: LoadSpec, spec_path: Path, field: str, text: str
) -> None:
    spec = "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
    spec += f"type: command\nname: m\ncommand: echo\n{text}\n"
    message = failure(load, spec)
    assert message.startswith(f"{spec_path}:5:"), message
    assert f": {field}: " in message.splitlines()[0]


def test_validate_and_run_exit_2_before_anything_runs(tmp_path: Path) -> None:
    spec = tmp_path / "train.yml"
    write_files(tmp_path, {"train.yml": v2("python train.py"), "train_src/": ""})
    runs = tmp_path / "runs"
    for command in (["validate"], ["run", "--runs-dir", str(runs)], ["render"]):
        done = subprocess.run(
            [sys.executable, "-m", "runner", *command, str(spec), "-i", f"training_data={tmp_path}"]
            if command[0] != "validate"
            else [sys.executable, "-m", "runner", "validate", str(spec)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert f"{spec}:10:10: command: entry script 'train.py' is not in" in done.stderr
        assert "Traceback" not in done.stderr
    assert not runs.exists()
