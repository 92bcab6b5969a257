"""`runner show SPEC`: the normalised interface of a module, as JSON and as text for people."""

from __future__ import annotations

import argparse
from typing import TextIO

from runner.cli.common import add_spec_argument, load_spec_warned
from runner.cli.output import emit_json
from runner.cli.parser import add_json, leaf
from runner.errors import EXIT_OK
from runner.spec.interface import interface
from runner.spec.model import EnvironmentSpec, InputPort, ModuleSpec, Parameter
from runner.template.text import template_text


def configure(parser: argparse.ArgumentParser) -> None:
    add_spec_argument(parser)
    add_json(parser)
    leaf(
        parser,
        _show,
        [
            "runner show samples/legacy/optional_input/optional_input.yaml",
            "runner show module.yaml --json | jq '.inputs[].python_name'",
        ],
    )


def _show(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    spec = load_spec_warned(args, stderr)
    if args.json:
        emit_json(stdout, interface(spec))
    else:
        print(interface_text(spec), file=stdout)
    return EXIT_OK


def interface_text(spec: ModuleSpec) -> str:
    lines = [
        f"{spec.display_name or spec.name}  ({spec.generation.value}: {spec.identity})",
        f"  job type: {spec.job_type.value}   deterministic: "
        f"{'yes' if spec.is_deterministic else 'no'}   return code: {spec.return_code.value}",
        "inputs:" if spec.inputs else "inputs: none",
    ]
    lines += [_input_line(item) for item in spec.inputs]
    lines.append("outputs:" if spec.outputs else "outputs: none")
    for out in spec.outputs:
        kind = "file" if out.is_file else "folder"
        lines.append(f"  {out.python_name:<24} {'/'.join(out.types)} ({kind})  '{out.name}'")
    lines.append("command:")
    lines.append(f"  {template_text(spec.command)}")
    lines.append(f"environment: {_environment_line(spec.environment)}")
    if spec.environment_variables:
        pairs = ", ".join(f"{k}={v}" for k, v in spec.environment_variables)
        lines.append(f"environment variables: {pairs}")
    if spec.code:
        lines.append(f"code: {spec.code.base}")
        lines += [f"  + {inc.path}" for inc in spec.code.includes]
    return "\n".join(lines)


def _input_line(item: InputPort | Parameter) -> str:
    indent = "    " if item.enabled_by else "  "
    if isinstance(item, InputPort):
        what = "port " + "/".join(item.types)
    else:
        what = item.type.value
        if item.min is not None or item.max is not None:
            what += f" [{_bound(item.min)}..{_bound(item.max)}]"
        if item.options:
            what += " {" + " | ".join(item.option_values) + "}"
    if item.default is not None:
        what += f" = {item.default!r}"
    flags = "optional" if item.optional else ("" if item.default is not None else "required")
    when = f" (when {item.enabled_by.parent} = {item.enabled_by.option})" if item.enabled_by else ""
    return f"{indent}{item.python_name:<24} {what}  {flags}  '{item.name}'{when}".rstrip()


def _bound(value: int | float | None) -> str:
    return "" if value is None else f"{value:g}"


def _environment_line(env: EnvironmentSpec) -> str:
    parts = []
    if env.named:
        parts.append(f"named {env.named}")
    if env.image:
        parts.append(f"image {env.image}")
    if env.base_image:
        parts.append(f"base image {env.base_image}")
    if env.conda:
        python = env.conda.python_version or "unpinned"
        count = len(env.conda.dependencies) + len(env.conda.pip)
        parts.append(f"conda (python {python}, {count} packages)")
    if env.pip_requirements:
        parts.append(f"pip requirements ({len(env.pip_requirements)} lines)")
    return ", ".join(parts) or "host python (none declared)"
