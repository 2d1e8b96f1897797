"""Rollups: fold one-second rows into minute and hour buckets, in SQL.

``compact`` is what the recorder runs every ``COMPACT_MS`` of data time, after a batch, one
minute per transaction: for each kind it folds the ``<kind>_recent`` rows below the boundary
into the minute rollup and those (complete) minutes into the coarser tiers (an upsert that
merges with a partial bucket already there: a partial hour is completed by the next
compactions), moves those rows to the subject-major ``<kind>_tick``, and advances
``meta.compacted_until_ms``. Each coarser tier is folded from the minutes, never from another
partial tier, so that no minute is counted twice. ``rebuild_rollups`` recomputes the rollups
from the detail (migration to v2, repairs, tests).

Aggregate semantics (also what a brute-force check computes): ``last`` is the value at the
latest sample of the bucket (``None`` if that sample had none); ``min``/``max`` and the average
(``sum``/``cnt``) skip ``None``; ``stale`` sums flags; ``n`` counts samples.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from storage.schema import KINDS, MINUTE_MS, RESOLUTIONS, KindSpec

COMPACTED_UNTIL = "compacted_until_ms"


def _merge(col: str, agg: str) -> str:
    if agg == "last":
        return f"{col} = excluded.{col}"  # compaction goes forward in time
    if agg in ("min", "max"):
        return f"{col} = coalesce({agg}({col}, excluded.{col}), {col}, excluded.{col})"
    if agg == "sum":
        return f"{col} = {col} + excluded.{col}"
    return (
        f"{col} = CASE WHEN {col} IS NULL THEN excluded.{col} "
        f"WHEN excluded.{col} IS NULL THEN {col} ELSE {col} + excluded.{col} END"
    )


def fold_sql(spec: KindSpec, res: str, src: str, *, from_rollup: bool = False) -> str:
    """An upsert folding the rows of ``src`` with ``? <= time < ?`` into ``<kind>_<res>``.

    ``src`` holds one-second rows (``<kind>_recent`` / ``<kind>_tick``) or, with
    ``from_rollup``, finer rollup rows (the hour rollup is folded from the minute one)."""
    res_ms = dict(RESOLUTIONS)[res]
    tcol = "bucket_ms" if from_rollup else "ts_ms"
    inner = [
        "sid",
        f"({tcol} / {res_ms}) * {res_ms} AS b",
        "sum(n) AS n" if from_rollup else "count(*) AS n",
        f"max({tcol}) AS lt",
    ]
    cols = ["sid", "bucket_ms", "n"]
    values = ["g.sid", "g.b", "g.n"]
    sets = ["n = n + excluded.n"]
    for r in spec.rolled:
        x = r.name
        for agg in r.aggs:
            if agg == "last":
                cols.append(f"{x}_last")
                values.append(f"l.{x}_last" if from_rollup else f"l.{x}")
                sets.append(_merge(f"{x}_last", "last"))
            elif agg in ("min", "max"):
                src_col = f"{x}_{agg}" if from_rollup else x
                inner.append(f"{agg}({src_col}) AS {x}_{agg}")
                cols.append(f"{x}_{agg}")
                values.append(f"g.{x}_{agg}")
                sets.append(_merge(f"{x}_{agg}", agg))
            elif agg == "sum":
                inner.append(f"sum({x}_sum) AS {x}_sum" if from_rollup else f"sum({x}) AS {x}_sum")
                cols.append(f"{x}_sum")
                values.append(f"g.{x}_sum")
                sets.append(_merge(f"{x}_sum", "sum"))
            else:
                if from_rollup:
                    inner += [f"sum({x}_sum) AS {x}_sum", f"sum({x}_cnt) AS {x}_cnt"]
                else:
                    inner += [f"sum({x}) AS {x}_sum", f"count({x}) AS {x}_cnt"]
                cols += [f"{x}_sum", f"{x}_cnt"]
                values += [f"g.{x}_sum", f"g.{x}_cnt"]
                sets += [_merge(f"{x}_sum", "avg"), f"{x}_cnt = {x}_cnt + excluded.{x}_cnt"]
    # a subject-major source (rollups, <kind>_tick) is searched per subject: a bare time range
    # on (sid, time) keys would scan the whole table
    where = f"{tcol} >= ? AND {tcol} < ?"
    if from_rollup or src == spec.raw_table:
        where = f"sid IN (SELECT sid FROM subjects WHERE kind = '{spec.kind}') AND {where}"
    return (
        f"WITH g AS (SELECT {', '.join(inner)} FROM {src} WHERE {where} GROUP BY sid, b) "
        f"INSERT INTO {spec.rollup_table(res)} ({', '.join(cols)}) "
        f"SELECT {', '.join(values)} FROM g JOIN {src} l ON l.sid = g.sid AND l.{tcol} = g.lt "
        f"WHERE true ON CONFLICT (sid, bucket_ms) DO UPDATE SET {', '.join(sets)}"
    )


def get_meta(conn: sqlite3.Connection, key: str) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: int) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def compact(conn: sqlite3.Connection, until_ms: int) -> int:
    """Fold and move every recent row older than ``until_ms`` (inside the caller's
    transaction); returns the number of rows moved. ``until_ms`` is minute-aligned."""
    start = get_meta(conn, COMPACTED_UNTIL) or 0
    moved = 0
    (fine, _), *coarser = RESOLUTIONS
    for spec in KINDS.values():
        # minutes from the one-second rows, then the coarser tiers from those minutes
        # (``until_ms`` is minute-aligned, so the minutes folded are complete)
        conn.execute(fold_sql(spec, fine, spec.recent_table), (start, until_ms))
        for coarse, _ms in coarser:
            conn.execute(
                fold_sql(spec, coarse, spec.rollup_table(fine), from_rollup=True),
                (start, until_ms),
            )
        cur = conn.execute(
            f"INSERT INTO {spec.raw_table} SELECT * FROM {spec.recent_table} "
            "WHERE ts_ms < ? ORDER BY sid, ts_ms",
            (until_ms,),
        )
        moved += cur.rowcount
        conn.execute(f"DELETE FROM {spec.recent_table} WHERE ts_ms < ?", (until_ms,))
    set_meta(conn, COMPACTED_UNTIL, until_ms)
    return moved


def rebuild_rollups(
    conn: sqlite3.Connection, resolutions: Sequence[tuple[str, int]] = RESOLUTIONS
) -> None:
    """Recompute the rollups from the compacted detail (inside the caller's transaction).

    A bucket whose first rows were pruned by retention (detail starting inside it, and a
    rollup row already there) is kept as it is, and so is everything before. Without a
    compaction mark yet (a v1 file), everything in ``<kind>_tick`` is taken as compacted."""
    until = get_meta(conn, COMPACTED_UNTIL)
    if until is None:
        last = max(
            (
                conn.execute(f"SELECT max(ts_ms) FROM {spec.raw_table}").fetchone()[0] or 0
                for spec in KINDS.values()
            ),
            default=0,
        )
        # minute-aligned, like every compaction boundary (the recorder accepts nothing older)
        until = -(-(int(last) + 1) // MINUTE_MS) * MINUTE_MS if last else 0
        set_meta(conn, COMPACTED_UNTIL, until)
    for spec in KINDS.values():
        first = conn.execute(f"SELECT min(ts_ms) FROM {spec.raw_table}").fetchone()[0]
        if first is None:
            continue
        for res, res_ms in resolutions:
            start = int(first) - int(first) % res_ms
            kept = conn.execute(
                f"SELECT 1 FROM {spec.rollup_table(res)} WHERE bucket_ms = ? LIMIT 1", (start,)
            ).fetchone()
            if kept and first % res_ms:  # its start was pruned: keep what was folded then
                start += res_ms
            conn.execute(f"DELETE FROM {spec.rollup_table(res)} WHERE bucket_ms >= ?", (start,))
            conn.execute(fold_sql(spec, res, spec.raw_table), (start, until))
