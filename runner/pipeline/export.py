"""`runner pipeline export`: a pipeline as the Python DSL program (or notebook) that builds it.

The program loads each step's module as the pipeline does (a registered module by
`NAME@VERSION`, a spec file by its path relative to the program), defines a `@runner.pipeline`
function whose parameters are the pipeline inputs (with their values as defaults), calls the
modules with snake_case (python) port names, names each step as the pipeline does, and returns
the pipeline outputs. Building it gives the same steps, bindings and cache keys. In a notebook,
each step is a cell defining a function that adds that step; a last cell assembles them.

What the DSL cannot say is written as a comment: a step output placed at a path in the YAML.
A pipeline input whose name is not a Python identifier (`how-many`) becomes a parameter of its
python name (`how_many`): the pipeline input is renamed, the values and keys stay the same.
"""

from __future__ import annotations

import builtins
import json
import keyword
import os
from collections.abc import Callable
from pathlib import Path

from runner.pipeline.model import (
    Binding,
    Literal,
    ParentInput,
    Pipeline,
    PipelineInput,
    Step,
    StepOutput,
    topological_order,
)
from runner.spec.model import ModuleSpec
from runner.spec.names import python_name
from runner.struct import Struct

FORMATS = ("py", "ipynb")
_TAKEN = frozenset({"runner", "Path", "HERE", "pipeline", "result", "step"})


class _Names:
    """Python identifiers handed out once each, never a keyword, a builtin or a name the
    program itself uses."""

    def __init__(self) -> None:
        self.taken: set[str] = set(_TAKEN)

    def claim(self, wanted: str, suffix: str) -> str:
        base = python_name(wanted) or suffix
        if keyword.iskeyword(base) or hasattr(builtins, base) or base in self.taken:
            base = f"{base}_{suffix}"
        name, count = base, 1
        while name in self.taken:
            count += 1
            name = f"{base}_{count}"
        self.taken.add(name)
        return name


class _Call(Struct):
    """One step as the program writes it."""

    step: Step
    var: str
    module_var: str
    arguments: tuple[tuple[str, str], ...]  # keyword -> expression
    uses: tuple[str, ...]  # parameters and upstream step variables it reads (notebook cells)
    notes: tuple[str, ...]


def export_pipeline(
    pipeline: Pipeline, to: str, target: Path, reference: Callable[[ModuleSpec], str | None]
) -> str:
    """The program (`to="py"`) or notebook JSON (`to="ipynb"`) building `pipeline`, to be
    written at `target`; `reference` gives a module's registered NAME@VERSION, or None."""
    names = _Names()
    here = target.absolute().parent
    modules: dict[Path, tuple[str, str]] = {}  # spec file -> (variable, load expression)
    for step in pipeline.steps:
        source = step.module.source
        if source not in modules:
            var = names.claim(step.module.name.rsplit("/", 1)[-1].rsplit(".", 1)[-1], "module")
            registered = reference(step.module)
            where = _value(registered) if registered else _path_expr(source, here)
            modules[source] = (var, where)
    params = {item.name: names.claim(item.name, "input") for item in pipeline.inputs}
    variables: dict[str, str] = {}
    calls = []
    for name in topological_order(pipeline):
        step = pipeline.step(name)
        variables[name] = names.claim(name, "step")
        calls.append(_call(pipeline, step, variables, params, modules, here))
    function = names.claim(pipeline.display_name or pipeline.name, "pipeline")
    parts = _Parts(pipeline, here, target, modules, params, calls, function, variables)
    return parts.notebook() if to == "ipynb" else parts.program()


def _call(
    pipeline: Pipeline,
    step: Step,
    variables: dict[str, str],
    params: dict[str, str],
    modules: dict[Path, tuple[str, str]],
    here: Path,
) -> _Call:
    arguments: list[tuple[str, str]] = []
    uses: list[str] = []
    for key, binding in step.bindings.items():
        item = step.module.find_input(key)
        expression, used = _binding(pipeline, binding, variables, params, here)
        arguments.append((item.python_name if item else key, expression))
        uses += used
    notes = [
        f"the pipeline file places output {out!r} of step {step.name!r} at {path}"
        for out, path in step.outputs.items()
        if path is not None
    ]
    return _Call(
        step,
        variables[step.name],
        modules[step.module.source][0],
        tuple(arguments),
        tuple(dict.fromkeys(uses)),
        tuple(notes),
    )


def _binding(
    pipeline: Pipeline,
    binding: Binding,
    variables: dict[str, str],
    params: dict[str, str],
    here: Path,
) -> tuple[str, list[str]]:
    """The expression for one input, and the names it reads."""
    if isinstance(binding, ParentInput):
        param = params.get(binding.name, python_name(binding.name))
        return param, [param]
    if isinstance(binding, StepOutput):
        var = variables[binding.step]
        out = pipeline.step(binding.step).module.find_output(binding.output)
        name = out.python_name if out else binding.output
        if not name.isidentifier():
            return f"{var}.outputs[{_value(name)}]", [var]
        return f"{var}.outputs.{name}", [var]
    return _literal(binding, here), []


def _literal(binding: Literal, here: Path) -> str:
    value = binding.value
    return _path_expr(value, here) if isinstance(value, Path) else _value(value)


def _value(value: object) -> str:
    """A Python literal, strings in double quotes (as the project's formatter writes them)."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def _path_expr(path: Path, here: Path) -> str:
    """A path as the program writes it: relative to the program's folder."""
    relative = os.path.relpath(path, here)
    return "HERE" if relative == "." else f"HERE / {_value(Path(relative).as_posix())}"


