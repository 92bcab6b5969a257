"""A pipeline ready to validate and run, whether loaded from YAML or built in Python."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from runner.pipeline.model import Pipeline
from runner.pipeline.validate import validate

if TYPE_CHECKING:
    from runner.pipeline.state import PipelineResult


class PipelineHandle:
    """A built or loaded pipeline: `.pipeline` (the model), `.validate()`, `.run(...)`."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def __repr__(self) -> str:
        return f"<pipeline {self.pipeline.name!r}: {', '.join(self.pipeline.step_names)}>"

    def validate(self) -> None:
        validate(self.pipeline)

    def run(self, **options: Any) -> PipelineResult:
        """Run every step (see `runner.pipeline.run.run_pipeline` for the options)."""
        try:
            runner_module = importlib.import_module("runner.pipeline.run")
        except ModuleNotFoundError as exc:
            if exc.name != "runner.pipeline.run":
                raise
            raise NotImplementedError("running pipelines is not available yet") from None
        result: PipelineResult = runner_module.run_pipeline(self.pipeline, **options)
        return result
