"""Building ``HedgeSnapshot`` objects fast: the engine makes one per hedge and tick (a hedge's
funding countdown moves with the clock even when nothing else does).

A frozen dataclass's ``__init__`` stores each field through ``object.__setattr__`` (~50 fields
here, ~5 µs a snapshot on the reference machine). Here a snapshot is filled as a ``_Draft``,
a plain class with the very same slots, by straight slot stores (the engine copies the
hedge's previous snapshot and sets what changed), then becomes a ``HedgeSnapshot`` by
``__class__`` assignment (allowed between two classes of one layout). The result *is* a
``HedgeSnapshot``: equal, hashable and frozen to its users like one built by the
constructor. The copy is generated from the dataclass's fields, so a field added to
``HedgeSnapshot`` needs nothing here; a field that needs the constructor (a
``default_factory``, a ``__post_init__``) makes the import fail loudly rather than build
wrong objects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, cast

from core.snapshot import HedgeSnapshot

HEDGE_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(HedgeSnapshot))


def _check_layout() -> None:
    slots = getattr(HedgeSnapshot, "__slots__", None)
    if slots is None or tuple(slots) != HEDGE_FIELDS:
        raise TypeError("HedgeSnapshot's slots are not its fields in order")
    if hasattr(HedgeSnapshot, "__post_init__"):
        raise TypeError("HedgeSnapshot has a __post_init__: build it with its constructor")
    for f in dataclasses.fields(HedgeSnapshot):
        if f.default_factory is not dataclasses.MISSING or not f.init:
            raise TypeError(f"HedgeSnapshot.{f.name} needs the constructor")


_check_layout()


class _Draft:
    """A HedgeSnapshot being filled (see the module docstring)."""

    __slots__ = HEDGE_FIELDS


def _generate_copy() -> Callable[[HedgeSnapshot], Any]:
    """``draft_of``, as source generated from the fields (as dataclasses does)."""
    stores = "".join(f"    d.{n} = hs.{n}\n" for n in HEDGE_FIELDS)
    src = f"def draft_of(hs):\n    d = _new(_Draft)\n{stores}    return d\n"
    ns: dict[str, Any] = {"_new": object.__new__, "_Draft": _Draft}
    exec(src, ns)  # the source above is built from the dataclass's own field names only
    return cast(Callable[[HedgeSnapshot], Any], ns["draft_of"])


draft_of = _generate_copy()
draft_of.__doc__ = "A mutable copy of ``hs`` to change some fields of, then ``freeze``."


def new_draft() -> Any:
    """An empty draft: every field must be set before ``freeze`` (an unset one would raise
    AttributeError when read)."""
    return object.__new__(_Draft)


def freeze(draft: Any) -> HedgeSnapshot:
    """The draft, now a ``HedgeSnapshot`` (the draft must not be changed afterwards)."""
    draft.__class__ = HedgeSnapshot
    return cast(HedgeSnapshot, draft)