def _default(item: PipelineInput, here: Path) -> str:
    if item.default is None:
        return "None"
    if isinstance(item.default, Path):
        return _path_expr(item.default, here)
    return _value(item.default)


def _wrapped(head: str, items: list[str], tail: str, indent: str) -> list[str]:
    """`head(items)tail` on one line when it fits in 99 columns, else one item a line."""
    line = f"{indent}{head}({', '.join(items)}){tail}"
    if len(line) <= 99 or not items:
        return [line]
    return [f"{indent}{head}(", *(f"{indent}    {item}," for item in items), f"{indent}){tail}"]


class _Parts(Struct):
    pipeline: Pipeline
    here: Path
    target: Path
    modules: dict[Path, tuple[str, str]]
    params: dict[str, str]
    calls: list[_Call]
    function: str
    variables: dict[str, str]

    def docstring(self) -> str:
        title = self.pipeline.display_name or self.pipeline.name
        source = self.pipeline.source
        origin = os.path.relpath(source, self.here) if source else "a Python pipeline"
        return (
            f'"""{title}, built with runner\'s Python DSL.\n\n'
            f"Exported by `runner pipeline export` from\n{origin}\n\n"
            "Running it runs the pipeline; importing it gives `pipeline`, ready to `.run()`.\n"
            "Registered modules come from the registry named by $RUNNER_REGISTRY (else the\n"
            'default one).\n"""'
        )

    def imports(self, here: str) -> list[str]:
        return ["from pathlib import Path", "", "import runner", "", f"HERE = {here}"]

    def module_lines(self) -> list[str]:
        lines: list[str] = []
        for var, where in self.modules.values():
            lines += _wrapped(f"{var} = runner.load_module", [where], "", "")
        return lines

    def signature(self) -> list[str]:
        params = []
        for item in self.pipeline.inputs:
            default = _default(item, self.here)
            if isinstance(item.default, Path):
                params.append(f"{self.params[item.name]}: Path = {default}")
            else:
                params.append(f"{self.params[item.name]}={default}")
        return _wrapped(f"def {self.function}", params, ":", "")

    def decorator(self) -> str:
        return f"@runner.pipeline(name={_value(self.pipeline.name)})"

    def returned(self) -> list[str]:
        if not self.pipeline.outputs:
            return []
        lines = ["    return {"]
        for out in self.pipeline.outputs:
            step = self.pipeline.step(out.step)
            port = step.module.find_output(out.output)
            name = port.python_name if port else out.output
            lines.append(f"        {_value(out.name)}: {self.variables[out.step]}.outputs.{name},")
        return [*lines, "    }"]

    def step_lines(self, call: _Call, indent: str) -> list[str]:
        lines = [f"{indent}# {note}" for note in call.notes]
        arguments = [f"{key}={expr}" for key, expr in call.arguments]
        lines += _wrapped(f"{call.var} = {call.module_var}", arguments, "", indent)
        lines.append(f"{indent}{call.var}.name = {_value(call.step.name)}")
        if call.step.environment_variables:
            env = json.dumps(dict(call.step.environment_variables), ensure_ascii=False)
            lines.append(f"{indent}{call.var}.environment_variables = {env}")
        return lines

    def program(self) -> str:
        lines = [self.docstring(), "", *self.imports("Path(__file__).resolve().parent"), ""]
        lines += [*self.module_lines(), "", ""]
        lines += [self.decorator(), *self.signature()]
        for call in self.calls:
            lines += self.step_lines(call, "    ")
        lines += self.returned() or ["    return None"]
        lines += ["", "", f"pipeline = {self.function}()", "", 'if __name__ == "__main__":']
        lines += [
            "    result = pipeline.run()",
            '    print(f"{result.status}: {result.run_dir}")',
            "    raise SystemExit(0 if result.ok else 1)",
            "",
        ]
        return "\n".join(lines)

    def notebook(self) -> str:
        title = self.pipeline.display_name or self.pipeline.name
        cells = [
            _cell("markdown", [f"# {title}", "", self.docstring().strip('"').strip()]),
            _cell(
                "code",
                [*self.imports("Path.cwd()  # the notebook's folder"), "", *self.module_lines()],
            ),
        ]
        for call in self.calls:
            head = [f"# Step {call.step.name}: {call.step.module.identity}"]
            define = _wrapped(f"def add_{call.var}", list(call.uses), ":", "")
            body = [*self.step_lines(call, "    "), f"    return {call.var}"]
            cells.append(_cell("code", head + define + body))
        assemble = [self.decorator(), *self.signature()]
        for call in self.calls:
            arguments = [f"{name}={name}" for name in call.uses]
            assemble += _wrapped(f"{call.var} = add_{call.var}", arguments, "", "    ")
        assemble += self.returned() or ["    return None"]
        assemble += ["", "", f"pipeline = {self.function}()", "pipeline"]
        cells.append(_cell("code", assemble))
        cells.append(_cell("code", ["result = pipeline.run()", "result.status"]))
        notebook = {
            "cells": cells,
            "metadata": {
                "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                "language_info": {"name": "python"},
            },
            "nbformat": 4,
            "nbformat_minor": 4,
        }
        return json.dumps(notebook, indent=1) + "\n"


def _cell(kind: str, lines: list[str]) -> dict[str, object]:
    source = [line + "\n" for line in lines]
    if source:
        source[-1] = source[-1].rstrip("\n")
    cell: dict[str, object] = {"cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        cell |= {"execution_count": None, "outputs": []}
    return cell
