"""The environment variables runner gives a command: what it sets and what it puts in front."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping

from runner.struct import Struct, field


class EnvOverrides(Struct):
    """Changes to an inherited environment; recorded as changes so a re-run can repeat them."""

    values: Mapping[str, str] = field(default_factory=dict)
    # Path-list variables (PATH, PYTHONPATH) keep what the user had, after runner's entries.
    prepend: Mapping[str, str] = field(default_factory=dict)

    def apply(self, base: Mapping[str, str]) -> dict[str, str]:
        env = dict(base)
        for name, front in self.prepend.items():
            inherited = env.get(name)
            env[name] = f"{front}{os.pathsep}{inherited}" if inherited else front
        env.update(self.values)
        return env

    def shell_lines(self) -> list[str]:
        lines = [
            f'export {name}={shlex.quote(front)}"${{{name}:+{os.pathsep}${name}}}"'
            for name, front in sorted(self.prepend.items())
        ]
        lines += [
            f"export {name}={shlex.quote(value)}" for name, value in sorted(self.values.items())
        ]
        return lines

    def to_json(self) -> dict[str, object]:
        return {"set": dict(self.values), "prepend": dict(self.prepend)}
