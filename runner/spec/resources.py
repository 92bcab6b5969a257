"""The runner extension to a `resources` block: `cpus`, `memory`, `gpus` and Ray `custom`
resources, what a step asks of the executor that runs it (the cloud's own keys, such as
`instance_count` and `gpu_count`, are read by each generation's loader)."""

from __future__ import annotations

import re

from runner.spec.common import Context, at_least, fields, present
from runner.spec.model import Resources
from runner.spec.source import Node
from runner.struct import replace

EXTENSION_KEYS = ("cpus", "memory", "gpus", "custom")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_MEMORY = r"(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?"
_MEMORY_HINT = "bytes, or a size such as 512M or 4G"


def with_extension(node: Node, resources: Resources) -> Resources:
    """`resources` with the extension's fields of `node` (a resources mapping)."""
    cpus = present(node, "cpus")
    memory = present(node, "memory")
    custom = present(node, "custom")
    return replace(
        resources,
        cpus=resources.cpus if cpus is None else _amount(cpus),
        memory=resources.memory if memory is None else _memory(memory),
        custom=resources.custom if custom is None else _custom(custom),
    )


def step_resources(ctx: Context, node: Node, module: Resources) -> Resources:
    """A pipeline step's `resources` over its module's: what it sets wins (the cloud's keys
    other than `gpu_count` have no effect in a local run and are warned about)."""
    fields(ctx, node, ("gpu_count", *EXTENSION_KEYS))
    gpus = present(node, "gpu_count") or present(node, "gpus")
    resources = module if gpus is None else replace(module, gpu_count=at_least(gpus, 0))
    return with_extension(node, resources)


def _amount(node: Node) -> float:
    value = float(node.number())
    if value < 0:
        raise node.expected("a number of at least 0")
    return value


def _memory(node: Node) -> int:
    if isinstance(node.value, int) and not isinstance(node.value, bool):
        if node.value <= 0:
            raise node.expected(_MEMORY_HINT)
        return node.value
    match = re.fullmatch(_MEMORY, node.text().strip().lower())
    if match is None:
        raise node.expected(_MEMORY_HINT)
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def _custom(node: Node) -> tuple[tuple[str, float], ...]:
    return tuple((name, _amount(child)) for name, child in sorted(node.mapping().items()))
