"""runner: run Azure Machine Learning modules and pipelines locally.

The public API is imported on first use (PEP 562), so that `import runner.cli.main` and the
other entry points pay only for what they use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from runner._version import __version__

# `runner.pipeline` is the decorator; it stands in for the subpackage of the same name as an
# attribute of `runner`, and hands out the subpackage's modules (`runner.pipeline.load`). It is
# set here, before any submodule of the subpackage is imported, and nothing sets it again.
from runner.pipeline.decorator import pipeline

if TYPE_CHECKING:
    from runner.api import Module, load_module, load_pipeline, run_module
    from runner.errors import PipelineError, RunnerError, SpecError
    from runner.pipeline.model import Pipeline
    from runner.run.result import RunResult, Status

_LAZY = {
    "Module": "runner.api",
    "load_module": "runner.api",
    "load_pipeline": "runner.api",
    "run_module": "runner.api",
    "PipelineError": "runner.errors",
    "RunnerError": "runner.errors",
    "SpecError": "runner.errors",
    "Pipeline": "runner.pipeline.model",
    "RunResult": "runner.run.result",
    "Status": "runner.run.result",
}

__all__ = [
    "Module",
    "Pipeline",
    "PipelineError",
    "RunResult",
    "RunnerError",
    "SpecError",
    "Status",
    "__version__",
    "load_module",
    "load_pipeline",
    "pipeline",
    "run_module",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'runner' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
