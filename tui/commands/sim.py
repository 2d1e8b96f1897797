"""``hedgetop sim``: run the built-in exchange on loopback and print the ws:// URLs it serves."""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sim",
        help="run the built-in exchange simulator on loopback",
        description=(
            "Serve simulated Bybit v5 (inverse + spot tickers) and Binance COIN-M/spot market "
            "streams on 127.0.0.1, with a seeded market and optional faults. With --port P the "
            "servers listen on P (Bybit), P+1 (Binance COIN-M) and P+2 (Binance spot)."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", default="0", help="first port; 0 = ephemeral ports (default)")
    p.add_argument("--seed", default="1", help="random seed of the market (default 1)")
    p.add_argument("--speed", default="1", help="simulated seconds per wall second (default 1)")
    p.add_argument(
        "--symbols",
        default=None,
        help="comma list of coins (default BTC,ETH,SOL,ADA,XRP,DOT)",
    )
    p.add_argument(
        "--interval-ms",
        default="100",
        help="wall milliseconds between two updates of each instrument (default 100)",
    )
    p.add_argument(
        "--chaos",
        default="",
        help="faults: drop=N, stall=N[:D], garbage=P, reorder[=P], refuse=SYMBOL (comma list)",
    )
    p.set_defaults(func=run)


def _number(flag: str, text: str, *, kind: type, low: float, high: float | None = None) -> Any:
    from tui.cli import UsageError

    try:
        value = kind(text)
    except ValueError:
        raise UsageError(f"{flag}: expected {kind.__name__}, got {text!r}") from None
    if (
        (isinstance(value, float) and not math.isfinite(value))
        or value < low
        or (high is not None and value > high)
    ):
        bound = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
        raise UsageError(f"{flag}: must be {bound}, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    import asyncio  # here, not at module level: `hedgetop calc` need not load it

    from tui.cli import UsageError

    port = _number("--port", args.port, kind=int, low=0, high=65533)
    seed = _number("--seed", args.seed, kind=int, low=-(2**63))
    speed = _number("--speed", args.speed, kind=float, low=1e-6, high=1e6)
    interval = _number("--interval-ms", args.interval_ms, kind=float, low=0.1, high=60_000)
    from core.sim import ChaosSpecError, SimExchange, UnknownCoinError, parse_chaos
    from core.sim.model import DEFAULT_COINS

    try:
        chaos = parse_chaos(args.chaos)
    except ChaosSpecError as exc:
        raise UsageError(f"--chaos: {exc}") from None
    coins = DEFAULT_COINS
    if args.symbols is not None:
        coins = tuple(s.strip().upper() for s in args.symbols.split(",") if s.strip())
        if not coins:
            raise UsageError(f"--symbols: no coin in {args.symbols!r}")
    try:
        ex = SimExchange(
            seed=seed,
            speed=speed,
            coins=coins,
            chaos=chaos,
            host=args.host,
            port=port,
            interval_ms=interval,
        )
    except UnknownCoinError as exc:
        raise UsageError(f"--symbols: {exc}") from None
    return asyncio.run(_serve(ex))


async def _serve(ex: Any) -> int:
    import asyncio  # here, not at module level: `hedgetop calc` need not load it

    from tui.cli import UsageError

    try:
        urls = await ex.start()
    except OSError as exc:
        raise UsageError(f"--host/--port: cannot listen on {ex.host}:{ex.port}: {exc}") from None
    print(
        f"hedgetop sim: seed {ex.seed}, speed {ex.speed:g}x, coins {','.join(ex.coins)}, "
        f"chaos {ex.chaos.describe()}",
        flush=True,
    )
    for (venue, socket), url in urls.items():
        print(f"{venue:8} {socket:8} {url}", flush=True)
    first = ex.coins[0]
    print(
        f"try: hedgetop feed --venue bybit --url {urls[('bybit', 'inverse')]} --symbols {first}USD",
        flush=True,
    )
    print("Ctrl-C to stop.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await ex.stop()
    s = ex.stats
    print(
        f"hedgetop sim: stopped; {s.connections} connections, {s.frames} data frames, "
        f"{s.garbage} garbage, {s.drops} drops, {s.refused} refused",
        file=sys.stderr,
        flush=True,
    )
    return 0
