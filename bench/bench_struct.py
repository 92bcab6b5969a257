"""Value classes: what defining and using one costs, as a dataclass, a NamedTuple or a Struct.

    python bench/bench_struct.py

runner defines about a hundred frozen value classes at import (`runner/struct.py`). Prints, per
class of five fields (two defaults, one default factory): the definition, a value (a Struct
class's after it switched), `==`, `hash` and `repr`; one value by the shape of the call,
through a dataclass and through Struct's generic and compiled `__init__` (a class switches
after COMPILE_AFTER values), and what compiling costs; and `import dataclasses` in a fresh
interpreter.
Best of 7 repeats, measured in this run; asserts that the variants agree, never time.
"""

from __future__ import annotations

import dataclasses
import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import runner.struct
from runner.struct import Struct, field


def define_dataclass(**options: bool) -> Any:
    @dataclasses.dataclass(frozen=True, **options)
    class Value:
        name: str
        size: int
        tags: tuple[str, ...] = ()
        note: str | None = None
        extra: dict[str, str] = dataclasses.field(default_factory=dict)

    return Value


def define_namedtuple() -> Any:
    class Value(NamedTuple):  # no default factory: a NamedTuple cannot have one
        name: str
        size: int
        tags: tuple[str, ...] = ()
        note: str | None = None
        extra: dict[str, str] | None = None

    return Value


def define_struct() -> Any:
    class Value(Struct):
        name: str
        size: int
        tags: tuple[str, ...] = ()
        note: str | None = None
        extra: dict[str, str] = field(default_factory=dict)

    return Value


def define_plain() -> Any:
    class Value:  # the floor: a class with a hand-written __init__ and nothing else
        def __init__(
            self, name: str, size: int, tags: tuple[str, ...] = (), note: str = ""
        ) -> None:
            self.name, self.size, self.tags, self.note = name, size, tags, note

    return Value


def us(action: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(action, number=number, repeat=7)) / number * 1e6


def import_dataclasses_ms() -> float:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import dataclasses"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    last = [line for line in done.stderr.splitlines() if line.endswith("| dataclasses")]
    return int(last[0].split("|")[1]) / 1000


CALLS: dict[str, Callable[[Any], object]] = {
    "2 positional, 3 defaults": lambda cls: cls("a", 1),
    "5 positional": lambda cls: cls("a", 1, (), None, {}),
    "5 keywords": lambda cls: cls(name="a", size=1, tags=(), note=None, extra={}),
    "3 positional + 1 keyword": lambda cls: cls("a", 1, (), note="n"),
}


def measure(cls: Any, define: Callable[[], Any], compares: bool) -> list[float]:
    cls("a", 1)
    row = [us(define, 200), us(lambda: cls("a", 1, note="n"), 20000)]
    if compares:
        a, b = cls("a", 1, ("x",), extra=None), cls("a", 1, ("x",), extra=None)
        assert a == b and hash(a) == hash(b)
        row += [us(lambda: a == b, 50000), us(lambda: hash(a), 50000), us(lambda: repr(a), 20000)]
    return row


def main() -> None:
    variants = {
        "dataclass(frozen=True)": define_dataclass,
        # Fewer generated methods: no __repr__, and eq=False compares by identity.
        "dataclass, no repr/eq/hash": partial(define_dataclass, repr=False, eq=False),
        "NamedTuple": define_namedtuple,
        "Struct (runner.struct)": define_struct,
        "plain class": define_plain,
    }
    print(f"{'':28}{'define':>10}{'value':>9}{'==':>8}{'hash':>8}{'repr':>8}  (us)")
    for label, define in variants.items():
        compares = not label.startswith(("dataclass,", "plain"))
        row = measure(define(), define, compares)
        cells = "".join(f"{value:>8.2f}  " for value in row)
        print(f"{label:28}{cells}")
    dataclass_cls, generic_cls, compiled_cls = define_dataclass(), define_struct(), define_struct()
    runner.struct.COMPILE_AFTER, saved = 10**9, runner.struct.COMPILE_AFTER
    compiled_cls.__init__ = runner.struct._compile_init(
        compiled_cls, compiled_cls.__struct_fields__
    )
    header = f"{'dataclass':>10}{'generic':>10}{'compiled':>10}"
    print(f"\none value, by the shape of the call (us):  {header}")
    savings = []
    for shape, call in CALLS.items():
        assert (
            call(dataclass_cls).__dict__
            == call(generic_cls).__dict__
            == call(compiled_cls).__dict__
        )
        row = [us(partial(call, cls), 20000) for cls in (dataclass_cls, generic_cls, compiled_cls)]
        savings.append(row[1] - row[2])
        print(f"  {shape:40}" + "".join(f"{cell:>10.2f}" for cell in row))
    runner.struct.COMPILE_AFTER = saved
    cost = us(
        lambda: runner.struct._compile_init(compiled_cls, compiled_cls.__struct_fields__), 300
    )
    saving = statistics.mean(savings)
    print(f"compiling an __init__: {cost:.0f} us, the saving of {cost / saving:.0f} values "
          f"(COMPILE_AFTER = {saved})")  # fmt: skip
    print(f"import dataclasses (fresh interpreter): {import_dataclasses_ms():.1f} ms")


if __name__ == "__main__":
    main()
