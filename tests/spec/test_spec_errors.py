"""Invalid specs, table-driven: each must fail with exactly this message (file:line:col: field)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runner.errors import SpecError
from runner.spec.load import load_spec
from runner.spec.model import ModuleSpec

LoadSpec = Callable[..., ModuleSpec]

LEGACY = "amlModuleIdentifier: {moduleName: M, moduleVersion: 0.0.1}\n"
C2 = (
    "$schema: http://azureml/sdk-2-0/CommandComponent.json\n"
    "name: m\n"
    "version: 0.0.1\n"
    "type: CommandComponent\n"
)
V2 = (
    "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
    "type: command\n"
    "name: m\n"
)
SHAPES = (
    "  hint: a module spec is one of: a legacy module (top-level amlModuleIdentifier), a 2.0"
    " component ($schema .../CommandComponent.json or type: CommandComponent) or a CLI v2"
    " component (type: command)"
)
PIPELINE_HINT = (
    "  hint: run it with `runner pipeline run` (a pipeline cannot be a step of another one)"
)
PLACEHOLDER_HINT = (
    "  hint: placeholders are {inputValue: Name}, {inputPath: Name} and {outputPath: Name}"
)
A_COMMAND = "implementation: {container: {command: [a]}}\n"

# (spec text, other files next to it, expected str(error)); {spec} is the spec path, {dir}
# its folder, {tmp} the folder above.
CASES = {
    # ---- what kind of spec is it
    "empty file": (
        "",
        {},
        "{spec}: expected a mapping of spec fields, found nothing (null)\n" + SHAPES,
    ),
    "top-level list": (
        "- a\n- b\n",
        {},
        "{spec}:1:1: expected a mapping of spec fields, found a list\n" + SHAPES,
    ),
    "unrecognised shape": (
        "name: x\ncommand: echo\n",
        {},
        "{spec}:1:1: not a module spec: no amlModuleIdentifier, $schema or type\n" + SHAPES,
    ),
    # The CLI v2 preview wrote `type: command_component`: the type is there, just unknown.
    "unknown type, no schema": (
        "type: command_component\nname: hello\ncommand: python hello.py\n",
        {},
        "{spec}:1:7: type: not a module spec: unknown type 'command_component'\n"
        "  hint: the CLI v2 preview's `type: command_component` is `type: command` in"
        " CLI v2 (and `code: {local_path: ./src}` is `code: ./src`)",
    ),
    "unknown type, no schema, other value": (
        "type: spark\nname: x\n",
        {},
        "{spec}:1:7: type: not a module spec: unknown type 'spark'\n" + SHAPES,
    ),
    "pipeline job": (
        "type: pipeline\njobs: {}\n",
        {},
        "{spec}:1:7: type: this is a pipeline job, not a module\n" + PIPELINE_HINT,
    ),
    "pipeline schema": (
        "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\njobs: {}\n",
        {},
        "{spec}:1:10: $schema: this is a pipeline job, not a module\n" + PIPELINE_HINT,
    ),
    "moduleIdentifier typo": (
        "moduleIdentifier: {moduleName: M, moduleVersion: '1'}\n",
        {},
        "{spec}:1:19: moduleIdentifier: not a module spec: 'moduleIdentifier' is not a known key\n"
        "  hint: did you mean amlModuleIdentifier?",
    ),
    "args:[ glued": (
        LEGACY
        + "implementation:\n  container:\n    command: [python, a.py]\n    args:[\n      --x, y]\n",
        {},
        "{spec}:5:5: invalid YAML: could not find expected ':' (while scanning a simple key)\n"
        "  hint: `args:[` is not a key: put a space after the colon (`args: [`)",
    ),
    # ---- legacy identity and interface
    "legacy without moduleName": (
        "amlModuleIdentifier: {moduleVersion: 1.0.0}\n" + A_COMMAND,
        {},
        "{spec}:1:22: amlModuleIdentifier: missing required field 'moduleName' (the module's name)",
    ),
    "legacy unknown jobType": (
        LEGACY + "jobType: Spark\n" + A_COMMAND,
        {},
        "{spec}:2:10: jobType: expected one of basic, mpi, parallel, hdinsight,"
        " found string 'Spark'",
    ),
    "legacy input and output with one name": (
        LEGACY + "inputs:\n- {name: Data, type: AnyDirectory}\n"
        "outputs:\n- {name: Data, type: AnyDirectory}\n" + A_COMMAND,
        {},
        "{spec}:5:10: outputs[0].name: duplicate name 'Data': also declared at inputs[0].name,"
        " line 3\n  hint: rename one, or give one an `argumentName` (its python name)",
    ),
    "legacy inputs with one python name": (
        LEGACY + "inputs:\n- {name: Input path, type: AnyDirectory}\n"
        "- {name: input_path, type: String}\n" + A_COMMAND,
        {},
        "{spec}:4:10: inputs[1].name: 'input_path' and 'Input path' (inputs[0].name, line 3)"
        " both answer to the name 'input_path'\n"
        "  hint: rename one, or give one an `argumentName` (its python name)",
    ),
    "legacy name without a python name": (
        LEGACY + "inputs:\n- {name: '***', type: AnyDirectory}\n" + A_COMMAND,
        {},
        "{spec}:3:10: inputs[0].name: name '***' has no letter or digit to make a python name of\n"
        "  hint: give it an `argumentName`: the python identifier to call it by",
    ),
    "legacy argumentName not an identifier": (
        LEGACY + "inputs:\n- {name: Data, type: AnyDirectory, argumentName: 2data}\n" + A_COMMAND,
        {},
        "{spec}:3:50: inputs[0].argumentName: expected a python identifier, found string '2data'",
    ),
    "legacy Integer default not an integer": (
        LEGACY + "inputs:\n- name: Top k\n  type: Integer\n  default: abc\n" + A_COMMAND,
        {},
        "{spec}:5:12: inputs[0].default: expected an integer, found string 'abc'",
    ),
    "legacy default below min": (
        LEGACY + "inputs:\n- {name: Top k, type: Integer, default: 0, min: 1}\n" + A_COMMAND,
        {},
        "{spec}:3:41: inputs[0].default: default 0 is below min 1",
    ),
    "legacy default above max": (
        LEGACY + "inputs:\n- {name: Ratio, type: Float, default: 1.5, max: 1}\n" + A_COMMAND,
        {},
        "{spec}:3:39: inputs[0].default: default 1.5 is above max 1",
    ),
    "legacy min above max": (
        LEGACY + "inputs:\n- {name: Ratio, type: Float, min: 2, max: 1}\n" + A_COMMAND,
        {},
        "{spec}:3:35: inputs[0].min: min 2 is greater than max 1",
    ),
    "legacy enum default not an option": (
        LEGACY
        + "inputs:\n- name: Mode\n  type: Enum\n  default: fast\n  options: [slow, medium]\n"
        + A_COMMAND,
        {},
        "{spec}:5:12: inputs[0].default: default 'fast' is not one of the options: slow, medium",
    ),
    "legacy enum without options": (
        LEGACY + "inputs:\n- {name: Mode, type: Enum}\n" + A_COMMAND,
        {},
        "{spec}:3:3: inputs[0]: missing required field 'options'"
        " (the values an Enum parameter can take)",
    ),
    "legacy enum option with two keys": (
        LEGACY
        + "inputs:\n- name: Mode\n  type: Enum\n  options:\n  - {a: [], b: []}\n"
        + A_COMMAND,
        {},
        "{spec}:6:5: inputs[0].options[0]: expected an option, or a one-key map from an option"
        " to its parameters, found a mapping",
    ),
    "legacy enum option twice": (
        LEGACY + "inputs:\n- name: Mode\n  type: Enum\n  options: [a, b, a]\n" + A_COMMAND,
        {},
        "{spec}:5:19: inputs[0].options[2]: option 'a' is listed twice",
    ),
    # ---- legacy command and args
    "legacy placeholder names no input": (
        LEGACY + "inputs:\n- {name: Data, type: AnyDirectory}\n- {name: Seed, type: Integer}\n"
        "implementation:\n  container:\n    command: [python, a.py]\n"
        "    args: [--seed, {inputValue: Sed}]\n",
        {},
        "{spec}:8:20: implementation.container.args[1]: {inputValue: Sed} names no input;"
        " known inputs: Data, Seed",
    ),
    "legacy outputPath names an input": (
        LEGACY + "inputs:\n- {name: Data, type: AnyDirectory}\n"
        "outputs:\n- {name: Out, type: AnyDirectory}\n"
        "implementation:\n  container:\n    command: [python, a.py]\n"
        "    args: [--o, {outputPath: Data}]\n",
        {},
        "{spec}:9:17: implementation.container.args[1]: {outputPath: Data} names no output;"
        " known outputs: Out\n  hint: 'Data' is an input: use {inputPath: Data} or"
        " {inputValue: Data}",
    ),
    "legacy inputValue on a port": (
        LEGACY + "inputs:\n- {name: Data, type: AnyDirectory}\n"
        "implementation:\n  container:\n    command: [python, a.py]\n"
        "    args: [--data, {inputValue: Data}]\n",
        {},
        "{spec}:7:20: implementation.container.args[1]: 'Data' is an input port:"
        " use {inputPath: Data}",
    ),
    "legacy unknown placeholder": (
        LEGACY + "inputs:\n- {name: Data, type: AnyDirectory}\n"
        "implementation:\n  container:\n    command: [python, a.py]\n"
        "    args: [--data, {inputFile: Data}]\n",
        {},
        "{spec}:7:20: implementation.container.args[1]: unknown placeholder 'inputFile'\n"
        + PLACEHOLDER_HINT,
    ),
    "legacy placeholder with two keys": (
        LEGACY + "inputs:\n- {name: Data, type: AnyDirectory}\n"
        "implementation:\n  container:\n    command: [python, a.py]\n"
        "    args: [--data, {inputPath: Data, inputValue: Data}]\n",
        {},
        "{spec}:7:20: implementation.container.args[1]: a placeholder has exactly one key,"
        " found inputPath, inputValue\n" + PLACEHOLDER_HINT,
    ),
    "legacy empty args item": (
        LEGACY + "implementation:\n  container:\n    command: [python, a.py]\n"
        "    args:\n    - --x\n    -\n",
        {},
        "{spec}:7:6: implementation.container.args[1]: expected a word, a placeholder such as"
        " {inputValue: Name} or a nested list, found nothing (null)",
    ),
    "legacy args as a string": (
        LEGACY + "implementation:\n  container:\n    command: [python, a.py]\n    args: --x 1\n",
        {},
        "{spec}:5:11: implementation.container.args: expected a list, found string '--x 1'\n"
        "  hint: write args as a list: [--x, {inputValue: X}]",
    ),
    "legacy placeholder in command": (
        LEGACY + "inputs:\n- {name: Data, type: AnyDirectory}\n"
        "implementation:\n  container:\n    command: [python, {inputPath: Data}]\n",
        {},
        "{spec}:6:23: implementation.container.command[1]: expected a literal word, found a"
        " mapping\n  hint: put placeholders in args, not in command",
    ),
    "legacy command as a string": (
        LEGACY + "implementation:\n  container:\n    command: python a.py\n",
        {},
        "{spec}:4:14: implementation.container.command: expected a list of words, found string"
        " 'python a.py'\n  hint: write it as a list: [python, main.py]",
    ),
    "legacy container without command": (
        LEGACY + "implementation:\n  container:\n    image: python:3.11\n",
        {},
        "{spec}:4:5: implementation.container: missing required field 'command'"
        " (the program to run, e.g. [python, main.py])",
    ),
    # ---- legacy implementation, environment and files
    "legacy image and amlEnvironment": (
        LEGACY + "implementation:\n  container:\n    image: python:3.11\n"
        "    amlEnvironment: {docker: {baseImage: ubuntu}}\n    command: [a]\n",
        {},
        "{spec}:4:12: implementation.container.image: give either image or amlEnvironment,"
        " not both",
    ),
    "legacy conda file missing": (
        LEGACY + "implementation:\n  container:\n    amlEnvironment:\n      python:\n"
        "        condaDependenciesFile: conda.yaml\n    command: [a]\n",
        {},
        "{spec}:6:32: implementation.container.amlEnvironment.python.condaDependenciesFile:"
        " conda file 'conda.yaml' not found (looked for {dir}/conda.yaml)",
    ),
    "legacy conda file not YAML": (
        LEGACY + "implementation:\n  container:\n    amlEnvironment:\n      python:\n"
        "        condaDependenciesFile: conda.yaml\n    command: [a]\n",
        {"conda.yaml": "name: env\ndependencies:\n  - python=3.10\n  - pip: [numpy\n"},
        "{dir}/conda.yaml:4:10: invalid YAML: expected ',' or ']', but got '<stream end>'"
        " (while parsing a flow sequence)\n"
        "  hint: check the indentation and that every `key:` is followed by a space",
    ),
    "legacy conda file with a bad entry": (
        LEGACY + "implementation:\n  container:\n    amlEnvironment:\n      python:\n"
        "        condaDependenciesFile: conda.yaml\n    command: [a]\n",
        {"conda.yaml": "name: env\ndependencies:\n  - python=3.10\n  - {npm: [left-pad]}\n"},
        "{dir}/conda.yaml:4:5: dependencies[1]: expected a package spec or a {pip: [...]} entry,"
        " found a mapping\n  hint: conda dependencies hold strings and pip:",
    ),
    "legacy includes inline and in a file": (
        LEGACY
        + "implementation:\n  container:\n    command: [a]\n    additionalIncludes: [../lib]\n",
        {"spec.additional_includes": "../lib\n"},
        "{spec}:5:25: implementation.container.additionalIncludes: additional includes are given"
        " both here and in spec.additional_includes\n  hint: keep one list",
    ),
    "legacy jobType and implementation differ": (
        LEGACY + "jobType: parallel\nimplementation:\n  container:\n    command: [a]\n",
        {},
        "{spec}:5:5: implementation.container: jobType parallel needs implementation.parallel,"
        " found implementation.container\n"
        "  hint: set jobType to match, or move the section to implementation.parallel",
    ),
    "legacy parallel section without jobType": (
        LEGACY + "implementation:\n  parallel:\n    entry: a.py\n",
        {},
        "{spec}:4:5: implementation.parallel: jobType basic needs implementation.container,"
        " found implementation.parallel\n"
        "  hint: set jobType to match, or move the section to implementation.container",
    ),
    "legacy two implementations": (
        LEGACY + "implementation:\n  container: {command: [a]}\n  hdinsight: {file: a.py}\n",
        {},
        "{spec}:4:14: implementation.hdinsight: implementation has both container and hdinsight;"
        " give exactly one",
    ),
    "legacy no implementation kind": (
        LEGACY + "implementation:\n  os: linux\n",
        {},
        "{spec}:3:3: implementation: expected one of container, parallel or hdinsight\n"
        "  hint: jobType basic runs implementation.container",
    ),
    "legacy sourceDirectory missing": (
        LEGACY + "implementation:\n  container:\n    command: [a]\n    sourceDirectory: ../src\n",
        {},
        "{spec}:5:22: implementation.container.sourceDirectory: source directory '../src' not"
        " found (looked for {tmp}/src)",
    ),
    "legacy unknown os": (
        LEGACY + "implementation:\n  os: macos\n  container: {command: [a]}\n",
        {},
        "{spec}:3:7: implementation.os: expected linux or windows, found string 'macos'",
    ),
    "legacy parallel inputData unknown": (
        LEGACY + "jobType: parallel\ninputs:\n- {name: Images, type: AnyDirectory}\n"
        "outputs:\n- {name: Scores, type: AnyDirectory}\n"
        "implementation:\n  parallel:\n    inputData: Imgs\n    outputData: Scores\n"
        "    entry: score.py\n",
        {},
        "{spec}:9:16: implementation.parallel.inputData: inputData 'Imgs' is not an input port;"
        " known inputs: Images",
    ),
    # ---- component 2.0
    "2.0 command names an unknown input": (
        C2 + "inputs:\n  data: {type: AnyDirectory}\ncommand: python a.py --data {inputs.dta}\n",
        {},
        "{spec}:7:10: command: the command names the unknown input 'dta'; known inputs: data",
    ),
    "2.0 command names an input as an output": (
        C2 + "inputs:\n  data: {type: AnyDirectory}\ncommand: python a.py --out {outputs.data}\n",
        {},
        "{spec}:7:10: command: the command names the unknown output 'data'; known outputs:"
        " (none)\n  hint: 'data' is declared under inputs",
    ),
    "2.0 ParallelComponent without parallel": (
        C2.replace("CommandComponent\n", "ParallelComponent\n") + "command: python a.py\n",
        {},
        "{spec}:1:1: missing required field 'parallel'"
        " (a ParallelComponent's input_data, output_data, entry)",
    ),
    "2.0 no command": (
        C2 + "inputs: {}\n",
        {},
        "{spec}:1:1: missing required field 'command' (the command line to run)",
    ),
    "2.0 unknown return code rule": (
        C2 + "successful_return_code: Always\ncommand: echo\n",
        {},
        "{spec}:5:25: successful_return_code: expected Zero or ZeroOrGreater, found string"
        " 'Always'",
    ),
    "2.0 unknown launcher": (
        C2.replace("CommandComponent\n", "DistributedComponent\n")
        + "launcher: {type: horovod}\ncommand: echo\n",
        {},
        "{spec}:5:18: launcher.type: expected mpi or torch.distributed, found string 'horovod'",
    ),
    "2.0 Enum without enum": (
        C2 + "inputs:\n  mode: {type: Enum, default: a}\ncommand: echo\n",
        {},
        "{spec}:6:9: inputs.mode: missing required field 'enum'"
        " (the values an Enum input can take)",
    ),
    "2.0 input given a value, as in a job": (
        C2 + "inputs:\n  epochs: 5\ncommand: echo\n",
        {},
        "{spec}:6:11: inputs.epochs: expected a mapping such as {type: string}, found number 5\n"
        "  hint: a component declares its inputs' types; values are given when it runs",
    ),
    "2.0 boolean default": (
        C2 + "inputs:\n  flag: {type: boolean, default: maybe}\ncommand: echo\n",
        {},
        "{spec}:6:34: inputs.flag.default: expected true or false, found string 'maybe'",
    ),
    "2.0 code missing": (
        C2 + "code: ../src\ncommand: echo\n",
        {},
        "{spec}:5:7: code: code '../src' not found (looked for {tmp}/src)",
    ),
    "2.0 code is a file": (
        C2 + "code: main.py\ncommand: echo\n",
        {"main.py": "print(1)\n"},
        "{spec}:5:7: code: code must be a folder, found the file {dir}/main.py",
    ),
    "2.0 docker image and baseImage": (
        C2 + "environment:\n  docker: {image: a, baseImage: b}\ncommand: echo\n",
        {},
        "{spec}:6:33: environment.docker.baseImage: give either image or baseImage, not both",
    ),
    # ---- CLI v2
    "v2 name not lowercase": (
        V2.replace("name: m", "name: Train-Model") + "command: echo\n",
        {},
        "{spec}:3:7: name: invalid name 'Train-Model': a CLI v2 component name starts with a"
        " lowercase letter followed by lowercase letters, digits or '_'"
        " (no upper case, '-' or '.')\n"
        "  hint: for example 'train_model'",
    ),
    "v2 environment neither registered nor inline": (
        V2 + "command: echo\nenvironment: python:3.11\n",
        {},
        "{spec}:5:14: environment: expected azureml:<name>:<version>, azureml:<name>@latest or"
        " azureml://registries/..., found string 'python:3.11'\n"
        "  hint: or describe the environment inline (image, conda file)",
    ),
    "v2 command names an unknown input": (
        V2 + "inputs:\n  lr: {type: number}\ncommand: python t.py --lr ${{inputs.learning_rate}}\n",
        {},
        "{spec}:6:10: command: the command names the unknown input 'learning_rate';"
        " known inputs: lr",
    ),
    "v2 unknown distribution": (
        V2 + "command: echo\ndistribution: {type: ray}\n",
        {},
        "{spec}:5:22: distribution.type: expected mpi, pytorch or tensorflow, found string 'ray'",
    ),
    "v2 zero instances": (
        V2 + "command: echo\nresources: {instance_count: 0}\n",
        {},
        "{spec}:5:29: resources.instance_count: expected an integer of at least 1, found number 0",
    ),
    "v2 conda file missing": (
        V2 + "command: echo\nenvironment: {image: python:3.11, conda_file: env.yml}\n",
        {},
        "{spec}:5:47: environment.conda_file: conda file 'env.yml' not found"
        " (looked for {dir}/env.yml)",
    ),
    "v2 image and build": (
        V2 + "command: echo\nenvironment:\n  image: python:3.11\n  build: {path: docker}\n",
        {},
        "{spec}:7:10: environment.build: give either image or build, not both",
    ),
    "v2 code file missing": (
        V2 + "command: echo\ncode: ./train.py\n",
        {},
        "{spec}:5:7: code: code './train.py' not found (looked for {dir}/train.py)",
    ),
    "v2 remote code": (
        V2 + "command: echo\ncode: azureml:my-code:1\n",
        {},
        "{spec}:5:7: code: code must be a local path, found 'azureml:my-code:1'\n"
        "  hint: only local files can be used when running locally",
    ),
    "v2 environment variable name": (
        V2 + "command: echo\nenvironment_variables: {'A=B': 1}\n",
        {},
        "{spec}:5:32: environment_variables.A=B: 'A=B' is not a valid environment variable name",
    ),
    "v2 includes inline and in a file": (
        V2 + "command: echo\nadditional_includes: [../lib]\n",
        {"spec.additional_includes": "../lib\n"},
        "{spec}:5:22: additional_includes: additional includes are given both here and in"
        " spec.additional_includes\n  hint: keep one list",
    ),
    "v2 integer default": (
        V2 + "inputs:\n  n: {type: integer, default: 2.5}\ncommand: echo ${{inputs.n}}\n",
        {},
        "{spec}:5:31: inputs.n.default: expected an integer, found number 2.5",
    ),
    "v2 input without type": (
        V2 + "inputs:\n  n: {default: 2}\ncommand: echo ${{inputs.n}}\n",
        {},
        "{spec}:5:6: inputs.n: missing required field 'type' (the input's type)",
    ),
}


@pytest.mark.parametrize(("text", "files", "expected"), CASES.values(), ids=CASES.keys())
def test_invalid_spec_fails_with_exact_message(
    load: LoadSpec, spec_path: Path, text: str, files: dict[str, str], expected: str
) -> None:
    with pytest.raises(SpecError) as caught:
        load(text, files)
    folder = spec_path.parent
    expected = expected.replace("{spec}", str(spec_path)).replace("{dir}", str(folder))
    assert str(caught.value) == expected.replace("{tmp}", str(folder.parent))


def test_malformed_command_template_is_located_at_the_command(
    load: LoadSpec, spec_path: Path
) -> None:
    with pytest.raises(SpecError) as caught:
        load(C2 + "inputs:\n  x: {type: string}\ncommand: python a.py --x {inputs.x\n")
    assert str(caught.value).startswith(f"{spec_path}:7:10: command: ")


def test_spec_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(tmp_path / "missing.yaml")
    assert str(caught.value) == f"{tmp_path}/missing.yaml: spec file not found"
