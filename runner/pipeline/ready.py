"""The steps waiting to start, and which of them may start now: in constant time per step, so
a pipeline of a thousand steps is scheduled as cheaply per step as one of ten."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping


class Waiting:
    """Steps not started yet, in run order. A step is ready once every step it depends on has
    succeeded (or came from the cache); a dependency that never does keeps it waiting."""

    def __init__(self, order: Iterable[str], needs: Mapping[str, set[str]]) -> None:
        names = list(order)
        self._rank = {name: index for index, name in enumerate(names)}
        self._unmet = {name: len(needs[name]) for name in names}
        self._dependents: dict[str, list[str]] = {}
        for name in names:
            for dependency in needs[name]:
                self._dependents.setdefault(dependency, []).append(name)
        self._ready = [(self._rank[name], name) for name in names if not self._unmet[name]]
        heapq.heapify(self._ready)

    def __bool__(self) -> bool:
        return bool(self._unmet)

    def __iter__(self) -> Iterator[str]:
        """The steps still waiting, in run order."""
        return iter(sorted(self._unmet, key=self._rank.__getitem__))

    def __contains__(self, name: object) -> bool:
        return name in self._unmet

    def take(self, count: int) -> list[str]:
        """Up to `count` ready steps, earliest in run order first; they no longer wait."""
        taken: list[str] = []
        while self._ready and len(taken) < count:
            _, name = heapq.heappop(self._ready)
            if name in self._unmet:  # not removed meanwhile
                del self._unmet[name]
                taken.append(name)
        return taken

    def succeeded(self, name: str) -> None:
        """`name` has its outputs: the steps that needed only it (and others done) are ready."""
        for dependent in self._dependents.get(name, ()):
            if dependent in self._unmet:
                self._unmet[dependent] -= 1
                if not self._unmet[dependent]:
                    heapq.heappush(self._ready, (self._rank[dependent], dependent))

    def remove(self, name: str) -> None:
        self._unmet.pop(name, None)
