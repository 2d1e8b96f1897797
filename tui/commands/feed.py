"""``hedgetop feed``: connect one venue's public socket and print normalised quotes.

    hedgetop feed --venue bybit --symbols BTCUSD,ETHUSD [--url URL] [--seconds N] [--json]

Symbols are venue-native (``BTCUSD``, ``BTCUSD_PERP``, ``BTC-USD-SWAP``, ``BTC-PERPETUAL``;
spot ``BTCUSDT`` / ``BTC-USDT``); a bare coin (``BTC``) means its inverse perpetual. The
socket (inverse or spot) follows the symbols, or ``--socket``. On exit (``--seconds`` elapsed
or Ctrl-C) a health summary is printed; with ``--json`` it is the last line,
``{"summary": {...}}``.
"""

from __future__ import annotations

import argparse
from typing import Any

VENUES = ("bybit", "binance", "okx", "deribit")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "feed",
        help="stream normalised quotes from one venue",
        description="Connect a venue's public websocket and print normalised quotes.",
    )
    p.add_argument("--venue", required=True, choices=VENUES)
    p.add_argument("--symbols", required=True, help="comma list, venue-native (BTCUSD,ETHUSD)")
    p.add_argument("--url", help="websocket URL (default: the venue's public socket)")
    p.add_argument("--socket", choices=("inverse", "spot"), help="default: from the symbols")
    p.add_argument("--seconds", type=float, help="stop after this many seconds")
    p.add_argument("--json", action="store_true", help="one JSON object per quote per line")
    p.add_argument("--stale-after", type=float, default=15.0, help="seconds without update = stale")
    p.set_defaults(func=run)


def _symbols(venue: str, socket: str | None, text: str) -> list[str]:
    """Venue-native symbols; a bare coin (``BTC``) means its inverse perpetual, or its USDT
    pair with ``--socket spot``."""
    from core.instruments import native_symbol

    out: list[str] = []
    for raw in text.split(","):
        s = raw.strip().upper()
        if not s:
            continue
        if s.isalpha() and len(s) <= 5:
            if socket == "spot":
                s = f"{s}-USDT" if venue == "okx" else f"{s}USDT"
            else:
                s = native_symbol(venue, s)
        out.append(s)
    return out


def run(args: argparse.Namespace) -> int:
    import math

    from tui.usage import UsageError

    if args.seconds is not None and not (math.isfinite(args.seconds) and args.seconds > 0):
        raise UsageError(f"--seconds must be a positive number, not {args.seconds:g}")
    if not (math.isfinite(args.stale_after) and args.stale_after > 0):
        raise UsageError(f"--stale-after must be a positive number, not {args.stale_after:g}")
    symbols = _symbols(args.venue, args.socket, args.symbols)
    if not symbols:
        raise UsageError(f"--symbols names no symbol: {args.symbols!r}")
    if args.url is not None and not args.url.startswith(("ws://", "wss://")):
        raise UsageError(f"--url must be a ws:// or wss:// URL, not {args.url!r}")

    import asyncio

    from core.feeds import DEFAULT_URLS, guess_socket, make_adapter

    socket = args.socket or guess_socket(args.venue, symbols, args.url)
    if (args.venue, socket) not in DEFAULT_URLS:
        raise UsageError(f"--venue {args.venue} has no {socket} feed (symbols {args.symbols})")
    url = args.url or DEFAULT_URLS[(args.venue, socket)]
    adapter = make_adapter(args.venue, socket)
    try:
        return asyncio.run(_main(args, adapter, url, symbols))
    except ValueError as exc:  # a URL that can never connect
        raise UsageError(str(exc)) from None


async def _main(args: argparse.Namespace, adapter: Any, url: str, symbols: list[str]) -> int:
    import asyncio
    import contextlib
    import logging
    import signal

    from core.clock import wall_ms
    from core.feeds.runner import FeedRunner
    from tui.commands._feedout import (
        quote_printer,
        silence_stdout,
        summary_json,
        summary_text,
    )

    # Connection events (connected, reconnecting and why, stale/fresh) go to stderr, so that
    # stdout stays one quote per line.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("hedgetop feed: %(message)s"))
    feed_log = logging.getLogger("hedgetop.feeds")
    feed_log.addHandler(handler)
    feed_log.setLevel(logging.INFO)

    reader_gone = False

    def closed() -> None:
        nonlocal reader_gone
        reader_gone = True
        runner.stop()

    show = quote_printer(args.json, on_closed=closed, flush=True)
    runner = FeedRunner(
        adapter,
        url,
        symbols,
        show,
        stale_after_ms=int(args.stale_after * 1000),
        now_ms=wall_ms,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, runner.stop)
    timer = loop.call_later(args.seconds, runner.stop) if args.seconds else None
    try:
        await runner.run()
    finally:
        feed_log.removeHandler(handler)
        if timer is not None:
            timer.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    counts = runner.counters.as_dict()
    if reader_gone:  # stdout is closed (| head): nothing more to say there
        silence_stdout()
        return 0
    if args.json:
        print(summary_json(counts), flush=True)
    else:
        health = runner.health(wall_ms())
        extra = [f"stale now: {', '.join(health.stale_symbols) or 'none'}"]
        if health.last_message_ms is not None:
            age_s = (wall_ms() - health.last_message_ms) / 1000
            extra.append(f"last message {age_s:.1f} s ago")
        if runner.last_error:
            extra.append(f"last connection error: {runner.last_error}")
        if adapter.last_error:
            extra.append(f"venue said: {adapter.last_error}")
        title = f"{adapter.venue} {url}"
        print(summary_text(title, counts, extra), flush=True)
    return 0
