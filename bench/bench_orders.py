"""Order round trip: ``CcxtLiveBroker.place`` of one market order against the simulator on
loopback, through the unchanged ccxt, from the call to the filled ``OrderResult``.

What one round trip is: the guards, ``create_order`` (Bybit answers with the ids only,
Binance COIN-M with an ACK), then ``fetch_order`` until the venue says the order is closed
(one fetch: a market order fills at once on the simulated book), and the result. The broker
keeps one ccxt client per venue, so markets are loaded once, before the timed orders (the
warm-up). The orders alternate a sell of the hedge and a reduce-only buy back, so the
position stays small. The simulator runs in its own process (its own event loop, as
``hedgetop sim`` does) with its venues' rate limits off; the broker's rate limit
(``min_order_interval_s``) is 0 and ccxt's own throttle is off on loopback, as the account
reader sets it. Times are wall clock per awaited ``place``.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import statistics
import time
from multiprocessing.connection import Connection
from typing import Any

ORDERS = 30
WARMUP = 2
#: venue -> (venue symbol, contracts per order)
VENUES = {"bybit": ("XRPUSD", 100), "binance": ("ADAUSD_PERP", 10)}


def _sim_child(conn: Connection) -> None:
    asyncio.run(_sim(conn))


async def _sim(conn: Connection) -> None:
    from core.sim import SimExchange
    from core.sim.seed import AccountSeed, VenueSeed

    seed = AccountSeed(
        venues={
            "bybit": VenueSeed(futures={"XRP": 100_000.0}),
            "binance": VenueSeed(futures={"ADA": 1_000_000.0}),
        }
    )
    ex = SimExchange(coins=("XRP", "ADA"), accounts=seed, autostep=False, rate_limits=False)
    await ex.start()
    marks = {v: ex.price(c) for v, c in (("bybit", "XRP"), ("binance", "ADA"))}
    conn.send((list(ex.endpoints), seed.api_key, seed.api_secret, ex.now_ms(), marks))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # until the parent says stop
    await ex.stop()


def _pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def _plan(venue: str, sell: bool, held: int, mark: float) -> Any:
    from core.events import OrderSide
    from core.instruments import lookup, size_usd_from_contracts
    from core.resize import ResizePlan

    symbol, n = VENUES[venue]
    spec = lookup(venue, symbol)
    return ResizePlan(
        hedge_id=f"bench-{venue}",
        venue=venue,
        symbol=symbol,
        created_ms=0,
        side=OrderSide.SELL if sell else OrderSide.BUY,
        contracts=n,
        size_usd=size_usd_from_contracts(spec, n),
        mark=mark,
        expected_price=mark,
        fee_coin=None,
        coin=spec.coin,
        contracts_before=held,
        contracts_after=held + n if sell else held - n,
        ratio_before=None,
        ratio_after=None,
        target_ratio=None,
        net_delta_after_coin=None,
        net_delta_after_usd=None,
        liq_price_after=None,
        hedge_after=None,
        holding_after=None,
    )


async def _measure(
    endpoints: list[tuple[str, str, str]],
    key: str,
    secret: str,
    now: int,
    marks: dict[str, float],
) -> list[str]:
    import ccxt.async_support as ccxt_async

    from core.accounts.reader import client_params
    from core.brokers.ccxt_live import CcxtLiveBroker
    from core.config import BrokerConfig
    from tui.commands.account import simulator_accounts

    urls = {(v, w): u for v, w, u in endpoints}
    accounts, environ = simulator_accounts(urls, key, secret)
    by_id = {"bybit": "bybit", "binancecoinm": "binance"}
    account_of = {a.venue.value: a for a in accounts}

    def factory(ccxt_id: str, params: dict[str, Any]) -> Any:
        creds = {k: params[k] for k in ("apiKey", "secret")}
        return getattr(ccxt_async, ccxt_id)(client_params(account_of[by_id[ccxt_id]], creds))

    broker = CcxtLiveBroker(
        BrokerConfig(kind="ccxt", trading_enabled=True, min_order_interval_s=0.0),
        environ=environ,
        exchange_factory=factory,
    )
    out = []
    try:
        for venue in VENUES:
            held = 0
            times: list[float] = []
            for i in range(WARMUP + ORDERS):
                plan = _plan(venue, i % 2 == 0, held, marks[venue])
                t0 = time.perf_counter()
                result = await broker.place(plan, confirmed=True, now_ms=now)
                dt = (time.perf_counter() - t0) * 1000
                if result.status != "filled":
                    raise RuntimeError(f"bench order not filled: {result.message}")
                held = plan.contracts_after
                if i >= WARMUP:
                    times.append(dt)
            out.append(
                f"{venue + ' market order, place -> filled':40} p50 "
                f"{statistics.median(times):6.1f} ms   p99 {_pct(times, 99):6.1f} ms   "
                f"max {max(times):6.1f} ms  (n={ORDERS})"
            )
    finally:
        await broker.close()
    return out


def main() -> None:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_sim_child, args=(child,), daemon=True)
    proc.start()
    try:
        endpoints, key, secret, now, marks = parent.recv()
        for line in asyncio.run(_measure(endpoints, key, secret, now, marks)):
            print(line, flush=True)
        print("goal: none set by the issue; one confirmed resize's round trip on loopback")
    finally:
        parent.send("stop")
        proc.join(10)
        if proc.is_alive():
            proc.kill()


if __name__ == "__main__":
    main()
