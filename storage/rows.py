"""One declaration per table: the ordered columns, each naming the attribute of the domain
object it holds, how that value is stored and how it is read back. The INSERT, the SELECT, the
row tuple and the decode are all derived from it, so a column cannot be added to one and
forgotten in another.

``lead`` columns come first in the SQL but from the caller, not the object (a snapshot row's
``ts_ms`` and ``sid``, an exchange fill's ``account``): ``row`` leaves them out and ``decode``
skips them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from math import isfinite
from operator import attrgetter
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Convert = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Column:
    """``name`` in the table (unit in it), holding ``attr`` of the object (dotted for a nested
    one); ``dump`` makes the stored value from the attribute's, ``load`` the field's from the
    stored one (None: as it is)."""

    name: str
    attr: str
    sql_type: str = "REAL"
    dump: Convert | None = None
    load: Convert | None = None

    @property
    def field(self) -> str:
        """The keyword the decoded object takes this column's value as."""
        return self.attr.rpartition(".")[2]


def finite(v: Any) -> Any:
    """NaN and ±inf (which the feeds' gate already refuses) are stored as NULL, never as a
    number."""
    return None if isinstance(v, float) and not isfinite(v) else v


def optional(load: Convert) -> Convert:
    """``load``, with NULL read back as None."""
    return lambda v: None if v is None else load(v)


class Table(Generic[T, R]):
    """Rows of ``T`` written to ``name``, read back as ``R`` by ``make(**fields)`` (None: a
    table only written). ``finite_values``: a value that is not finite is stored as NULL."""

    def __init__(
        self,
        name: str,
        columns: Sequence[Column],
        make: Callable[..., R] | None = None,
        *,
        lead: Sequence[str] = (),
        finite_values: bool = False,
        verb: str = "INSERT OR IGNORE",
    ) -> None:
        if len(columns) < 2:
            raise ValueError(f"table {name}: at least two columns")
        self.name = name
        self.columns = tuple(columns)
        self.names = tuple(c.name for c in columns)
        self.lead = tuple(lead)
        every = (*self.lead, *self.names)
        self.insert_sql = (
            f"{verb} INTO {name} ({', '.join(every)}) VALUES ({', '.join('?' * len(every))})"
        )
        self.select_sql = f"SELECT {', '.join(every)} FROM {name}"
        self._get = attrgetter(*(c.attr for c in columns))
        self._dumps = tuple((i, c.dump) for i, c in enumerate(columns) if c.dump is not None)
        self._finite = finite_values
        self._loads = tuple((c.field, c.load) for c in columns)
        self._make = make

    def row(self, obj: T) -> tuple[Any, ...]:
        """The values of the declared columns, in order (no lead columns)."""
        values: Sequence[Any] = self._get(obj)
        if self._dumps:
            dumped = list(values)
            for i, dump in self._dumps:
                dumped[i] = dump(dumped[i])
            values = dumped
        if self._finite:  # a plain loop first: this runs for every subject of every snapshot
            for v in values:
                if isinstance(v, float) and not isfinite(v):
                    return tuple(finite(x) for x in values)
        return tuple(values)

    def decode(self, row: Sequence[Any]) -> R:
        """The object back from a row of ``select_sql`` (lead columns skipped)."""
        if self._make is None:
            raise TypeError(f"table {self.name} is not read back")
        values = row[len(self.lead) :]
        fields = {
            f: v if load is None else load(v)
            for (f, load), v in zip(self._loads, values, strict=True)
        }
        return self._make(**fields)

    def insert(self, conn: sqlite3.Connection, objs: Iterable[T], *lead: Any) -> int:
        """Insert one row per object (``lead``: the values of the lead columns, the same for
        every row); how many rows were new."""
        rows = [(*lead, *self.row(o)) for o in objs]
        if not rows:
            return 0
        before = conn.total_changes
        conn.executemany(self.insert_sql, rows)
        return conn.total_changes - before
