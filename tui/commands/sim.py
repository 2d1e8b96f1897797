"""``hedgetop sim``: run the built-in exchange on loopback and print what it serves, one line per
endpoint as ``<venue> <what> <url>`` (scripts read them), then the account's key."""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
from typing import Any

CHAOS_HELP = """\
faults (--chaos, a comma list such as drop=2,stall=5:3,garbage=0.01):
  drop=N          every N seconds close every open websocket (alternately a TCP abort
                  and a clean close frame 1001): clients must reconnect
  stall=N         after N seconds keep connections open but send nothing at all (no
                  data, no replies, no heartbeats) for good: a silent exchange
  stall=N:D       the same stall for D seconds only, then data resumes (e.g. stall=5:3:
                  silent from 5 s to 8 s after start); N and D are wall seconds
  garbage=P       replace each data frame, with probability P, by a malformed one
  reorder[=P]     repeat or swap data frames now and then (P, default 0.05)
  refuse=SYMBOL   refuse subscriptions of a coin (BTC) or a venue symbol (BTCUSD,
                  BTC-USD-SWAP); repeat it or join with + (refuse=BTC+ETH)
REST (Bybit and Binance hosts):
  http500=P       answer a request with HTTP 500, doing nothing, with probability P
  slow=MS         answer every request MS milliseconds late
  ratelimit[=P]   answer with the venue's rate-limit reply (P, default 0.1)
  drop-response=P do the request, then drop the connection before the reply
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sim",
        help="run the built-in exchange simulator on loopback",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Serve a simulated Bybit v5, Binance COIN-M/spot, OKX v5 and Deribit on 127.0.0.1:\n"
            "market streams of all four (perpetuals, two quarterly futures per coin, spot),\n"
            "REST and private streams of one account on Bybit and Binance, with a seeded\n"
            "market and optional faults. With --port P the servers listen on P (Bybit\n"
            "streams), P+1 (Binance COIN-M streams and user data stream), P+2 (Binance spot\n"
            "streams), P+3 (Bybit REST), P+4 (Binance dapi REST), P+5 (Binance spot REST),\n"
            "P+6 (OKX public websocket and instruments REST) and P+7 (Deribit JSON-RPC over\n"
            "websocket and HTTP)."
        ),
        epilog=CHAOS_HELP,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", default="0", help="first of eight ports; 0 = ephemeral (default)")
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
        help=(
            "faults (comma list, explained below): drop=N, stall=N[:D], garbage=P, reorder[=P], "
            "refuse=SYMBOL; REST: http500=P, slow=MS, ratelimit[=P], drop-response=P"
        ),
    )
    p.add_argument("--api-key", default="demo", help="the account's API key (default demo)")
    p.add_argument(
        "--api-secret", default="demo-secret", help="the account's API secret (default demo-secret)"
    )
    p.add_argument(
        "--account",
        default=None,
        metavar="FILE",
        help=(
            "seed the account from FILE's [[holdings]] and [[hedges]] (the config's shape; "
            "default: the demo portfolio)"
        ),
    )
    p.set_defaults(func=run)


def _number(flag: str, text: str, *, kind: type, low: float, high: float | None = None) -> Any:
    from tui.usage import UsageError

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

    from tui.usage import UsageError

    port = _number("--port", args.port, kind=int, low=0, high=65528)
    seed = _number("--seed", args.seed, kind=int, low=-(2**63))
    speed = _number("--speed", args.speed, kind=float, low=1e-6, high=1e6)
    interval = _number("--interval-ms", args.interval_ms, kind=float, low=0.1, high=60_000)
    from core.sim import ChaosSpecError, SimExchange, UnknownCoinError, parse_chaos
    from core.sim.model import DEFAULT_COINS

    try:
        chaos = parse_chaos(args.chaos)
    except ChaosSpecError as exc:
        raise UsageError(f"--chaos: {exc}") from None
    from core.session.sim_accounts import seed_from_config
    from core.sim.model import COIN_TABLE

    if not args.api_key.strip() or not args.api_secret.strip():
        raise UsageError("--api-key/--api-secret: must not be empty")
    config = _account_config(args.account)
    accounts = seed_from_config(config, api_key=args.api_key, api_secret=args.api_secret)
    coins: tuple[str, ...] = DEFAULT_COINS
    if args.symbols is not None:
        coins = tuple(s.strip().upper() for s in args.symbols.split(",") if s.strip())
        if not coins:
            raise UsageError(f"--symbols: no coin in {args.symbols!r}")
    needed = [
        c for v in accounts.venues.values() for c in (*v.futures, *(p.coin for p in v.positions))
    ]
    unknown = sorted({c for c in needed if c not in COIN_TABLE})
    if unknown:
        raise UsageError(
            f"--account: the simulator has no market for {', '.join(unknown)} "
            f"(known: {', '.join(COIN_TABLE)})"
        )
    if args.symbols is None:
        coins = tuple(dict.fromkeys((*coins, *needed)))
    elif args.account is not None:
        missing = sorted(set(needed) - set(coins))
        if missing:
            raise UsageError(f"--symbols: the account in --account needs {', '.join(missing)}")
    else:
        accounts = _only(accounts, coins)  # the demo, cut to the coins served
    try:
        ex = SimExchange(
            seed=seed,
            speed=speed,
            coins=coins,
            chaos=chaos,
            host=args.host,
            port=port,
            interval_ms=interval,
            accounts=accounts,
        )
    except UnknownCoinError as exc:
        raise UsageError(f"--symbols: {exc}") from None
    except ValueError as exc:
        raise UsageError(f"--account: {exc}") from None
    return asyncio.run(_serve(ex))


def _only(accounts: Any, coins: tuple[str, ...]) -> Any:
    """``accounts`` without the wallets and positions of coins the simulator does not serve."""
    import dataclasses

    venues = {
        name: dataclasses.replace(
            v,
            spot={c: a for c, a in v.spot.items() if c in coins},
            futures={c: a for c, a in v.futures.items() if c in coins},
            positions=tuple(p for p in v.positions if p.coin in coins),
        )
        for name, v in accounts.venues.items()
    }
    return dataclasses.replace(accounts, venues=venues)


def _account_config(path: str | None) -> Any:
    """The portfolio that seeds the account: FILE (the config loader's checks and errors), or
    the demo."""
    from core.config import ConfigError, load_config
    from core.demo import demo_config
    from tui.usage import UsageError

    if path is None:
        return demo_config()
    try:
        return load_config(path)
    except ConfigError as exc:
        raise UsageError(f"--account: {exc}") from None


async def _serve(ex: Any) -> int:
    import asyncio  # here, not at module level: `hedgetop calc` need not load it

    from tui.usage import UsageError

    try:
        urls = await ex.start()
    except OSError as exc:
        raise UsageError(f"--host/--port: cannot listen on {ex.host}:{ex.port}: {exc}") from None
    print(
        f"hedgetop sim: seed {ex.seed}, speed {ex.speed:g}x, coins {','.join(ex.coins)}, "
        f"chaos {ex.chaos.describe()}",
        flush=True,
    )
    for venue, what, url in ex.endpoints:
        print(f"{venue:8} {what:11} {url}", flush=True)
    seed = ex.seed_accounts
    # The simulator is local and fake: its default secret is printed; one given is not.
    secret = seed.api_secret if seed.api_secret == "demo-secret" else "(as given)"
    print(f"account  api-key     {seed.api_key}  secret {secret}", flush=True)
    first = ex.coins[0]
    print(
        f"try: hedgetop feed --venue bybit --url {urls[('bybit', 'inverse')]} --symbols {first}USD",
        flush=True,
    )
    print(
        f"     hedgetop feed --venue okx --url {urls[('okx', 'inverse')]} "
        f"--symbols {first}-USD-SWAP",
        flush=True,
    )
    if ("deribit", "inverse") in urls and "BTC" in ex.coins:
        print(
            f"     hedgetop feed --venue deribit --url {urls[('deribit', 'inverse')]} "
            "--symbols BTC-PERPETUAL",
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
        f"{s.garbage} garbage, {s.drops} drops, {s.refused} refused; {s.requests} REST "
        f"requests, {s.private_frames} private pushes, {s.liquidations} liquidations",
        file=sys.stderr,
        flush=True,
    )
    return 0
