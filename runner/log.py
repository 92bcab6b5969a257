"""Loggers made on first use: `logging` costs about 2 ms at start-up, and a cache hit, the
path that start-up matters for, has nothing to log."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging


def logger(name: str) -> logging.Logger:
    import logging

    return logging.getLogger(name)
