"""`Struct`: the base of runner's typed value classes, as cheap to define as a plain class.

A subclass declares its fields as annotations, as a dataclass does (PEP 681 tells type checkers
so), and gets `__init__` (positional or keyword, defaults, `field(default_factory=...)`,
`__post_init__`), `__eq__` and `__hash__` over its compared fields, `__repr__`, read-only
attributes, `__match_args__`, pickling and copying; `replace(obj, **changes)` copies with
changes. Class keywords: `frozen=False` for a mutable class (then unhashable, as a dataclass
with eq), `eq=False` for equality and hashing by identity.

Why not dataclasses: defining a frozen dataclass costs about 0.6 ms (it compiles five methods
with `exec`; `import dataclasses` costs 6-9 ms more, for `inspect`), and a command defined about
a hundred of them before doing anything. Defining a Struct class costs about 15 us and compiles
nothing: the fields are read from the annotations, and `__eq__`, `__hash__` and `__repr__` are
shared by every class. `__init__` starts generic (no compilation, about twice a dataclass's
cost per value); a class that makes many values (one per file of an input) switches to a
compiled one that costs about half a dataclass's. Figures: bench/bench_struct.py, design.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter
from reprlib import recursive_repr
from typing import TYPE_CHECKING, Any, ClassVar, overload

if TYPE_CHECKING:
    # Type checkers check `replace(obj, name=value)` against obj's fields; at run time it is
    # `_replace` below.
    from dataclasses import replace as replace
    from typing import TypeVar

    from typing_extensions import dataclass_transform

    # For type checkers only: at run time, the string bound would make typing call compile(),
    # and the first compile() of a process costs about 1 ms.
    _T = TypeVar("_T")
    _S = TypeVar("_S", bound="Struct")
else:

    def dataclass_transform(**_: object) -> Callable[[type], type]:
        return lambda cls: cls


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """One field of a Struct class, as declared; `Struct.__struct_fields__` lists them."""

    __slots__ = ("compare", "default", "default_factory", "init", "name")

    def __init__(
        self,
        default: object = MISSING,
        default_factory: Callable[[], object] | None = None,
        init: bool = True,
        compare: bool = True,
    ) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.compare = compare

    def __repr__(self) -> str:
        return f"Field({self.name!r}, default={self.default!r})"


@overload
def field(*, default: _T, init: bool = True, compare: bool = True) -> _T: ...
@overload
def field(*, default_factory: Callable[[], _T], init: bool = True, compare: bool = True) -> _T: ...
def field(
    *,
    default: object = MISSING,
    default_factory: Callable[[], object] | None = None,
    init: bool = True,
    compare: bool = True,
) -> Any:
    """A field with a default factory, or left out of `__init__` or of comparisons."""
    if default is not MISSING and default_factory is not None:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, init, compare)


class FrozenInstanceError(AttributeError):
    """An assignment to a field of a frozen Struct (as `dataclasses.FrozenInstanceError`)."""


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class Struct:
    """The base class; see the module's docstring."""

    __struct_fields__: ClassVar[tuple[Field, ...]] = ()
    __struct_frozen__: ClassVar[bool] = True
    __struct_key__: ClassVar[Callable[[Any], object]]

    def __init_subclass__(cls, *, frozen: bool = True, eq: bool = True) -> None:
        super().__init_subclass__()
        if any(base.__struct_frozen__ != frozen for base in _struct_bases(cls)):
            raise TypeError(f"{cls.__qualname__}: a frozen and a mutable Struct cannot be mixed")
        fields = tuple(_collect_fields(cls).values())
        compared = [f.name for f in fields if f.compare]
        generated: dict[str, object] = {
            "__struct_fields__": fields,
            "__struct_frozen__": frozen,
            "__struct_key__": attrgetter(*compared) if compared else _no_key,
            "__match_args__": tuple(f.name for f in fields if f.init),
            "__init__": _initializer(cls, fields),
            "__repr__": Struct.__repr__,
            **_equality(frozen=frozen, eq=eq),
        }
        if not frozen:
            generated.update(__setattr__=object.__setattr__, __delattr__=object.__delattr__)
        # As with dataclasses, what the class body defines stays, except the `__hash__ = None`
        # that Python itself puts there when the body defines `__eq__` alone.
        own = cls.__dict__
        blanked = own.get("__hash__", MISSING) is None and "__eq__" in own
        for name, value in generated.items():
            if name not in own or (name == "__hash__" and blanked):
                setattr(cls, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r} of a frozen value")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r} of a frozen value")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        key = type(self).__struct_key__
        return bool(key(self) == key(other))

    def __hash__(self) -> int:
        return hash(type(self).__struct_key__(self))

    @recursive_repr()
    def __repr__(self) -> str:
        values = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.__struct_fields__)
        return f"{type(self).__qualname__}({values})"


