"""A pipeline ready to validate and run, whether loaded from YAML or built in Python."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from runner.pipeline.model import Pipeline
from runner.pipeline.validate import validate

if TYPE_CHECKING:
    from runner.pipeline.rerun import Rerun
    from runner.pipeline.state import PipelineResult


class PipelineHandle:
    """A built or loaded pipeline: `.pipeline` (the model), `.validate()`, `.run(...)`."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def __repr__(self) -> str:
        return f"<pipeline {self.pipeline.name!r}: {', '.join(self.pipeline.step_names)}>"

    def validate(self) -> None:
        validate(self.pipeline)

    def run(self, *, quiet: bool = False, **options: Any) -> PipelineResult:
        """Run every step (see `runner.pipeline.run.run_pipeline` for the options).

        As `runner pipeline run` does, progress (a live table on a terminal, lines elsewhere)
        and the closing summary, with how to re-run from a failed step, go to stderr; unless
        `quiet=True`, or a `display` of your own is given.
        """
        from runner.pipeline.display import make_display, summary
        from runner.pipeline.rerun import advise
        from runner.pipeline.run import run_pipeline

        shown = not quiet and options.get("display") is None
        if shown:
            options["display"] = make_display(sys.stderr)
        result: PipelineResult = run_pipeline(self.pipeline, **options)
        if shown:
            advice = advise(self.pipeline, result, options.get("options"))
            print(summary(result, advice, _python_rerun), file=sys.stderr)
        return result


def _python_rerun(rerun: Rerun) -> str:
    if not rerun.from_steps:
        return ".run()"
    return f".run(from_steps={list(rerun.from_steps)!r})"
