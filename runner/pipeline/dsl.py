"""Pipelines in Python: inside a `@runner.pipeline` function, calling a module adds a step.

    split = runner.load_module("split.yaml")
    train = runner.load_module("train.yaml")

    @runner.pipeline
    def sar(ratings: Path = Path("data/ratings"), ratio: float = 0.75):
        parts = split(input_path=ratings, ratio=ratio)
        model = train(training_data=parts.outputs.output_train_data)
        return {"model": model.outputs.model}

    sar(ratio=0.8).run()

The function runs once, with a placeholder for each of its parameters; what it returns are the
pipeline's outputs. The result is the same `Pipeline` model the YAML loader builds.

Step names: the python name of the module's name, without a dotted namespace
(`Optional Input Recommender` -> `optional_input_recommender`, `samples.sar_train` ->
`sar_train`); a module called again gets `_2`, `_3`, ... Set `node.name` to choose a name.
Relative paths are taken from the current directory, as `open()` and `load_module` take them.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from runner.errors import PipelineError, quote
from runner.pipeline.handle import PipelineHandle
from runner.pipeline.inputs import bind_inputs, type_of
from runner.pipeline.model import (
    STEP_NAME,
    Binding,
    Literal,
    ParentInput,
    Pipeline,
    PipelineInput,
    PipelineOutput,
    Step,
    StepOutput,
)
from runner.pipeline.nodes import (
    BUILDER,
    Builder,
    Node,
    OutputRef,
    PipelineParam,
    step_base_name,
)
from runner.spec.model import InputPort, Parameter, ParamType

_V2_TYPES = {
    ParamType.STRING: "string",
    ParamType.ENUM: "string",
    ParamType.INTEGER: "integer",
    ParamType.FLOAT: "number",
    ParamType.BOOLEAN: "boolean",
}


class PipelineFunction:
    """A function decorated with `@runner.pipeline`: calling it builds the pipeline."""

    def __init__(self, func: Callable[..., object], name: str | None) -> None:
        self.func = func
        self.name = name or func.__name__
        self.signature = inspect.signature(func)
        for param in self.signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise PipelineError(
                    f"pipeline {self.name!r}: *{param.name} / **{param.name} cannot be"
                    " pipeline inputs",
                    "name each input as a parameter",
                )
        functools.update_wrapper(self, func)

    def __repr__(self) -> str:
        return f"<pipeline function {self.name!r}>"

    def __call__(self, *args: object, **kwargs: object) -> PipelineHandle:
        """Build the pipeline; arguments are the inputs' values (defaults otherwise)."""
        try:
            given = self.signature.bind(*args, **kwargs).arguments
        except TypeError as exc:
            raise PipelineError(f"pipeline {self.name!r}: {exc}") from None
        if BUILDER.get() is not None:
            raise PipelineError(
                f"pipeline {self.name!r} was called inside another pipeline function",
                "nested pipelines are not supported: call its modules directly",
            )
        builder = Builder()
        token = BUILDER.set(builder)
        try:
            returned = self.func(
                **{name: PipelineParam(name) for name in self.signature.parameters}
            )
        finally:
            BUILDER.reset(token)
        return PipelineHandle(self._build(builder.nodes, given, returned))

    def _build(self, nodes: list[Node], given: Mapping[str, object], returned: object) -> Pipeline:
        names = _step_names(self.name, nodes)
        steps = tuple(
            Step(names[id(n)], n.module, _bindings(names, n), _env(names[id(n)], n)) for n in nodes
        )
        inputs = tuple(self._input(name, given, nodes) for name in self.signature.parameters)
        pipeline = Pipeline(
            source=None,
            name=self.name,
            inputs=tuple(i for i, _ in inputs),
            steps=steps,
            outputs=_outputs(self.name, names, returned),
            description=inspect.getdoc(self.func) or "",
        )
        values = {i.name: value for i, value in inputs if value is not None}
        return bind_inputs(pipeline, values, Path.cwd())

    def _input(
        self, name: str, given: Mapping[str, object], nodes: list[Node]
    ) -> tuple[PipelineInput, object]:
        """The pipeline input for parameter `name` (typed, no value yet) and its value."""
        param = self.signature.parameters[name]
        default = None if param.default is param.empty else param.default
        value = given.get(name, default)
        if isinstance(value, (PipelineParam, OutputRef, Node)):
            raise PipelineError(f"pipeline {self.name!r}: input {name!r} cannot be {value!r}")
        kind = _input_type(name, value, param.annotation, nodes)
        # `x=None` in the signature says the input may be left out.
        return PipelineInput(name, kind, optional=param.default is None), value


