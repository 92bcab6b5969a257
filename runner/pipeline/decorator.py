"""`runner.pipeline`, the decorator that turns a Python function into a pipeline.

Alone in its module, importing nothing until it is used, so that `import runner` stays cheap:
the DSL itself is `runner.pipeline.dsl`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    from runner.pipeline.dsl import PipelineFunction

Decorate = Callable[[Callable[..., object]], "PipelineFunction"]


class PipelineDecorator:
    """`runner.pipeline`: `@runner.pipeline` or `@runner.pipeline(name="sar")`.

    As an attribute of `runner` it stands where the `runner.pipeline` subpackage would, so it
    also reaches the subpackage's modules: `runner.pipeline.load`, `import
    runner.pipeline.validate as v` and `from runner.pipeline import model` all work.
    """

    @overload
    def __call__(self, func: Callable[..., object], /) -> PipelineFunction: ...

    @overload
    def __call__(self, /, *, name: str | None = None) -> Decorate: ...

    def __call__(
        self, func: Callable[..., object] | None = None, /, *, name: str | None = None
    ) -> PipelineFunction | Decorate:
        from runner.pipeline.dsl import PipelineFunction

        if func is not None:
            return PipelineFunction(func, name)

        def decorate(inner: Callable[..., object]) -> PipelineFunction:
            return PipelineFunction(inner, name)

        return decorate

    def __getattr__(self, name: str) -> ModuleType:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return importlib.import_module(f"runner.pipeline.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"runner.pipeline.{name}":
                raise
            raise AttributeError(f"runner.pipeline has no module {name!r}") from None

    def __repr__(self) -> str:
        return "<runner.pipeline decorator>"


pipeline = PipelineDecorator()
