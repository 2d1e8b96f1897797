"""``hedgetop history``: print or export the logged snapshots and events of a range.

The database is ``--db``, else the config's ``database``, else the platform's user data dir;
it is opened read-only (fine while ``hedgetop record`` writes it, or on a copy from another
machine). ``--since 24h`` (the default) counts back from the last record, so a stopped
recorder or a copied file still shows its last day; ``--from``/``--to`` take ISO-8601 times
(UTC unless they carry an offset). By default a table per subject (portfolio, holdings,
hedges; or those named by ``--symbol``) with units on every figure, then the events;
``--csv`` / ``--json`` export instead (``--events`` makes the CSV the events). Bad ranges,
paths and names are one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from tui.event_text import event_text
from tui.widgets import format as numfmt

HELP = "print or export logged snapshots and events (CSV/JSON)"
UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("history", help=HELP, description=HELP)
    p.add_argument("--db", default=argparse.SUPPRESS, help="SQLite history database")
    p.add_argument("--config", default=argparse.SUPPRESS, help="portfolio config (TOML)")
    p.add_argument(
        "--since",
        metavar="SPAN",
        help="range back from the last record: 90s, 30m, 24h, 7d, 2w or 'all' (default 24h)",
    )
    p.add_argument("--from", dest="from_", metavar="ISO", help="range start, e.g. 2026-01-01T08:00")
    p.add_argument("--to", metavar="ISO", help="range end (default: the last record)")
    p.add_argument(
        "--symbol",
        action="append",
        metavar="NAME",
        help="a hedge id, coin, or venue symbol (BTCUSD, bybit:BTCUSD); repeatable; "
        "'portfolio' for the totals",
    )
    p.add_argument(
        "--points",
        type=int,
        metavar="N",
        help="at most N rows per subject (default 24 in the table, 10000 when exporting)",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="export CSV to stdout (or --out)")
    fmt.add_argument("--json", action="store_true", help="export one JSON document")
    p.add_argument("--events", action="store_true", help="with --csv: export the events")
    p.add_argument(
        "--review",
        action="store_true",
        help="what the hedge did over the range: variance and drawdown hedged vs unhedged, "
        "the cost decomposed (with --json: one JSON object)",
    )
    p.add_argument("--out", metavar="PATH", help="write the export to PATH instead of stdout")
    p.set_defaults(func=run)


def parse_since(text: str) -> int | None:
    """``24h`` -> milliseconds; ``all`` -> None. ValueError with the value otherwise."""
    if text.strip().lower() == "all":
        return None
    m = _SINCE.match(text)
    if not m:
        raise ValueError(
            f"--since: expected a span like 90s, 30m, 24h, 7d, 2w or all, got {text!r}"
        )
    ms = round(float(m.group(1)) * UNITS_MS[m.group(2).lower()])
    if ms <= 0:
        raise ValueError(f"--since: must be more than zero, got {text!r}")
    return ms


def parse_time(flag: str, text: str) -> int:
    """ISO-8601 date or date-time (naive = UTC, trailing Z allowed) -> epoch ms."""
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{flag}: expected an ISO-8601 time like 2026-01-01T08:00 or 2026-01-01, got {text!r}"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


def resolve_range(
    *,
    since: str | None,
    from_: str | None,
    to: str | None,
    bounds: tuple[int, int],
) -> tuple[int, int]:
    """The ``[start_ms, end_ms]`` the flags ask for; ValueError names the flag."""
    first, last = bounds
    if since is not None and (from_ is not None or to is not None):
        raise ValueError("--since cannot be combined with --from/--to")
    if from_ is None and to is None:
        span = parse_since(since if since is not None else "24h")
        return (first if span is None else max(first, last - span)), last
    end = parse_time("--to", to) if to is not None else last
    start = parse_time("--from", from_) if from_ is not None else end - UNITS_MS["d"]
    if start > end:
        raise ValueError(f"--from {from_} is after --to {to or _iso(end)}")
    return start, end


def _iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _span(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if ms >= size:
            value = ms / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{ms} ms"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _db_path(args: argparse.Namespace) -> Path:
    db = getattr(args, "db", None)
    if db:
        return Path(db).expanduser()
    from core.config import default_database_path, load_config

    cfg = load_config(getattr(args, "config", None))  # ConfigError handled by run()
    return (cfg.database if cfg is not None else None) or default_database_path()


# --- the table view ---------------------------------------------------------------------------

Fmt = Callable[[float], str]


def _money(v: float) -> str:
    return f"{v:,.2f}"


def _price(v: float) -> str:
    return numfmt.price(v)  # the dashboard's rule: one number format across screens


def _coin(v: float) -> str:
    return numfmt.num(v, 4 if abs(v) >= 1 else 6, sign=True)


def _pct(v: float) -> str:
    return f"{v:+.3f}"


def _ratio_pct(v: float) -> str:
    return f"{v * 100:.1f}"


def _rate_pct(v: float) -> str:
    return f"{v * 100:+.4f}"


def _count(v: float) -> str:
    return f"{v:.0f}"


def _columns(kind: str, coin: str) -> list[tuple[str, str, Fmt]]:
    if kind == "portfolio":
        return [
            ("value_usd", "value USD", _money),
            ("unhedged_value_usd", "unhedged USD", _money),
            ("session_change_usd", "session chg USD", _money),
            ("pnl_usd", "hedge PnL USD", _money),
            ("net_delta_usd", "net delta USD", _money),
            ("funding_accrued_usd", "funding USD", _money),
            ("stale", "stale n", _count),
        ]
    if kind == "holding":
        return [
            ("price_usd", "price USD", _price),
            ("value_usd", "value USD", _money),
            ("unhedged_value_usd", "unhedged USD", _money),
            ("net_delta_coin", f"net delta {coin}", _coin),
            ("net_delta_usd", "net delta USD", _money),
            ("hedge_ratio", "hedge %", _ratio_pct),
            ("target_ratio", "target %", _ratio_pct),
        ]
    return [
        ("mark_usd", "mark USD", _price),
        ("size_usd", "size USD", _money),
        ("pnl_coin", f"PnL {coin}", _coin),
        ("pnl_usd", "PnL USD", _money),
        ("basis_pct", "basis %", _pct),
        ("funding_rate", "funding %", _rate_pct),
        ("funding_accrued_coin", f"funded {coin}", _coin),
        ("liq_distance_pct", "liq dist %", _pct),
        ("stale", "stale n", _count),
    ]


def _render(headers: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [len(h) for h in headers]
    for r in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, r, strict=True)]
    out.write(
        "  ".join(
            h.rjust(w) if i else h.ljust(w)
            for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
        + "\n"
    )
    for r in rows:
        out.write(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
            + "\n"
        )


def print_table(
    hist: Any,
    start_ms: int,
    end_ms: int,
    *,
    subjects: Sequence[str | None],
    max_points: int,
    out: TextIO,
) -> None:
    out.write(
        f"history {hist.path}: {_iso(start_ms)} .. {_iso(end_ms)} ({_span(end_ms - start_ms)})\n"
    )
    for name in subjects:
        sub = hist.subject(name)
        plan = hist.plan(start_ms, end_ms, subject=name, max_points=max_points)
        data = hist.series(start_ms, end_ms, subject=name, max_points=max_points)
        coin = sub.coin or sub.key or "coin"
        what = {"portfolio": "portfolio", "holding": f"holding {sub.key}"}.get(
            sub.kind, f"hedge {sub.key} ({sub.venue} {sub.symbol}, settles in {coin})"
        )
        source = {
            "tick": "one-second rows",
            "1m": "minute rollup",
            "10m": "ten-minute rollup",
            "1h": "hour rollup",
        }
        out.write(
            f"\n{what}: {_plural(len(data['n']), 'row')}, {_span(plan.bucket_ms)} buckets "
            f"({source[plan.source]}; averages, last for prices and totals)\n"
        )
        if not data["n"]:
            out.write("  no snapshots in this range\n")
            continue
        cols = [(k, h, f) for k, h, f in _columns(sub.kind, coin) if k in data]
        rows = []
        for i, (t, _n) in enumerate(data["n"]):
            cells = [_iso(t)[:-4]]
            for k, _h, f in cols:
                v = data[k][i][1]
                cells.append("-" if v is None or not math.isfinite(v) else f(v))
            rows.append(cells)
        _render(["time (UTC)", *(h for _k, h, _f in cols)], rows, out)
    events = []
    seen: set[tuple[int, str, str]] = set()
    for name in subjects:
        for ev in hist.events(start_ms, end_ms, name):
            key = (ev.ts_ms, ev.kind, event_text(ev))
            if key not in seen:
                seen.add(key)
                events.append((ev, key[2]))
    events.sort(key=lambda e: e[0].ts_ms)
    out.write(f"\nevents: {len(events)}\n")
    for ev, text in events:
        out.write(f"{_iso(ev.ts_ms)[:-4]}  {ev.kind:<7}  {ev.subject:<14}  {text}\n")


def run(args: argparse.Namespace) -> int:
    import sqlite3

    from core.config import ConfigError
    from storage.export import write_csv, write_json
    from storage.history import HistoryError, open_history

    def fail(msg: str) -> int:
        print(f"hedgetop: {msg}", file=sys.stderr)
        return 2

    if args.review and args.csv:
        return fail("--review prints a summary: use it alone or with --json, not --csv")
    if args.events and not args.csv:
        return fail("--events goes with --csv (the JSON export always has the events)")
    if args.points is not None and args.points < 1:
        return fail(f"--points: must be at least 1, got {args.points}")
    try:
        db = _db_path(args)
    except ConfigError as exc:
        return fail(f"config error: {exc}")
    try:
        hist = open_history(db)
    except HistoryError as exc:
        return fail(f"--db: {exc}" if str(db) in str(exc) else f"--db {db}: {exc}")
    with hist:
        try:
            bounds = hist.bounds()
            if bounds is None:
                return fail(f"--db {db}: the database holds no history yet")
            start, end = resolve_range(
                since=args.since, from_=args.from_, to=args.to, bounds=bounds
            )
            if args.symbol:
                subjects: list[str | None] = []
                for s in args.symbol:
                    sub = hist.subject(s)
                    subjects.append(None if sub.kind == "portfolio" else f"{sub.kind}:{sub.key}")
            else:
                subjects = [None]
                subjects += [f"{s.kind}:{s.key}" for s in hist.subjects() if s.kind != "portfolio"]
            if args.review:
                return _review(args, hist, start, end)
            exporting = args.csv or args.json
            points = args.points or (10_000 if exporting else 24)
            out: TextIO
            if args.out:
                try:
                    out = open(args.out, "w", encoding="utf-8", newline="")  # noqa: SIM115
                except OSError as exc:
                    return fail(f"--out {args.out}: {exc.strerror or exc}")
            else:
                out = sys.stdout
            try:
                if args.csv:
                    write_csv(
                        hist,
                        out,
                        start,
                        end,
                        subjects=subjects,
                        max_points=points,
                        events=args.events,
                        describe=event_text,
                    )
                elif args.json:
                    write_json(
                        hist,
                        out,
                        start,
                        end,
                        subjects=subjects,
                        max_points=points,
                        describe=event_text,
                    )
                else:
                    print_table(hist, start, end, subjects=subjects, max_points=points, out=out)
            except BrokenPipeError:  # `hedgetop history | head`: the reader has had enough
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                return 0
            finally:
                if out is not sys.stdout:
                    out.close()
        except (HistoryError, ValueError) as exc:
            return fail(str(exc))
        except sqlite3.DatabaseError as exc:  # corrupted pages show up only when read
            return fail(f"--db {db}: database is damaged or unreadable ({exc}): restore a copy")
    return 0


def _review(args: argparse.Namespace, hist: Any, start: int, end: int) -> int:
    import json

    from storage.review_queries import hedge_review
    from tui.widgets.review_text import render_review, review_json

    sides: dict[str, str] = {}
    if getattr(args, "config", None):
        from core.config import load_config

        cfg = load_config(args.config)
        sides = {h.id: h.side for h in cfg.hedges} if cfg is not None else {}
    r = hedge_review(hist, start, end, sides=sides)
    if args.json:
        sys.stdout.write(json.dumps(review_json(r), allow_nan=False) + "\n")
    else:
        sys.stdout.write(render_review(r))
    return 0