def _input_type(name: str, value: object, annotation: object, nodes: list[Node]) -> str:
    """Data when the value or annotation is a path or the input feeds a port; else the type
    of the value, or of the first parameter it feeds."""
    users = [
        n.module.find_input(key)
        for n in nodes
        for key, bound in n.values.items()
        if isinstance(bound, PipelineParam) and bound.name == name
    ]
    path_like = annotation in (Path, "Path", "pathlib.Path") or isinstance(value, os.PathLike)
    if path_like or any(isinstance(u, InputPort) for u in users):
        path = Path(os.fsdecode(value)) if isinstance(value, (str, os.PathLike)) else None
        if path is not None and path.is_file():
            return "uri_file"
        return "uri_folder" if path is not None and path.is_dir() else "path"
    found = type_of(value)
    if found is not None and found != "string":
        return found
    params = [u for u in users if isinstance(u, Parameter)]
    return _V2_TYPES[params[0].type] if params else "string"


def _step_names(pipeline: str, nodes: list[Node]) -> dict[int, str]:
    """Final step names by node identity: chosen names first, then module names with _2, _3
    on repeats, skipping any name already taken."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for node in nodes:
        if node.name is None:
            continue
        if not isinstance(node.name, str) or not STEP_NAME.fullmatch(node.name):
            raise PipelineError(
                f"pipeline {pipeline!r}: step name {node.name!r} is not valid",
                "start with a letter or '_', then letters, digits, '_' or '-'",
            )
        if node.name in taken:
            raise PipelineError(f"pipeline {pipeline!r}: two steps are named {node.name!r}")
        names[id(node)] = node.name
        taken.add(node.name)
    for node in nodes:
        if node.name is not None:
            continue
        base = step_base_name(node.module)
        candidate, count = base, 1
        while candidate in taken:
            count += 1
            candidate = f"{base}_{count}"
        names[id(node)] = candidate
        taken.add(candidate)
    return names


def _bindings(names: Mapping[int, str], node: Node) -> dict[str, Binding]:
    bindings: dict[str, Binding] = {}
    for key, value in node.values.items():
        item = node.module.find_input(key)
        name = key if item is None else item.name
        if value is None:
            continue
        if name in bindings:
            raise PipelineError(
                f"step {names[id(node)]!r}: input {name!r} is given twice, by both its names"
            )
        bindings[name] = _binding(names, node, key, value, isinstance(item, InputPort))
    return bindings


def _binding(
    names: Mapping[int, str], node: Node, key: str, value: object, is_port: bool
) -> Binding:
    where = f"step {names[id(node)]!r}, input {key!r}"
    if isinstance(value, PipelineParam):
        return ParentInput(value.name)
    if isinstance(value, Node):
        outputs = value.module.outputs
        if len(outputs) != 1:
            shown = ", ".join(o.python_name for o in outputs) or "(none)"
            raise PipelineError(
                f"{where}: {value!r} has {len(outputs)} outputs ({shown}): pick one",
                "pass node.outputs.<name>",
            )
        value = OutputRef(value, outputs[0].name, outputs[0].python_name)
    if isinstance(value, OutputRef):
        if id(value.node) not in names:
            raise PipelineError(f"{where}: {value!r} belongs to another pipeline")
        return StepOutput(names[id(value.node)], value.output)
    if isinstance(value, os.PathLike) or (is_port and isinstance(value, str)):
        return Literal(Path(os.path.normpath(Path.cwd() / os.fsdecode(value))))
    if isinstance(value, (str, int, float, bool)):
        return Literal(value)
    raise PipelineError(f"{where}: cannot bind {type(value).__name__} {quote(value)}")


def _env(step: str, node: Node) -> dict[str, str]:
    for key, value in node.environment_variables.items():
        if not isinstance(key, str) or not isinstance(value, str) or not key or "=" in key:
            raise PipelineError(
                f"step {step!r}: bad environment variable {quote(key)}={quote(value)}"
            )
    return dict(node.environment_variables)


def _outputs(
    pipeline: str, names: Mapping[int, str], returned: object
) -> tuple[PipelineOutput, ...]:
    if returned is None:
        return ()
    if isinstance(returned, (OutputRef, Node)):
        ref = _output_ref(pipeline, names, None, returned)
        return (PipelineOutput(ref.python_name, names[id(ref.node)], ref.output),)
    if not isinstance(returned, Mapping):
        raise PipelineError(
            f"pipeline {pipeline!r} returned {type(returned).__name__}",
            "return None, one step output, or a dict of output name -> step output",
        )
    outputs: list[PipelineOutput] = []
    for key, value in returned.items():
        ref = _output_ref(pipeline, names, key, value)
        outputs.append(PipelineOutput(str(key), names[id(ref.node)], ref.output))
    return tuple(outputs)


def _output_ref(pipeline: str, names: Mapping[int, str], key: object, value: object) -> OutputRef:
    where = f"pipeline {pipeline!r}" + ("" if key is None else f", output {key!r}")
    if isinstance(value, Node):
        outputs = value.module.outputs
        if len(outputs) != 1:
            raise PipelineError(
                f"{where}: {value!r} has {len(outputs)} outputs: return one of them",
                "return node.outputs.<name>",
            )
        value = OutputRef(value, outputs[0].name, outputs[0].python_name)
    if not isinstance(value, OutputRef):
        raise PipelineError(f"{where}: expected a step output, got {type(value).__name__}")
    if id(value.node) not in names:
        raise PipelineError(f"{where}: {value!r} belongs to another pipeline")
    return value
