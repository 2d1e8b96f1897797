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

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from core.events import AlertEvent, Fill, FundingEvent
from storage import schema
from storage.events import (
    ALERT_COLS,
    FILL_COLS,
    FUNDING_COLS,
    alert_from_row,
    fill_from_row,
    funding_from_row,
)

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
    source: str  # "tick" | "1m" | "1h"
    bucket_ms: int
    table: str


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    ts_ms: int
    kind: str  # "fill" | "funding" | "alert"
    subject: str  # hedge_id for fills and funding, the alert's subject for alerts
    text: str  # one line, units on every figure
    event: Fill | FundingEvent | AlertEvent


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
        self._sql: dict[tuple[str, str], tuple[str, list[Any]]] = {}

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
        c = self._conn
        raw_first, raw_last = c.execute(
            "SELECT min(ts_ms), max(ts_ms) FROM portfolio_tick"
        ).fetchone()
        firsts = [raw_first]
        lasts = [raw_last]
        if self.has_rollups:
            m_first, m_last = c.execute(
                "SELECT min(bucket_ms), max(bucket_ms) FROM portfolio_1m"
            ).fetchone()
            if m_first is not None and (raw_first is None or m_first < raw_first - 60_000):
                firsts.append(m_first)
            lasts.append(m_last)
        for table in ("fills", "funding", "alerts"):
            f, la = c.execute(f"SELECT min(ts_ms), max(ts_ms) FROM {table}").fetchone()
            firsts.append(f)
            lasts.append(la)
        fs = [int(x) for x in firsts if x is not None]
        ls = [int(x) for x in lasts if x is not None]
        if not fs:
            return None
        return min(fs), max(ls)

    # --- series ------------------------------------------------------------------------------

    def plan(
        self, start_ms: int, end_ms: int, *, subject: str | None = None, max_points: int = 500
    ) -> SeriesPlan:
        """Which table and bucket width ``series`` uses for this range."""
        if max_points < 1:
            raise HistoryError(f"max_points must be at least 1 (got {max_points})")
        if end_ms < start_ms:
            raise HistoryError(f"empty range: end {end_ms} is before start {start_ms}")
        spec = schema.KINDS[self.subject(subject).kind]
        if not self.has_rollups:
            width = choose_bucket(start_ms, end_ms, max_points)
            return SeriesPlan("tick", width, spec.raw_table)
        min_ms = SECOND_MS
        if not self._raw_covers(spec, start_ms):
            min_ms = schema.MINUTE_MS
        width = choose_bucket(start_ms, end_ms, max_points, min_ms=min_ms)
        if width % schema.HOUR_MS == 0:
            return SeriesPlan("1h", width, spec.rollup_table("1h"))
        if width % schema.MINUTE_MS == 0:
            return SeriesPlan("1m", width, spec.rollup_table("1m"))
        return SeriesPlan("tick", width, spec.raw_table)

    def _raw_covers(self, spec: schema.KindSpec, start_ms: int) -> bool:
        """Has the one-second detail from ``start_ms`` on (or since recording began)?"""
        raw_first = self._conn.execute(f"SELECT min(ts_ms) FROM {spec.raw_table}").fetchone()[0]
        if raw_first is None:
            return False
        m_first = self._conn.execute(
            f"SELECT min(bucket_ms) FROM {spec.rollup_table('1m')}"
        ).fetchone()[0]
        began = raw_first if m_first is None else min(raw_first, m_first)
        return bool(raw_first <= max(start_ms, began + schema.MINUTE_MS))

    def _series_sql(self, spec: schema.KindSpec, source: str) -> tuple[str, list[Any]]:
        """SQL (params: width, width, lo, hi, sid, sid) and the output columns
        ``(series_key, kind_of_value, index)``."""
        cached = self._sql.get((spec.kind, source))
        if cached is not None:
            return cached
        raw = source == "tick"
        table = spec.raw_table if raw else spec.rollup_table(source)
        tcol = "ts_ms" if raw else "bucket_ms"
        agg_exprs: list[str] = []
        last_exprs: list[str] = []
        outputs: list[tuple[str, str, int]] = []
        for r in spec.rolled:
            for agg in r.aggs:
                key = r.name if agg == r.primary else f"{r.name}.{agg}"
                if agg == "last":
                    col = r.name if raw else f"{r.name}_last"
                    last_exprs.append(f"l.{col}")
                    outputs.append((key, "last", len(last_exprs) - 1))
                elif agg in ("min", "max"):
                    col = r.name if raw else f"{r.name}_{agg}"
                    agg_exprs.append(f"{agg}({col})")
                    outputs.append((key, "agg", len(agg_exprs) - 1))
                elif agg == "sum":
                    col = r.name if raw else f"{r.name}_sum"
                    agg_exprs.append(f"total({col})")
                    outputs.append((key, "agg", len(agg_exprs) - 1))
                else:  # avg
                    if raw:
                        agg_exprs.append(f"avg({r.name})")
                    else:
                        agg_exprs.append(f"sum({r.name}_sum) / nullif(sum({r.name}_cnt), 0)")
                    outputs.append((key, "agg", len(agg_exprs) - 1))
        n_expr = "count(*)" if raw else "sum(n)"
        inner = ", ".join(
            [f"({tcol} / ?) * ? AS t", f"max({tcol}) AS lt", f"{n_expr} AS n"]
            + [f"{e} AS a{i}" for i, e in enumerate(agg_exprs)]
        )
        outer = ", ".join(["g.t", "g.n"] + [f"g.a{i}" for i in range(len(agg_exprs))] + last_exprs)
        sql = (
            f"WITH g AS (SELECT {inner} FROM {table} "
            f"WHERE {tcol} >= ? AND {tcol} < ? AND sid = ? GROUP BY t) "
            f"SELECT {outer} FROM g JOIN {table} l ON l.{tcol} = g.lt AND l.sid = ? ORDER BY g.t"
        )
        # Result layout: t, n, a0..ak, last0..lastm
        n_agg = len(agg_exprs)
        cols = [(k, kind, (2 + i) if kind == "agg" else (2 + n_agg + i)) for k, kind, i in outputs]
        self._sql[(spec.kind, source)] = (sql, cols)
        return sql, cols

    def series(
        self,
        start_ms: int,
        end_ms: int,
        *,
        subject: str | None = None,
        max_points: int = 500,
    ) -> dict[str, list[Point]]:
        """Downsampled series of one subject (None: the portfolio) over the range.

        Keys (units in the names): portfolio ``value_usd`` (hedged) / ``unhedged_value_usd``,
        ``net_delta_usd``, ``session_change_usd``, ``pnl_usd``, ``funding_accrued_usd``;
        holding ``price_usd``, ``value_usd``, ``unhedged_value_usd``, ``net_delta_coin``,
        ``net_delta_usd``, ``hedge_ratio``, ``target_ratio``; hedge ``mark_usd``,
        ``pnl_coin``, ``pnl_usd``, ``basis_pct``, ``funding_rate``, ``funding_accrued_coin``,
        ``liq_distance_pct`` (minimum in the bucket), ``equity_coin``, ``size_usd``,
        ``margin_coin``; every kind has ``stale`` (count of stale samples) and ``n``.
        """
        plan = self.plan(start_ms, end_ms, subject=subject, max_points=max_points)
        sub = self.subject(subject)
        spec = schema.KINDS[sub.kind]
        sql, cols = self._series_sql(spec, plan.source)
        out: dict[str, list[Point]] = {k: [] for k, _kind, _i in cols}
        out["n"] = []
        sid = self._sid(sub)
        if sid is None:
            return out
        w = plan.bucket_ms
        lo = start_ms - start_ms % w
        hi = end_ms - end_ms % w + w
        try:
            rows = self._conn.execute(sql, (w, w, lo, hi, sid, sid)).fetchall()
        except sqlite3.OperationalError as exc:
            raise HistoryError(f"{self.path}: cannot read history ({exc})") from exc
        for r in rows:
            t = int(r[0])
            out["n"].append((t, float(r[1])))
            for key, _kind, i in cols:
                v = r[i]
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
        for r in c.execute(
            f"SELECT {', '.join(FILL_COLS)} FROM fills WHERE ts_ms BETWEEN ? AND ?", rng
        ):
            f = fill_from_row(r)
            if ids is None or f.hedge_id in ids:
                out.append(HistoryEvent(f.ts_ms, "fill", f.hedge_id, _fill_text(f, coin_of), f))
        for r in c.execute(
            f"SELECT {', '.join(FUNDING_COLS)} FROM funding WHERE ts_ms BETWEEN ? AND ?", rng
        ):
            e = funding_from_row(r)
            if ids is None or e.hedge_id in ids:
                text = _funding_text(e, coin_of)
                out.append(HistoryEvent(e.ts_ms, "funding", e.hedge_id, text, e))
        for r in c.execute(
            f"SELECT {', '.join(ALERT_COLS)} FROM alerts WHERE ts_ms BETWEEN ? AND ?", rng
        ):
            a = alert_from_row(r)
            if (
                ids is None
                or a.subject in ids
                or a.subject in tags
                or any(a.key.endswith(":" + t) or f":{t}:" in a.key for t in tags)
            ):
                text = f"alert {a.state}: {a.message}"
                out.append(HistoryEvent(a.ts_ms, "alert", a.subject, text, a))
        out.sort(key=lambda e: (e.ts_ms, e.kind))
        return out


