"""runner.struct.Struct behaves as the frozen dataclass it replaces: each test defines the same
class both ways and compares, or checks a rule dataclasses also enforce."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

import runner.struct
from runner.struct import FrozenInstanceError, Struct, field, replace


class Point(Struct):
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    seen: list[int] = field(default_factory=list, compare=False)


@dataclasses.dataclass(frozen=True)
class RefPoint:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    seen: list[int] = dataclasses.field(default_factory=list, compare=False)


class Checked(Struct):
    """A frozen value that normalises a field after construction."""

    items: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(sorted(self.items)))


class Mutable(Struct, frozen=False):
    names: list[str] = field(default_factory=list)


class Identity(Struct, eq=False):
    value: int


class Fixed(Struct):
    kind: str = field(default="fixed", init=False)
    size: int = 1


@pytest.fixture(autouse=True, params=["generic", "compiled"])
def init_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs twice: with the generic `__init__` a class starts with, and with the
    compiled one it switches to (here at once, instead of after COMPILE_AFTER values)."""
    monkeypatch.setattr(runner.struct, "COMPILE_AFTER", 0 if request.param == "compiled" else 10**9)
    for cls in (Point, Checked, Mutable, Identity, Fixed):
        # A fresh start: an earlier test may have made the class switch.
        fresh = runner.struct._initializer(cls, cls.__struct_fields__)
        monkeypatch.setattr(cls, "__init__", fresh)
    return str(request.param)


def test_construction_repr_and_equality_match_a_dataclass() -> None:
    for cls in (Point, RefPoint):
        cls.__qualname__ = "P"  # both repr as P(...)
    try:
        built = [Point(1), Point(1, 2), Point(x=1, y=2, tags=("a",)), Point(1, tags=("b",))]
        ref = [
            RefPoint(1),
            RefPoint(1, 2),
            RefPoint(x=1, y=2, tags=("a",)),
            RefPoint(1, tags=("b",)),
        ]
        assert [repr(p) for p in built] == [repr(r) for r in ref]
    finally:
        Point.__qualname__, RefPoint.__qualname__ = "Point", "RefPoint"
    pairs = [(a, b) for a in range(len(built)) for b in range(len(built))]
    assert [built[a] == built[b] for a, b in pairs] == [ref[a] == ref[b] for a, b in pairs]
    assert Point(1, 2) != RefPoint(1, 2)  # another class never compares equal
    assert Point(1) != (1, 0, (), [])


def test_hash_follows_the_compared_fields() -> None:
    a, b = Point(1, seen=[1]), Point(1, seen=[2])  # `seen` is not compared
    assert a == b and hash(a) == hash(b)
    assert len({Point(1), Point(1), Point(2)}) == 2
    assert hash(Point(1, tags=("a",))) != hash(Point(1, tags=("b",)))


def test_frozen_fields_refuse_assignment_and_deletion() -> None:
    point = Point(1)
    with pytest.raises(FrozenInstanceError, match="'x'"):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del point.y  # type: ignore[misc]
    with pytest.raises(AttributeError):
        point.other = 1  # type: ignore[attr-defined]
    assert point.x == 1


def test_default_factories_give_each_value_its_own_object() -> None:
    a, b = Point(1), Point(1)
    a.seen.append(1)
    assert b.seen == [] and a.seen == [1]
    assert not hasattr(Point, "seen")  # as with dataclasses: no class attribute for a factory
    assert Point.y == 0


def test_calls_that_do_not_bind_fail_as_with_a_dataclass() -> None:
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = [
        ((), {}),
        ((), {"y": 1}),
        ((1,), {"z": 2}),
        ((1,), {"x": 2}),
        ((1, 2), {"y": 3, "tags": ()}),
        ((1, 2, (), [], 5), {}),
    ]
    for args, kwargs in calls:
        with pytest.raises(TypeError) as ours:
            Point(*args, **kwargs)
        with pytest.raises(TypeError) as theirs:
            RefPoint(*args, **kwargs)
        assert str(ours.value).replace("Point", "P") == str(theirs.value).replace("RefPoint", "P")

    class Two(Struct):
        a: int
        b: int

    with pytest.raises(
        TypeError, match=r"Two.__init__\(\) missing 2 required positional arguments: 'a' and 'b'"
    ):
        Two()  # type: ignore[call-arg]


