"""What a pipeline function works with: module calls become `Node`s, their outputs
`OutputRef`s, the function's parameters `PipelineParam`s. Nodes are collected by the
pipeline being built (a context variable), and turned into the model by `dsl`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextvars import ContextVar

from runner.errors import PipelineError
from runner.spec.model import ModuleSpec
from runner.spec.names import python_name
from runner.struct import Struct, field


def step_base_name(module: ModuleSpec) -> str:
    """The python name of the module's name without a dotted namespace (2.0 names are often
    `company.project.train`): `train`, `Stratified Splitter` -> `stratified_splitter`."""
    return python_name(module.name.rsplit(".", 1)[-1]) or python_name(module.name) or "step"


class PipelineParam(Struct):
    """What a pipeline function receives for each of its parameters: pass it to a module to
    bind that input to the pipeline input."""

    name: str


class OutputRef(Struct, eq=False):
    """One output of a step (`node.outputs.model`): pass it to another module's input."""

    node: Node
    output: str  # original name
    python_name: str

    def __repr__(self) -> str:
        return f"<output {self.python_name!r} of {self.node!r}>"


class Outputs:
    """A step's outputs by python name (`node.outputs.scores`) or any name (`["Scores"]`)."""

    def __init__(self, node: Node) -> None:
        self._node = node

    def __getattr__(self, name: str) -> OutputRef:
        if name.startswith("_"):
            raise AttributeError(name)
        out = self._node.module.find_output(name)
        if out is None:
            names = ", ".join(o.python_name for o in self._node.module.outputs) or "(none)"
            raise AttributeError(
                f"module {self._node.module.name!r} has no output {name!r}; outputs: {names}"
            )
        return OutputRef(self._node, out.name, out.python_name)

    def __getitem__(self, name: str) -> OutputRef:
        try:
            return self.__getattr__(name)
        except AttributeError as exc:
            raise KeyError(str(exc)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(o.python_name for o in self._node.module.outputs)

    def __dir__(self) -> list[str]:
        return list(self)


class Node:
    """A module called inside a pipeline function: one step. Set `name` to name the step
    and `environment_variables` to add variables to its command's environment."""

    def __init__(self, module: ModuleSpec, values: Mapping[str, object]) -> None:
        self.module = module
        self.values = dict(values)
        self.name: str | None = None
        self.environment_variables: dict[str, str] = {}

    @property
    def outputs(self) -> Outputs:
        return Outputs(self)

    def __repr__(self) -> str:
        return f"<step {self.name or step_base_name(self.module)!r} ({self.module.identity})>"


class Builder(Struct, frozen=False):
    """The steps created so far by the pipeline function being run."""

    nodes: list[Node] = field(default_factory=list)


BUILDER: ContextVar[Builder | None] = ContextVar("runner_pipeline_builder", default=None)


def call_module(module: ModuleSpec, values: Mapping[str, object]) -> Node:
    """Add a step running `module` with `values` to the pipeline being built."""
    builder = BUILDER.get()
    if builder is None:
        raise PipelineError(
            f"module {module.name!r} was called outside a @runner.pipeline function",
            "to run one module on its own: module.run(...)",
        )
    node = Node(module, values)
    builder.nodes.append(node)
    return node
