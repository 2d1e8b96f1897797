"""Output shared by ``hedgetop feed`` and ``hedgetop replay``: one line per quote (human or
JSON) and the closing summary. Kept free of Textual and ccxt so both commands start fast."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from collections.abc import Callable, Mapping
from typing import TextIO

from core.events import Quote

SUMMARY_KEYS = (
    "messages",
    "quotes",
    "parse_errors",
    "ignored",
    "reconnects",
    "stale_periods",
    "rejected",
    "out_of_order",
    "duplicates",
    "oversize",
    "resubscribes",
    "sub_errors",
)


def _finite(x: float | None) -> float | None:
    """A number JSON can hold: NaN and ±inf are not JSON, they become null (the feed's gate
    already refuses them; this is the last line of defence)."""
    return x if x is None or math.isfinite(x) else None


def price_unit(symbol: str) -> str:
    """The currency a symbol's prices are quoted in: spot pairs in their stablecoin, the
    inverse contracts in USD."""
    s = symbol.upper().replace("-", "").replace("_", "")
    for stable in ("USDT", "USDC", "BUSD"):
        if s.endswith(stable):
            return stable
    return "USD"


def _utc(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _hours(ms: int) -> str:
    hours = ms / 3_600_000
    return f"{hours:g}h"


def format_quote(q: Quote) -> str:
    """One readable line; every number carries its unit."""
    unit = price_unit(q.symbol)
    parts = [f"{q.venue:<8} {q.symbol:<16} {q.kind.value:<12}"]
    for name, value in (  # a non-finite value (refused at the door) would read "—"
        ("mark", q.mark),
        ("index", q.index),
        ("last", q.last),
        ("bid", q.bid),
        ("ask", q.ask),
    ):
        if value is not None:
            shown = f"{value:.10g}" if math.isfinite(value) else "—"
            parts.append(f"{name} {shown} {unit}")
    if q.funding_rate is not None:
        per = f"/{_hours(q.funding_interval_ms)}" if q.funding_interval_ms else ""
        parts.append(f"funding {q.funding_rate * 100:.4f} %{per}")
    if q.next_funding_ms is not None:
        parts.append(f"next funding {_utc(q.next_funding_ms)}")
    if q.exchange_ms is not None:
        parts.append(f"at {_utc(q.exchange_ms)}")
    return "  ".join(parts)


def quote_json(q: Quote) -> str:
    """The ``--json`` line: exactly the keys venue, symbol, kind, mark, index, last, bid,
    ask, funding_rate, next_funding_ms, funding_interval_ms, exchange_ms, received_ms."""
    return json.dumps(
        {
            "venue": q.venue,
            "symbol": q.symbol,
            "kind": q.kind.value,
            "mark": _finite(q.mark),
            "index": _finite(q.index),
            "last": _finite(q.last),
            "bid": _finite(q.bid),
            "ask": _finite(q.ask),
            "funding_rate": _finite(q.funding_rate),
            "next_funding_ms": q.next_funding_ms,
            "funding_interval_ms": q.funding_interval_ms,
            "exchange_ms": q.exchange_ms,
            "received_ms": q.received_ms,
        },
        separators=(",", ":"),
        allow_nan=False,
    )


def quote_printer(
    as_json: bool,
    out: TextIO | None = None,
    on_closed: Callable[[], None] | None = None,
    *,
    flush: bool = False,
) -> Callable[[Quote], None]:
    """Print each quote (``flush``: line by line, for a live feed read through a pipe); when
    the reader goes away (``| head``), call ``on_closed`` once and print nothing more (without
    it, BrokenPipeError propagates)."""
    stream = out if out is not None else sys.stdout
    fmt = quote_json if as_json else format_quote
    closed = False

    def show(q: Quote) -> None:
        nonlocal closed
        if closed:
            return
        try:
            stream.write(fmt(q) + "\n")
            if flush:
                stream.flush()
        except BrokenPipeError:
            if on_closed is None:
                raise
            closed = True
            on_closed()

    return show


def silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush does
    not complain."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def summary_json(counts: Mapping[str, int]) -> str:
    return json.dumps({"summary": {k: int(counts[k]) for k in SUMMARY_KEYS}})


def summary_text(title: str, counts: Mapping[str, int], extra: list[str] | None = None) -> str:
    body = ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in SUMMARY_KEYS)
    lines = [f"{title}: {body}"]
    lines.extend(f"  {line}" for line in extra or ())
    return "\n".join(lines)
