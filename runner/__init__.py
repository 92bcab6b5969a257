"""runner: run Azure Machine Learning modules and pipelines locally."""

from __future__ import annotations

__version__ = "0.1.0"

from runner.api import Module, load_module
from runner.engine import RunResult, Status
from runner.errors import RunnerError, SpecError

__all__ = [
    "Module",
    "RunResult",
    "RunnerError",
    "SpecError",
    "Status",
    "__version__",
    "load_module",
]
