"""Read-only history queries: downsampled series and events for a time range.

``open_history(path)`` opens the file read-only (``mode=ro`` URI; ``immutable=1`` as a
fallback for a copy on a read-only medium), so it works while a recorder writes the same
file (WAL readers never block the writer) and on a database copied from another machine.

``series`` returns at most ``max_points`` points per series, downsampled in SQL with one
bucketed ``GROUP BY`` on the table whose resolution fits: buckets come from a ladder of round
widths (1 s ... 30 s read the one-second detail, 1 min ... 30 min the minute rollup, 1 h and
up the hour rollup), epoch-aligned, the smallest width that gives at most ``max_points``
buckets. Points cover whole buckets overlapping ``[start_ms, end_ms]`` (samples from the
start of the first bucket to the end of the last one); each point is
``(bucket_start_ms, value)``; buckets without samples are absent. Per series the value is
the aggregate that fits it (see ``storage.schema``: average, last, min...); the other stored
aggregates come as ``"<name>.min"``/``"<name>.max"``/... keys.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from core.events import AlertEvent, Fill, FundingEvent
from storage import schema
from storage.events import ALERTS, FILLS, FUNDING
from storage.rollup import COMPACTED_UNTIL, get_meta

SECOND_MS = 1000
LADDER_MS: tuple[int, ...] = (
    1_000,
    2_000,
    5_000,
    10_000,
    15_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    10_800_000,
    14_400_000,
    21_600_000,
    28_800_000,
    43_200_000,
    86_400_000,
    2 * 86_400_000,
    7 * 86_400_000,
)

Point = tuple[int, float | None]


class HistoryError(Exception):
    """A user-facing problem with the history file or a query (one line, names the thing)."""


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str  # "portfolio" | "holding" | "hedge"
    key: str  # "" for the portfolio, the coin for a holding, the hedge_id for a hedge
    venue: str | None = None
    symbol: str | None = None
    coin: str | None = None
    hedged_coin: str | None = None
    label: str | None = None

    @property
    def name(self) -> str:
        return "portfolio" if self.kind == "portfolio" else self.key


@dataclass(frozen=True, slots=True)
class SeriesPlan:
    source: str  # "tick" | "1m" | "10m" | "1h"
    bucket_ms: int
    table: str


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One recorded event, as data (the screens word it)."""

    ts_ms: int
    kind: str  # "fill" | "funding" | "alert"
    subject: str  # hedge_id for fills and funding, the alert's subject for alerts
    event: Fill | FundingEvent | AlertEvent
    coin: str | None = None  # the hedge's settlement coin as recorded (None: not known)


def _slots(spec: schema.KindSpec) -> list[tuple[str, str]]:
    """The partial aggregates kept per bucket while merging: ``(column, agg)`` with agg in
    last/min/max/sum/avg_sum/avg_cnt."""
    slots: list[tuple[str, str]] = []
    for r in spec.rolled:
        for agg in r.aggs:
            if agg == "avg":
                slots += [(r.name, "avg_sum"), (r.name, "avg_cnt")]
            else:
                slots.append((r.name, agg))
    return slots


def _outputs(spec: schema.KindSpec) -> list[tuple[str, str, int]]:
    """``(series key, agg, first slot index)`` for every series ``History.series`` returns."""
    outs: list[tuple[str, str, int]] = []
    i = 0
    for r in spec.rolled:
        for agg in r.aggs:
            outs.append((r.name if agg == r.primary else f"{r.name}.{agg}", agg, i))
            i += 2 if agg == "avg" else 1
    return outs


def _merge_into(
    buckets: dict[int, list[Any]], row: Sequence[Any], slots: list[tuple[str, str]]
) -> None:
    """Fold one partial-aggregate row ``(t, n, lt, *slots)`` into ``buckets[t]``."""
    t = int(row[0])
    cur = buckets.get(t)
    if cur is None:
        buckets[t] = list(row[1:])
        return
    newer = row[2] > cur[1]
    cur[0] += row[1]
    cur[1] = max(cur[1], row[2])
    for i, (_name, agg) in enumerate(slots, start=2):
        v = row[i + 1]
        old = cur[i]
        if agg == "last":
            if newer:
                cur[i] = v
        elif v is None:
            continue
        elif old is None:
            cur[i] = v
        elif agg == "min":
            cur[i] = min(old, v)
        elif agg == "max":
            cur[i] = max(old, v)
        else:
            cur[i] = old + v