def _no_key(_: object) -> tuple[()]:
    return ()


def _struct_bases(cls: type) -> list[type[Struct]]:
    return [b for b in cls.__mro__[1:] if issubclass(b, Struct) and b is not Struct]


def _collect_fields(cls: type[Struct]) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for base in reversed(_struct_bases(cls)):
        fields.update((f.name, f) for f in base.__dict__.get("__struct_fields__", ()))
    for name, annotation in cls.__annotations__.items():
        if isinstance(annotation, str) and annotation.startswith(("ClassVar", "typing.ClassVar")):
            continue
        fields[name] = _declared(cls, name)
    _check_order(cls, fields.values())
    return fields


def _declared(cls: type, name: str) -> Field:
    value = cls.__dict__.get(name, MISSING)
    declared = value if isinstance(value, Field) else Field(value)
    declared.name = name
    if isinstance(value, Field):  # as with dataclasses: the default alone stays on the class
        if declared.default is MISSING:
            delattr(cls, name)
        else:
            setattr(cls, name, declared.default)
    if type(declared.default).__hash__ is None:
        raise ValueError(
            f"{cls.__qualname__}.{name}: mutable default {type(declared.default).__name__}; "
            "use field(default_factory=...)"
        )
    return declared


def _check_order(cls: type, fields: Iterable[Field]) -> None:
    seen_default = False
    for f in fields:
        if not f.init:
            continue
        has_default = f.default is not MISSING or f.default_factory is not None
        if seen_default and not has_default:
            raise TypeError(
                f"{cls.__qualname__}: field {f.name!r} without a default follows one with"
            )
        seen_default = seen_default or has_default


def _equality(*, frozen: bool, eq: bool) -> dict[str, object]:
    if not eq:
        return {"__eq__": object.__eq__, "__hash__": object.__hash__}
    # A mutable value that compares by content cannot be hashed.
    return {"__eq__": Struct.__eq__, "__hash__": Struct.__hash__ if frozen else None}


# A compiled `__init__` costs about 60 us to make (the first compilation of a process about 1 ms
# more) and saves about 1 us a value over the generic one: a class switches after this many
# values, which most classes never reach in one command.
COMPILE_AFTER = 64


