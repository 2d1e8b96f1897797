"""Account refresh: one ``core.accounts.reader.read_account`` of the demo Bybit and Binance
accounts against the simulator on loopback, through the unchanged ccxt, as ``hedgetop
account`` reads them.

A read opens its ccxt clients, loads the markets, asks for positions, both wallets, the
funding history and the own trades, and closes the clients (Binance: COIN-M and spot, two
clients). The simulator runs in its own process (its own event loop, as ``hedgetop sim``
does) with the demo portfolio's accounts and its venues' rate limits off (a few hundred reads
in a row would meet them); the client's rate limiter is off on loopback as the reader sets
it. Times are wall clock per awaited read; "both" is the two read concurrently, the refresh
``hedgetop account`` pays.

ccxt's async ``close()`` sleeps ``timeout_on_exit`` (250 ms) per client, for TLS sockets to
finish closing; the reader closes its clients one after the other, so a Binance read waits
500 ms of it. The "no close wait" lines set it to 0 (a factory of the bench's own) to show
the work itself.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import statistics
import time
from collections.abc import Callable, Coroutine
from multiprocessing.connection import Connection
from typing import Any

READS = 40
WARMUP = 3


def _sim_child(conn: Connection) -> None:
    asyncio.run(_sim(conn))


async def _sim(conn: Connection) -> None:
    from core.demo import demo_config
    from core.session.sim_accounts import seed_from_config
    from core.sim import SimExchange

    cfg = demo_config()
    seed = seed_from_config(cfg)
    ex = SimExchange(coins=cfg.coins(), accounts=seed, autostep=False, rate_limits=False)
    await ex.start()
    conn.send((list(ex.endpoints), seed.api_key, seed.api_secret, ex.now_ms()))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # until the parent says stop
    await ex.stop()


def _pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


async def _times(call: Callable[[], Coroutine[Any, Any, Any]]) -> list[float]:
    out = []
    for i in range(WARMUP + READS):
        t0 = time.perf_counter()
        await call()
        dt = (time.perf_counter() - t0) * 1000
        if i >= WARMUP:
            out.append(dt)
    return out


async def _measure(
    endpoints: list[tuple[str, str, str]], key: str, secret: str, now: int
) -> list[str]:
    from core.accounts.reader import default_factory, read_account
    from tui.commands.account import simulator_accounts

    urls = {(v, w): u for v, w, u in endpoints}
    accounts, environ = simulator_accounts(urls, key, secret)

    def no_wait(ccxt_id: str, params: dict[str, Any]) -> Any:
        client = default_factory(ccxt_id, params)
        client.timeout_on_exit = 0
        return client

    def one(i: int, factory: Any = None) -> Callable[[], Coroutine[Any, Any, Any]]:
        return lambda: read_account(
            accounts[i], now_ms=now, environ=environ, exchange_factory=factory
        )

    async def both() -> None:
        await asyncio.gather(*(read_account(a, now_ms=now, environ=environ) for a in accounts))

    out = []
    for label, call in (
        (f"{accounts[0].venue.value} read", one(0)),
        (f"{accounts[1].venue.value} read", one(1)),
        ("both, concurrently", both),
        (f"{accounts[0].venue.value}, no close wait", one(0, no_wait)),
        (f"{accounts[1].venue.value}, no close wait", one(1, no_wait)),
    ):
        times = await _times(call)
        out.append(
            f"{label:24} p50 {statistics.median(times):7.1f} ms   p99 {_pct(times, 99):7.1f} ms"
            f"   max {max(times):7.1f} ms  (n={READS})"
        )
    return out


def main() -> None:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_sim_child, args=(child,), daemon=True)
    proc.start()
    try:
        endpoints, key, secret, now = parent.recv()
        for line in asyncio.run(_measure(endpoints, key, secret, now)):
            print(line, flush=True)
        print("goal: none set by the issue; what one `hedgetop account` refresh costs")
    finally:
        parent.send("stop")
        proc.join(10)
        if proc.is_alive():
            proc.kill()


if __name__ == "__main__":
    main()
