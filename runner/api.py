"""The Python API: load a module, render its command, run it, all with python-named values."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from runner.registry.resolve import load_module_spec
from runner.run.engine import RunOptions, RunResult
from runner.run.engine import run_module as run_spec
from runner.run.job import preview_command
from runner.spec.model import ModuleSpec

if TYPE_CHECKING:
    from runner.pipeline.handle import PipelineHandle
    from runner.pipeline.nodes import Node


class Module:
    """A loaded module spec. Inputs and parameters are keyword arguments by python name
    (`input_path=...`) or, through `values=`, by their original names (`{"Input path": ...}`).
    """

    def __init__(self, spec: ModuleSpec) -> None:
        self.spec = spec

    def __repr__(self) -> str:
        return f"Module({self.spec.identity!r}, source={str(self.spec.source)!r})"

    @property
    def name(self) -> str:
        return self.spec.name

    def __call__(self, **values: object) -> Node:
        """A step running this module, inside a `@runner.pipeline` function. Values are
        literals, paths, the function's parameters or other steps' outputs
        (`node.outputs.<name>`), by python name or (with `**{...}`) original name."""
        from runner.pipeline.nodes import call_module

        return call_module(self.spec, values)

    def render(
        self,
        values: Mapping[str, object] | None = None,
        *,
        outputs: Mapping[str, str | os.PathLike[str]] | None = None,
        **kwargs: object,
    ) -> list[str]:
        """The argv the module would run; outputs not placed show as `outputs/<name>`.

        Nothing is created or run; input paths are checked as a real run would check them.
        """
        return preview_command(self.spec, {**(values or {}), **kwargs}, outputs)

    def run(
        self,
        values: Mapping[str, object] | None = None,
        *,
        workdir: str | os.PathLike[str] | None = None,
        outputs: Mapping[str, str | os.PathLike[str]] | None = None,
        timeout: float | None = None,
        python: str | None = None,
        echo: TextIO | None = None,
        quiet: bool = False,
        cache: bool = True,
        force: bool = False,
        in_process: bool = False,
        env: str | None = None,
        **kwargs: object,
    ) -> RunResult:
        """Run the module and return its `RunResult`; a failed module is a result, not an error.

        The module's output streams live to `echo` (default: sys.stdout) unless `quiet`.
        An identical earlier success is served from the cache unless `cache=False` (no lookup,
        nothing stored) or `force=True` (re-run and replace the entry). `in_process=True`
        runs a python-script module inside this interpreter (a breakpoint set here hits);
        `env` chooses the environment (auto, host, venv, conda, docker).
        """
        options = RunOptions(
            workdir=Path(workdir) if workdir is not None else None,
            timeout=timeout,
            python=python,
            echo=None if quiet else (echo or sys.stdout),
            cache=cache,
            force=force,
            in_process=in_process,
            env=env,
        )
        return run_spec(self.spec, {**(values or {}), **kwargs}, outputs, options)


def run_module(
    spec: str | os.PathLike[str] | Module,
    values: Mapping[str, object] | None = None,
    *,
    in_process: bool = False,
    registry: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> RunResult:
    """Load (unless given a `Module`) and run a module: `Module.run`'s arguments, among them
    `in_process=True` to run its python script inside this interpreter."""
    module = spec if isinstance(spec, Module) else load_module(spec, registry=registry)
    return module.run(values, in_process=in_process, **kwargs)


def load_module(
    path: str | os.PathLike[str], *, registry: str | os.PathLike[str] | None = None
) -> Module:
    """Load a module spec of any generation (legacy, component 2.0, CLI v2), or a registered
    module by name (`"NAMESPACE/NAME@1.2.0"`, `"NAME"` for its default version, `"NAME@latest"`,
    `"azureml:NAME:VERSION"`) from `registry` (default: $RUNNER_REGISTRY, else the user's)."""
    return Module(load_module_spec(path, registry=_folder(registry)))


def load_pipeline(
    path: str | os.PathLike[str], *, registry: str | os.PathLike[str] | None = None
) -> PipelineHandle:
    """Load a pipeline job (`type: pipeline`) and the modules of its steps (registered ones
    from `registry`).

    A malformed file is a SpecError; graph problems are reported all at once by `.validate()`
    (and by the run).
    """
    from runner.pipeline.handle import PipelineHandle
    from runner.pipeline.load import load_pipeline as load_model

    return PipelineHandle(load_model(path, registry=_folder(registry)))


def _folder(given: str | os.PathLike[str] | None) -> Path | None:
    return None if given is None else Path(given)
