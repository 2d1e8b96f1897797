"""REST round trips through the unchanged ccxt against the simulator: ``fetch_positions`` and
``create_order`` (market, 1 contract, alternating sides) on Bybit v5 and Binance COIN-M.

The simulator runs in its own process (its own event loop, as ``hedgetop sim`` does), so a
round trip is ccxt's signing and parsing plus the loopback HTTP exchange plus the server's
work; the venues' own rate limits are off (Bybit allows 10 orders a second), the client's rate
limiter too. Times are wall clock per awaited call.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import statistics
import time
from multiprocessing.connection import Connection
from typing import Any

ROUNDS = 300
WARMUP = 20


def _sim_child(conn: Connection) -> None:
    asyncio.run(_sim(conn))


async def _sim(conn: Connection) -> None:
    from core.sim import SimExchange
    from core.sim.seed import AccountSeed, MarginMode, PositionSeed, PositionSide, VenueSeed

    def account(contracts: int) -> VenueSeed:
        # a 2x BTC short of 90,000 USD and 9.5 BTC free for the orders
        pos = PositionSeed(
            "BTC", PositionSide.SHORT, contracts, 90_000.0, 2.0, MarginMode.ISOLATED, 0.5
        )
        return VenueSeed(futures={"BTC": 10.0}, positions=(pos,))

    seed = AccountSeed(venues={"bybit": account(90_000), "binance": account(900)})
    ex = SimExchange(
        accounts=seed,
        coins=("BTC", "ETH", "SOL", "ADA", "XRP"),
        rate_limits=False,
    )
    await ex.start()
    conn.send(list(ex.endpoints))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # until the parent says stop
    await ex.stop()


def _pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


async def _measure(endpoints: list[tuple[str, str, str]]) -> list[str]:
    import ccxt.async_support as ccxt

    url = {(v, w): u for v, w, u in endpoints}
    b = url[("bybit", "rest")]
    n = url[("binance", "rest")]
    bybit = ccxt.bybit(
        {
            "apiKey": "demo",
            "secret": "demo-secret",
            "enableRateLimit": False,
            "urls": {"api": {"public": b, "private": b}},
            "has": {"fetchCurrencies": False},
            "options": {
                "fetchMarkets": {"types": ["inverse"]},
                "defaultSubType": "inverse",
                "enableUnifiedMargin": False,
                "enableUnifiedAccount": False,
            },
        }
    )
    binance = ccxt.binancecoinm(
        {
            "apiKey": "demo",
            "secret": "demo-secret",
            "enableRateLimit": False,
            "urls": {
                "api": {
                    "dapiPublic": n + "/dapi/v1",
                    "dapiPrivate": n + "/dapi/v1",
                    "dapiPrivateV2": n + "/dapi/v2",
                }
            },
            "has": {"fetchCurrencies": False},
            "options": {"fetchMargins": False},
        }
    )
    out: list[str] = []
    try:
        for name, c, sym, qty in (
            ("bybit", bybit, "BTC/USD:BTC", 100),
            ("binance", binance, "BTC/USD:BTC", 1),
        ):
            await c.load_markets()
            for label, call in (
                ("fetch_positions", lambda c=c, sym=sym: c.fetch_positions([sym])),
                (
                    "create_order",
                    lambda c=c, sym=sym, qty=qty, k=[0]: _order(c, sym, qty, k),
                ),
            ):
                times = []
                for i in range(WARMUP + ROUNDS):
                    t0 = time.perf_counter()
                    await call()
                    dt = (time.perf_counter() - t0) * 1000
                    if i >= WARMUP:
                        times.append(dt)
                out.append(
                    f"{name:8} {label:16} p50 {statistics.median(times):6.2f} ms   "
                    f"p99 {_pct(times, 99):6.2f} ms   max {max(times):6.2f} ms  (n={ROUNDS})"
                )
    finally:
        await bybit.close()
        await binance.close()
    return out


async def _order(c: Any, sym: str, qty: int, k: list[int]) -> Any:
    k[0] += 1
    return await c.create_order(sym, "market", "buy" if k[0] % 2 else "sell", qty)


def main() -> None:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_sim_child, args=(child,), daemon=True)
    proc.start()
    try:
        endpoints = parent.recv()
        for line in asyncio.run(_measure(endpoints)):
            print(line, flush=True)
        print("goal: none set by the issue; the round trip a session's account reader pays")
    finally:
        parent.send("stop")
        proc.join(10)
        if proc.is_alive():
            proc.kill()


if __name__ == "__main__":
    main()
