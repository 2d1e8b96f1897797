"""Building frozen slotted dataclasses fast: the engine makes a ``HedgeSnapshot`` per hedge
and tick (a hedge's funding countdown moves with the clock even when nothing else does) and
a ``HoldingSnapshot`` per coin and tick.

A frozen dataclass's ``__init__`` stores each field through ``object.__setattr__`` (~50
fields in a HedgeSnapshot, ~5 µs one on the reference machine). Here an object is filled as a
*draft*, a plain class with the very same slots, by straight slot stores (the engine copies a
hedge's previous snapshot and sets what changed), then becomes an instance of the dataclass
by ``__class__`` assignment (allowed between two classes of one layout). The result *is* an
instance of the dataclass: equal, hashable and frozen to its users like one built by the
constructor. The copy is generated from the dataclass's fields, so a field added needs
nothing here; a dataclass that needs its constructor (a ``default_factory``, a
``__post_init__``, slots that are not its fields) is refused at import rather than built
wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


class FrozenBuilder(Generic[T]):
    """Drafts of the frozen slotted dataclass ``cls`` (see the module docstring): ``new()``
    (every field must then be set: an unset one raises AttributeError when read), ``copy(obj)``
    (set the fields that change), then ``freeze(draft)`` (not to be changed afterwards)."""

    def __init__(self, cls: type[T]) -> None:
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        names = tuple(f.name for f in fields)
        slots = getattr(cls, "__slots__", None)
        if slots is None or tuple(slots) != names:
            raise TypeError(f"{cls.__name__}'s slots are not its fields in order")
        if hasattr(cls, "__post_init__"):
            raise TypeError(f"{cls.__name__} has a __post_init__: build it with its constructor")
        for f in fields:
            if f.default_factory is not dataclasses.MISSING or not f.init:
                raise TypeError(f"{cls.__name__}.{f.name} needs the constructor")
        self.cls = cls
        self._draft: type = type(f"_{cls.__name__}Draft", (), {"__slots__": names})
        stores = "".join(f"    d.{n} = obj.{n}\n" for n in names)
        src = f"def copy(obj):\n    d = _new(_Draft)\n{stores}    return d\n"
        ns: dict[str, Any] = {"_new": object.__new__, "_Draft": self._draft}
        exec(src, ns)  # the source above is built from the dataclass's own field names only
        self.copy: Callable[[T], Any] = ns["copy"]

    def new(self) -> Any:
        return object.__new__(self._draft)

    def freeze(self, draft: Any) -> T:
        draft.__class__ = self.cls
        return cast(T, draft)
