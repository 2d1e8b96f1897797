"""Incremental rollups: fold one-second rows into minute and hour buckets.

The recorder keeps the open bucket of each subject in memory (``RollupCache``) and upserts it
with every batch, so the rollup tables are always current; the database stays the source of
truth (after a failed write the cache is dropped and re-read). ``rebuild_rollups`` recomputes
them from the one-second detail (migration to v2, repairs, benchmarks).

Aggregate semantics (also what a brute-force check computes): ``last`` is the value at the
latest sample of the bucket (``None`` if that sample had none); ``min``/``max`` and the average
(``sum``/``cnt``) skip ``None``; ``stale`` sums flags; ``n`` counts samples.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from storage.schema import KINDS, RESOLUTIONS, KindSpec

State = list[Any]  # aligned with KindSpec.rollup_columns()


class RollupPlan:
    """How the raw columns of one kind fold into its rollup columns."""

    def __init__(self, spec: KindSpec) -> None:
        self.spec = spec
        self.columns = spec.rollup_columns()
        ops: list[tuple[str, int, int]] = []
        pos = 1
        for r in spec.rolled:
            idx = spec.column_index(r.name)
            for agg in r.aggs:
                ops.append((agg, idx, pos))
                pos += 2 if agg == "avg" else 1
        self.ops = tuple(ops)
        self.last_ops = tuple((i, p) for a, i, p in ops if a == "last")
        self.min_ops = tuple((i, p) for a, i, p in ops if a == "min")
        self.max_ops = tuple((i, p) for a, i, p in ops if a == "max")
        self.avg_ops = tuple((i, p) for a, i, p in ops if a == "avg")
        self.sum_ops = tuple((i, p) for a, i, p in ops if a == "sum")
        names = ", ".join(["sid", "bucket_ms", *(n for n, _t in self.columns)])
        marks = ", ".join("?" * (len(self.columns) + 2))
        self.upsert_sql = {
            res: f"INSERT OR REPLACE INTO {spec.rollup_table(res)} ({names}) VALUES ({marks})"
            for res, _ms in RESOLUTIONS
        }
        self.select_sql = {
            res: f"SELECT {names} FROM {spec.rollup_table(res)} WHERE sid = ? AND bucket_ms = ?"
            for res, _ms in RESOLUTIONS
        }

    def new(self) -> State:
        st: State = [None] * len(self.columns)
        st[0] = 0
        for _i, p in self.avg_ops:
            st[p + 1] = 0
        for _i, p in self.sum_ops:
            st[p] = 0
        return st

    def add(self, st: State, row: Sequence[Any]) -> None:
        """Fold one raw row (aligned with ``spec.columns``) into ``st``."""
        st[0] += 1
        for i, p in self.last_ops:
            st[p] = row[i]
        for i, p in self.min_ops:
            v = row[i]
            if v is not None and (st[p] is None or v < st[p]):
                st[p] = v
        for i, p in self.max_ops:
            v = row[i]
            if v is not None and (st[p] is None or v > st[p]):
                st[p] = v
        for i, p in self.avg_ops:
            v = row[i]
            if v is not None:
                st[p] = v if st[p] is None else st[p] + v
                st[p + 1] += 1
        for i, p in self.sum_ops:
            v = row[i]
            if v:
                st[p] += v


PLANS: dict[str, RollupPlan] = {kind: RollupPlan(spec) for kind, spec in KINDS.items()}


class _Open:
    __slots__ = ("bucket_ms", "dirty", "state")

    def __init__(self, bucket_ms: int, state: State) -> None:
        self.bucket_ms = bucket_ms
        self.state = state
        self.dirty = False


class RollupCache:
    """The open bucket per (kind, resolution, subject); ``add`` rows, then ``write`` them."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str, int], _Open] = {}
        self._closed: list[tuple[str, str, list[Any]]] = []

    def clear(self) -> None:
        self._open.clear()
        self._closed.clear()

    def add(
        self, conn: sqlite3.Connection, kind: str, sid: int, ts_ms: int, row: Sequence[Any]
    ) -> None:
        plan = PLANS[kind]
        for res, res_ms in RESOLUTIONS:
            bucket = ts_ms - ts_ms % res_ms
            key = (kind, res, sid)
            cur = self._open.get(key)
            if cur is None or cur.bucket_ms != bucket:
                if cur is not None and cur.dirty:
                    self._closed.append((kind, res, [sid, cur.bucket_ms, *cur.state]))
                got = conn.execute(plan.select_sql[res], (sid, bucket)).fetchone()
                cur = _Open(bucket, list(got[2:]) if got else plan.new())
                self._open[key] = cur
            plan.add(cur.state, row)
            cur.dirty = True

    def write(self, conn: sqlite3.Connection) -> int:
        """Upsert every touched bucket (inside the caller's transaction); returns rows."""
        by_sql: dict[str, list[list[Any]]] = {}
        for kind, res, values in self._closed:
            by_sql.setdefault(PLANS[kind].upsert_sql[res], []).append(values)
        for (kind, res, sid), cur in self._open.items():
            if cur.dirty:
                by_sql.setdefault(PLANS[kind].upsert_sql[res], []).append(
                    [sid, cur.bucket_ms, *cur.state]
                )
        n = 0
        for sql, rows in by_sql.items():
            conn.executemany(sql, rows)
            n += len(rows)
        return n

    def committed(self) -> None:
        """The transaction that carried ``write`` committed: nothing is dirty any more."""
        self._closed.clear()
        for cur in self._open.values():
            cur.dirty = False


def fold(kind: str, rows: Iterable[Sequence[Any]], res_ms: int) -> dict[tuple[int, int], State]:
    """Fold ``(sid, ts_ms, *columns)`` rows (in ts order per sid) into buckets of ``res_ms``."""
    plan = PLANS[kind]
    out: dict[tuple[int, int], State] = {}
    for r in rows:
        key = (r[0], r[1] - r[1] % res_ms)
        st = out.get(key)
        if st is None:
            st = out[key] = plan.new()
        plan.add(st, r[2:])
    return out


def rebuild_rollups(
    conn: sqlite3.Connection, *, kinds: Iterable[str] | None = None, chunk: int = 50_000
) -> int:
    """Recompute every rollup bucket that has one-second rows (inside the caller's
    transaction, if any). Buckets whose raw rows were pruned are left as they are.
    Reads the detail in key order (time-major) with one open bucket per subject."""
    written = 0
    for kind in kinds or KINDS:
        plan = PLANS[kind]
        spec = plan.spec
        cols = ", ".join(["sid", "ts_ms", *(c.name for c in spec.columns)])
        sql = f"SELECT {cols} FROM {spec.raw_table} ORDER BY ts_ms, sid"
        for res, res_ms in RESOLUTIONS:
            open_: dict[int, tuple[int, State]] = {}
            pending: list[list[Any]] = []
            for r in conn.execute(sql):
                sid, ts = r[0], r[1]
                bucket = ts - ts % res_ms
                o = open_.get(sid)
                if o is None or o[0] != bucket:
                    if o is not None:
                        pending.append([sid, o[0], *o[1]])
                    o = open_[sid] = (bucket, plan.new())
                plan.add(o[1], r[2:])
                if len(pending) >= chunk:
                    conn.executemany(plan.upsert_sql[res], pending)
                    written += len(pending)
                    pending = []
            pending += [[sid, b, *st] for sid, (b, st) in open_.items()]
            conn.executemany(plan.upsert_sql[res], pending)
            written += len(pending)
    return written
