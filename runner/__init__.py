"""runner: run Azure Machine Learning modules and pipelines locally."""

from __future__ import annotations

__version__ = "0.1.0"

from runner.api import Module, load_module, load_pipeline
from runner.errors import PipelineError, RunnerError, SpecError

# `runner.pipeline` is the decorator; it stands in for the subpackage of the same name as an
# attribute of `runner`, and hands out the subpackage's modules (`runner.pipeline.load`).
from runner.pipeline.dsl import pipeline
from runner.pipeline.model import Pipeline
from runner.run.engine import RunResult, Status

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
]