def _bucket_count(start_ms: int, end_ms: int, width: int) -> int:
    return end_ms // width - start_ms // width + 1


def choose_bucket(start_ms: int, end_ms: int, max_points: int, *, min_ms: int = SECOND_MS) -> int:
    """The smallest ladder width >= ``min_ms`` giving at most ``max_points`` buckets (beyond
    the ladder: whole weeks)."""
    for width in LADDER_MS:
        if width >= min_ms and _bucket_count(start_ms, end_ms, width) <= max_points:
            return width
    week = 7 * 86_400_000
    width = week * max(1, -(-(end_ms - start_ms) // (week * max_points)))
    while _bucket_count(start_ms, end_ms, width) > max_points:
        width += week
    return width


class History:
    """Queries on one history file; see ``open_history``."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        try:
            self.version = schema.user_version(conn)
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"{path}: not a hedgetop history database ({exc})") from exc
        if self.version > schema.SCHEMA_VERSION:
            raise HistoryError(
                f"{path}: schema version {self.version} is newer than this hedgetop "
                f"reads ({schema.SCHEMA_VERSION}); upgrade hedgetop"
            )
        if self.version < 1:
            raise HistoryError(f"{path}: empty or unfinished hedgetop database")
        self.has_rollups = self.version >= 2
        # v3 added fills.mark_usd: an older file (read as it is) gives NULL for it
        self._fill_cols = ", ".join(
            c if c != "mark_usd" or self.version >= 3 else "NULL" for c in FILLS.names
        )
        self._sql: dict[tuple[str, str, str], str] = {}

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- subjects and bounds -----------------------------------------------------------------

    def subjects(self) -> list[Subject]:
        rows = self._conn.execute(
            "SELECT kind, key, venue, symbol, coin, hedged_coin, label FROM subjects "
            "ORDER BY CASE kind WHEN 'portfolio' THEN 0 WHEN 'holding' THEN 1 ELSE 2 END, key"
        ).fetchall()
        return [Subject(*r) for r in rows]

    def sessions(self) -> list[tuple[int, int, int]]:
        """``(start_ms, end_ms, snapshots)`` of every recording session, oldest first (the
        engine's ``session_start_ms``; a gap between two is a time nothing was recorded)."""
        rows = self._conn.execute(
            "SELECT start_ms, end_ms, ticks FROM sessions ORDER BY start_ms"
        ).fetchall()
        return [(int(a), int(b), int(n)) for a, b, n in rows]

    def subject(self, name: str | None) -> Subject:
        """Resolve ``None``/"portfolio", a hedge_id, a coin, ``hedge:ID``/``holding:COIN``, or
        a venue-native symbol (``BTCUSD``, ``bybit:BTCUSD``) of a recorded hedge."""
        subs = self.subjects()
        if name is None or name == "portfolio":
            return next((s for s in subs if s.kind == "portfolio"), Subject("portfolio", ""))
        kind, _, key = name.partition(":")
        for s in subs:
            if kind in ("hedge", "holding") and s.kind == kind and s.key == key:
                return s
        for want in ("hedge", "holding"):
            for s in subs:
                if s.kind == want and s.key == name:
                    return s
        for s in subs:
            if s.kind == "holding" and s.key.lower() == name.lower():
                return s
        for s in subs:
            if s.kind == "hedge" and name.lower() in (
                (s.symbol or "").lower(),
                f"{s.venue}:{s.symbol}".lower(),
            ):
                return s
        known = ", ".join(s.name for s in subs) or "none recorded"
        raise HistoryError(f"unknown subject {name!r} (known: {known})")

    def bounds(self) -> tuple[int, int] | None:
        """``(first_ms, last_ms)`` of everything recorded, or None for an empty file."""
        with self._read():
            c = self._conn
            psid = "(SELECT sid FROM subjects WHERE kind = 'portfolio')"
            raw_first, raw_last = c.execute(
                f"SELECT min(ts_ms), max(ts_ms) FROM portfolio_tick WHERE sid IN {psid}"
            ).fetchone()
            firsts = [raw_first]
            lasts = [raw_last]
            if self.has_rollups:
                firsts_r, lasts_r = c.execute(
                    "SELECT min(ts_ms), max(ts_ms) FROM portfolio_recent"
                ).fetchone()
                firsts.append(firsts_r)
                lasts.append(lasts_r)
                m_first = c.execute(
                    f"SELECT min(bucket_ms) FROM portfolio_1m WHERE sid IN {psid}"
                ).fetchone()[0]
                known = [x for x in firsts if x is not None]
                if m_first is not None and (not known or m_first < min(known) - 60_000):
                    firsts.append(m_first)  # the detail of the start was pruned
            for table in ("fills", "funding", "alerts"):
                f, la = c.execute(f"SELECT min(ts_ms), max(ts_ms) FROM {table}").fetchone()
                firsts.append(f)
                lasts.append(la)
        fs = [int(x) for x in firsts if x is not None]
        ls = [int(x) for x in lasts if x is not None]
        if not fs:
            return None
        return min(fs), max(ls)

    @contextlib.contextmanager
    def _read(self) -> Iterator[None]:
        """One read transaction: every statement inside sees the same committed state (a
        compaction moving rows between tables cannot fall between two of them)."""
        if self._conn.in_transaction:
            yield
            return
        self._conn.execute("BEGIN")
        try:
            yield
        finally:
            self._conn.execute("COMMIT")

    # --- series ------------------------------------------------------------------------------

    def plan(
        self,
        start_ms: int,
        end_ms: int,
        *,
        subject: str | None = None,
        max_points: int = 500,
        bucket_ms: int | None = None,
    ) -> SeriesPlan:
        """Which table and bucket width ``series`` uses for this range (``bucket_ms`` forces
        a width in whole seconds, then ``max_points`` does not apply; it is rounded up to
        whole minutes where the one-second detail was pruned)."""
        if max_points < 1:
            raise HistoryError(f"max_points must be at least 1 (got {max_points})")
        if end_ms < start_ms:
            raise HistoryError(f"empty range: end {end_ms} is before start {start_ms}")
        if bucket_ms is not None and (bucket_ms < SECOND_MS or bucket_ms % SECOND_MS):
            raise HistoryError(f"bucket_ms must be whole seconds (got {bucket_ms})")
        sub = self.subject(subject)
        spec = schema.KINDS[sub.kind]
        if not self.has_rollups:
            width = bucket_ms or choose_bucket(start_ms, end_ms, max_points)
            return SeriesPlan("tick", width, spec.raw_table)
        min_ms = SECOND_MS
        if not self._raw_covers(spec, self._sid(sub), start_ms):
            min_ms = schema.MINUTE_MS
        if bucket_ms is not None:
            width = -(-bucket_ms // min_ms) * min_ms
        else:
            width = choose_bucket(start_ms, end_ms, max_points, min_ms=min_ms)
        if width % schema.HOUR_MS == 0:
            return SeriesPlan("1h", width, spec.rollup_table("1h"))
        if width % schema.TEN_MINUTES_MS == 0:
            return SeriesPlan("10m", width, spec.rollup_table("10m"))
        if width % schema.MINUTE_MS == 0:
            return SeriesPlan("1m", width, spec.rollup_table("1m"))
        return SeriesPlan("tick", width, spec.raw_table)

    def _raw_covers(self, spec: schema.KindSpec, sid: int | None, start_ms: int) -> bool:
        """Has the one-second detail from ``start_ms`` on (or since recording began)?"""
        if sid is None:
            return True
        with self._read():
            c = self._conn
            firsts = [
                c.execute(f"SELECT min(ts_ms) FROM {t} WHERE sid = ?", (sid,)).fetchone()[0]
                for t in (spec.raw_table, spec.recent_table)
            ]
            m_first = c.execute(
                f"SELECT min(bucket_ms) FROM {spec.rollup_table('1m')} WHERE sid = ?", (sid,)
            ).fetchone()[0]
        known = [int(x) for x in firsts if x is not None]
        if not known:
            return m_first is None
        raw_first = min(known)
        began = raw_first if m_first is None else min(raw_first, int(m_first))
        return raw_first <= max(start_ms, began + schema.MINUTE_MS)

    def _partial_sql(self, spec: schema.KindSpec, table: str, raw: bool) -> str:
        """Per-bucket partial aggregates of one subject (params: width, width, sid, lo, hi,
        sid); columns ``t, n, lt`` then one slot per ``_slots(spec)`` entry."""
        key = (table, str(raw), ",".join(r.name for r in spec.rolled))
        cached = self._sql.get(key)
        if cached is not None:
            return cached
        tcol = "ts_ms" if raw else "bucket_ms"
        aggs: list[str] = []
        outs: list[str] = []
        for name, agg in _slots(spec):
            if agg == "last":
                outs.append(f"l.{name}" if raw else f"l.{name}_last")
                continue
            if agg in ("min", "max"):
                expr = f"{agg}({name})" if raw else f"{agg}({name}_{agg})"
            elif agg in ("sum", "avg_sum"):
                expr = f"sum({name})" if raw else f"sum({name}_sum)"
            else:  # avg_cnt
                expr = f"count({name})" if raw else f"sum({name}_cnt)"
            aggs.append(f"{expr} AS a{len(aggs)}")
            outs.append(f"g.a{len(aggs) - 1}")
        n_expr = "count(*)" if raw else "sum(n)"
        more = "".join(f", {a}" for a in aggs)  # none when every series asked is a "last"
        sql = (
            f"WITH g AS (SELECT ({tcol} / ?) * ? AS t, {n_expr} AS n, max({tcol}) AS lt"
            f"{more} FROM {table} WHERE sid = ? AND {tcol} >= ? AND {tcol} < ? "
            f"GROUP BY t) SELECT g.t, g.n, g.lt, {', '.join(outs)} FROM g "
            f"JOIN {table} l ON l.sid = ? AND l.{tcol} = g.lt ORDER BY g.t"
        )
        self._sql[key] = sql
        return sql

    def series(
        self,
        start_ms: int,
        end_ms: int,
        *,
        subject: str | None = None,
        max_points: int = 500,
        bucket_ms: int | None = None,
        keys: Sequence[str] | None = None,
    ) -> dict[str, list[Point]]:
        """Downsampled series of one subject (None: the portfolio) over the range.

        Keys (units in the names): portfolio ``value_usd`` (hedged) / ``unhedged_value_usd``,
        ``net_delta_usd``, ``session_change_usd``, ``pnl_usd``, ``funding_accrued_usd``;
        holding ``price_usd``, ``value_usd``, ``unhedged_value_usd``, ``net_delta_coin``,
        ``net_delta_usd``, ``hedge_ratio``, ``target_ratio``; hedge ``mark_usd``,
        ``pnl_coin``, ``pnl_usd``, ``basis_pct``, ``funding_rate``, ``funding_accrued_coin``,
        ``liq_distance_pct`` (minimum in the bucket), ``equity_coin``, ``size_usd``,
        ``margin_coin``; every kind has ``stale`` (count of stale samples) and ``n``.
        ``keys`` restricts the work to the series named (a 30-day chart of two series from
        the minute rollup costs a fraction of all sixteen).
        """
        plan = self.plan(
            start_ms, end_ms, subject=subject, max_points=max_points, bucket_ms=bucket_ms
        )
        sub = self.subject(subject)
        spec = schema.KINDS[sub.kind]
        if keys is not None:  # compute only these series (each costs its aggregates)
            names = {k.split(".")[0] for k in keys}
            unknown = names - {r.name for r in spec.rolled} - {"n"}
            if unknown:
                raise HistoryError(
                    f"no series {', '.join(sorted(unknown))} for a {sub.kind} (known: "
                    f"{', '.join(r.name for r in spec.rolled)})"
                )
            spec = dataclasses.replace(
                spec, rolled=tuple(r for r in spec.rolled if r.name in names)
            )
        slots = _slots(spec)
        out: dict[str, list[Point]] = {k: [] for k, _a, _i in _outputs(spec)}
        out["n"] = []
        sid = self._sid(sub)
        if sid is None:
            return out
        w = plan.bucket_ms
        lo = start_ms - start_ms % w
        hi = end_ms - end_ms % w + w
        buckets: dict[int, list[Any]] = {}
        try:
            with self._read():
                until = get_meta(self._conn, COMPACTED_UNTIL) if self.has_rollups else None
                parts: list[tuple[str, bool, int, int]] = []
                if plan.source == "tick":
                    parts.append(
                        (spec.raw_table, True, lo, hi if until is None else min(hi, until))
                    )
                else:
                    parts.append((plan.table, False, lo, hi))
                if until is not None:
                    parts.append((spec.recent_table, True, max(lo, until), hi))
                for table, raw, p_lo, p_hi in parts:
                    if p_lo >= p_hi:
                        continue
                    sql = self._partial_sql(spec, table, raw)
                    for row in self._conn.execute(sql, (w, w, sid, p_lo, p_hi, sid)):
                        _merge_into(buckets, row, slots)
        except sqlite3.OperationalError as exc:
            raise HistoryError(f"{self.path}: cannot read history ({exc})") from exc
        outputs = _outputs(spec)
        for t in sorted(buckets):
            b = buckets[t]
            out["n"].append((t, float(b[0])))
            vals = b[2:]
            for key, agg, i in outputs:
                if agg == "avg":
                    s_, c_ = vals[i], vals[i + 1]
                    v = s_ / c_ if c_ else None
                else:
                    v = vals[i]
                out[key].append((t, None if v is None else float(v)))
        return out

    def _sid(self, sub: Subject) -> int | None:
        row = self._conn.execute(
            "SELECT sid FROM subjects WHERE kind = ? AND key = ?", (sub.kind, sub.key)
        ).fetchone()
        return None if row is None else int(row[0])

    # --- events ------------------------------------------------------------------------------

    def events(self, start_ms: int, end_ms: int, subject: str | None = None) -> list[HistoryEvent]:
        """Fills, funding settlements and alerts in ``[start_ms, end_ms]``, oldest first.

        With a subject: a hedge's own events; a holding's are those of the hedges protecting
        it; alerts match on their subject or on the hedges' ``venue:symbol`` in their key."""
        subs = self.subjects()
        coin_of = {s.key: s.coin for s in subs if s.kind == "hedge"}
        ids: set[str] | None = None
        tags: set[str] = set()
        if subject is not None and subject != "portfolio":
            try:
                sub = self.subject(subject)
            except HistoryError:
                sub = Subject("hedge", subject)
            ids = {sub.key}
            if sub.kind == "holding":
                ids |= {s.key for s in subs if s.kind == "hedge" and s.hedged_coin == sub.key}
            tags = {
                f"{s.venue}:{s.symbol}"
                for s in subs
                if s.kind == "hedge" and s.key in ids and s.venue and s.symbol
            }
        c = self._conn
        out: list[HistoryEvent] = []
        rng = (start_ms, end_ms)
        for r in c.execute(f"SELECT {self._fill_cols} FROM fills WHERE ts_ms BETWEEN ? AND ?", rng):
            f = FILLS.decode(r)
            if ids is None or f.hedge_id in ids:
                out.append(HistoryEvent(f.ts_ms, "fill", f.hedge_id, f, coin_of.get(f.hedge_id)))
        for r in c.execute(f"{FUNDING.select_sql} WHERE ts_ms BETWEEN ? AND ?", rng):
            e = FUNDING.decode(r)
            if ids is None or e.hedge_id in ids:
                out.append(HistoryEvent(e.ts_ms, "funding", e.hedge_id, e, coin_of.get(e.hedge_id)))
        for r in c.execute(f"{ALERTS.select_sql} WHERE ts_ms BETWEEN ? AND ?", rng):
            a = ALERTS.decode(r)
            if (
                ids is None
                or a.subject in ids
                or a.subject in tags
                or any(a.key.endswith(":" + t) or f":{t}:" in a.key for t in tags)
            ):
                out.append(HistoryEvent(a.ts_ms, "alert", a.subject, a))
        out.sort(key=lambda e: (e.ts_ms, e.kind))
        return out


def open_history(db_path: str | Path) -> History:
    """Open a history file read-only; ``HistoryError`` names the path and the problem.

    The connection may be used from another thread than the one that opened it (one thread
    at a time), e.g. a worker that builds the charts off the UI thread."""
    path = Path(db_path).expanduser()
    if not path.is_file():
        raise HistoryError(f"no history database at {path}")
    base = f"file:{quote(str(path.resolve()))}"
    last: Exception | None = None
    for params in ("mode=ro", "mode=ro&immutable=1"):
        try:
            conn = sqlite3.connect(
                f"{base}?{params}", uri=True, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            last = exc
            continue
        try:
            conn.execute("PRAGMA query_only = 1")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return History(conn, path)
        except HistoryError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            last = exc
    raise HistoryError(f"cannot open {path} read-only ({last})")