def test_replace_copies_with_changes_and_runs_post_init_again() -> None:
    point = Point(1, 2, ("a",))
    moved = replace(point, y=5)
    assert moved == Point(1, 5, ("a",)) and point == Point(1, 2, ("a",))
    assert replace(Checked((3, 1)), items=(9, 2)).items == (2, 9)
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        replace(point, z=1)  # type: ignore[call-arg]


def test_init_false_fields_take_their_default_and_cannot_be_replaced() -> None:
    fixed = Fixed(size=3)
    assert fixed.kind == "fixed" and repr(fixed) == "Fixed(kind='fixed', size=3)"
    with pytest.raises(TypeError):
        Fixed(kind="other")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="'kind'"):
        replace(fixed, kind="other")
    assert replace(fixed, size=4) == Fixed(size=4)


def test_post_init_may_normalise_a_frozen_value() -> None:
    assert Checked((3, 1, 2)).items == (1, 2, 3)
    assert Checked(items=(2, 1)) == Checked((1, 2))


def test_a_mutable_struct_assigns_and_is_unhashable() -> None:
    names = Mutable()
    names.names.append("a")
    names.names = ["b"]
    assert names == Mutable(["b"]) and Mutable().names == []
    with pytest.raises(TypeError, match="unhashable"):
        hash(names)


def test_eq_false_compares_and_hashes_by_identity() -> None:
    a, b = Identity(1), Identity(1)
    assert a != b and a == a
    assert len({a, b}) == 2


def test_match_pickle_and_copy() -> None:
    match Point(1, 2):
        case Point(x, y):
            assert (x, y) == (1, 2)
        case _:
            pytest.fail("no match")
    point = Point(1, 2, ("a",), [3])
    for clone in (pickle.loads(pickle.dumps(point)), copy.copy(point), copy.deepcopy(point)):
        assert clone == point and clone.seen == [3] and clone is not point
    assert pickle.loads(pickle.dumps(Checked((2, 1)))).items == (1, 2)


def test_subclasses_extend_the_fields() -> None:
    class Base(Struct):
        a: int

    class Child(Base):
        b: str = "b"

    assert Child(1) == Child(a=1, b="b")
    assert repr(Child(1, "c")).endswith("Child(a=1, b='c')")
    assert Base(1) != Child(1)
    assert Base(2).a == 2  # the parent keeps its own __init__


def test_a_class_body_may_define_its_own_methods() -> None:
    class Named(Struct):
        name: str
        note: str = ""

        def __repr__(self) -> str:
            return f"<{self.name}>"

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Named) and other.name == self.name

    assert repr(Named("a")) == "<a>"
    assert Named("a", "x") == Named("a", "y")
    hash(Named("a"))  # frozen: Python's implicit `__hash__ = None` is replaced, as dataclasses do


def test_definition_errors_match_dataclasses() -> None:
    with pytest.raises(ValueError, match="mutable default"):

        class Bad(Struct):
            items: list[int] = []  # noqa: RUF012

    with pytest.raises(TypeError, match="without a default follows"):

        class Order(Struct):
            a: int = 0
            b: int  # type: ignore[misc]

    with pytest.raises(TypeError, match="cannot be mixed"):

        class Mixed(Mutable):  # a mutable base, a frozen child
            pass

    with pytest.raises(ValueError, match="both default and default_factory"):
        field(default=1, default_factory=int)  # type: ignore[call-overload]


def test_a_class_switches_to_a_compiled_init(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner.struct, "COMPILE_AFTER", 3)

    class Lazy(Struct):
        a: int
        b: list[int] = field(default_factory=list)

    generic = Lazy.__init__
    made = [Lazy(1), Lazy(a=2), Lazy(3, [4])]
    assert Lazy.__init__ is generic
    made.append(Lazy(5))  # the fourth value switches
    assert Lazy.__init__ is not generic
    assert Lazy.__init__.__qualname__.endswith("Lazy.__init__")
    assert [(m.a, m.b) for m in made] == [(1, []), (2, []), (3, [4]), (5, [])]
    assert Lazy(6).b is not Lazy(6).b
