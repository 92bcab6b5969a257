"""What the registry tests share besides fixtures (a uniquely named module: `conftest` is
ambiguous across test folders)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

Cli = Callable[..., tuple[int, str, str]]
MakeModule = Callable[..., Path]
Json = Callable[..., object]