def _initializer(cls: type[Struct], fields: tuple[Field, ...]) -> Callable[..., None]:
    """The generic `__init__` of a class, until it has made COMPILE_AFTER values; then the class
    gets a compiled one. Both word a call that does not bind as Python does."""
    names = tuple(f.name for f in fields if f.init)
    accepted = frozenset(names)
    defaults = {f.name: f.default for f in fields if f.init and f.default is not MISSING}
    factories = {f.name: f.default_factory for f in fields if f.init and f.default_factory}
    fixed = {f.name: f.default for f in fields if not f.init and f.default is not MISSING}
    made = {f.name: f.default_factory for f in fields if not f.init and f.default_factory}
    optional = len(defaults) + len(factories)
    post_init = hasattr(cls, "__post_init__")
    where = f"{cls.__qualname__}.__init__()"

    calls = 0

    def __init__(self: Struct, *args: object, **kwargs: object) -> None:
        nonlocal calls
        calls += 1
        if calls > COMPILE_AFTER:
            compiled = _compile_init(cls, fields)
            setattr(cls, "__init__", compiled)  # noqa: B010 - mypy forbids assigning a method
            compiled(self, *args, **kwargs)
            return
        if len(args) > len(names):
            raise _positional_error(where, len(names), len(names) - optional, len(args))
        values = dict(zip(names, args))  # noqa: B905 - args is no longer than names
        if kwargs:
            if not accepted.issuperset(kwargs) or not values.keys().isdisjoint(kwargs):
                raise _keyword_error(where, accepted, values, kwargs)
            values.update(kwargs)
        if len(values) < len(names):
            for name in names:
                if name in values:
                    continue
                if name in defaults:
                    values[name] = defaults[name]
                elif name in factories:
                    values[name] = factories[name]()
                else:
                    raise _missing_error(where, names, values, defaults.keys() | factories)
        if fixed or made:
            values.update(fixed)
            values.update((name, factory()) for name, factory in made.items())
        self.__dict__.update(values)
        if post_init:
            self.__post_init__()  # type: ignore[attr-defined]

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _compile_init(cls: type[Struct], fields: tuple[Field, ...]) -> Callable[..., None]:
    """`__init__` for cls as Python source, storing into `__dict__` (which bypasses the frozen
    `__setattr__`): about half the cost of a dataclass's."""
    params, body = ["self"], ["_d = self.__dict__"]
    namespace: dict[str, object] = {"_M": MISSING}
    for f in fields:
        if f.name in ("self", "_d", "_M") or f.name.startswith("_s_"):
            raise TypeError(f"{cls.__qualname__}: a field may not be named {f.name!r}")
        default, factory = f"_s_default_{f.name}", f"_s_factory_{f.name}"
        namespace[default], namespace[factory] = f.default, f.default_factory
        if not f.init:
            if f.default is MISSING and f.default_factory is None:
                continue  # as with dataclasses: unset until the class sets it
            value = f"{factory}()" if f.default_factory else default
        elif f.default_factory is not None:
            params.append(f"{f.name}=_M")
            value = f"{factory}() if {f.name} is _M else {f.name}"
        else:
            params.append(f.name if f.default is MISSING else f"{f.name}={default}")
            value = f.name
        body.append(f"_d[{f.name!r}] = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    source = f"def __init__({', '.join(params)}):\n    " + "\n    ".join(body)
    exec(source, namespace)  # the source is made of the fields' names: identifiers only
    init: Callable[..., None] = namespace["__init__"]  # type: ignore[assignment]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _positional_error(where: str, most: int, least: int, given: int) -> TypeError:
    # Counting self, as Python does.
    takes = f"from {least + 1} to {most + 1}" if least < most else str(most + 1)
    plural = "argument" if takes == "1" else "arguments"
    return TypeError(f"{where} takes {takes} positional {plural} but {given + 1} were given")


def _keyword_error(
    where: str, accepted: frozenset[str], given: dict[str, object], kwargs: dict[str, object]
) -> TypeError:
    for name in kwargs:
        if name not in accepted:
            return TypeError(f"{where} got an unexpected keyword argument {name!r}")
    twice = next(name for name in kwargs if name in given)
    return TypeError(f"{where} got multiple values for argument {twice!r}")


def _missing_error(
    where: str, names: tuple[str, ...], given: dict[str, object], optional: set[str]
) -> TypeError:
    missing = [repr(n) for n in names if n not in given and n not in optional]
    listed = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} and {missing[-1]}"
    plural = "argument" if len(missing) == 1 else "arguments"
    return TypeError(f"{where} missing {len(missing)} required positional {plural}: {listed}")


def _replace(obj: _S, /, **changes: object) -> _S:
    for f in obj.__struct_fields__:
        if not f.init:
            if f.name in changes:
                raise ValueError(f"field {f.name!r} is not set by __init__; it cannot be replaced")
        elif f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return type(obj)(**changes)


if not TYPE_CHECKING:
    replace = _replace