def _coin(symbol: str, hedge_id: str, coin_of: dict[str, str | None]) -> str:
    coin = coin_of.get(hedge_id)
    if coin:
        return coin
    for sep in ("-", "USD"):
        head = symbol.split(sep, maxsplit=1)[0]
        if head and head != symbol:
            return head
    return "coin"


def _fill_text(f: Fill, coin_of: dict[str, str | None]) -> str:
    coin = _coin(f.symbol, f.hedge_id, coin_of)
    text = (
        f"{f.side} {f.contracts} contracts {f.venue} {f.symbol} ({f.size_usd:,.0f} USD) "
        f"at {f.price:,.2f} USD, fee {f.fee_coin:.8f} {coin}"
    )
    if f.realized_pnl_coin:
        text += f", realised {f.realized_pnl_coin:+.8f} {coin}"
    return text + f", now {f.contracts_after} contracts"


def _funding_text(e: FundingEvent, coin_of: dict[str, str | None]) -> str:
    coin = _coin(e.symbol, e.hedge_id, coin_of)
    verb = "received" if e.amount_coin >= 0 else "paid"
    return (
        f"funding {verb} {abs(e.amount_coin):.8f} {coin} ({e.venue} {e.symbol}, "
        f"rate {e.rate * 100:+.4f} %, {e.size_usd:,.0f} USD at {e.mark:,.2f} USD)"
    )


def open_history(db_path: str | Path) -> History:
    """Open a history file read-only; ``HistoryError`` names the path and the problem."""
    path = Path(db_path).expanduser()
    if not path.is_file():
        raise HistoryError(f"no history database at {path}")
    base = f"file:{quote(str(path.resolve()))}"
    last: Exception | None = None
    for params in ("mode=ro", "mode=ro&immutable=1"):
        try:
            conn = sqlite3.connect(f"{base}?{params}", uri=True)
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
