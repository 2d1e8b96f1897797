"""Loopback end to end: the simulator in one process, the feed runner in this one.

1. Latency: the simulator pushes Bybit inverse tickers for 10 coins every 10 ms (1,000
   messages/s); each frame's send instant (CLOCK_MONOTONIC, taken just before the write) is
   matched by (symbol, ts) with the instant the runner hands the normalised quote to its
   consumer. Goal: p99 ≤ 2 ms.
2. Throughput: a sender process writes simulator frames (Bybit inverse deltas, pre-encoded)
   as fast as the socket takes them; the runner here decodes and normalises them. Goal:
   50,000 messages/s without the UI.

Two processes on a 2-core machine: one core each.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import statistics
import time
from multiprocessing.connection import Connection
from typing import Any

LAT_COINS = ("BTC", "ETH", "SOL", "ADA", "XRP", "DOT", "LINK", "LTC", "DOGE", "BNB")
LAT_INTERVAL_MS = 10.0
LAT_SECONDS = 6.0
WARMUP_S = 0.5
THRU_FRAMES = 200_000
CHUNK = 500  # frames per write


# -- child processes ---------------------------------------------------------------------------


def _latency_child(conn: Connection) -> None:
    asyncio.run(_latency_sim(conn))


async def _latency_sim(conn: Connection) -> None:
    from core.sim import SimExchange

    ex = SimExchange(seed=1, coins=LAT_COINS, interval_ms=LAT_INTERVAL_MS)
    sent: list[tuple[int, str]] = []
    clock = time.monotonic_ns
    ex.on_frame_sent = lambda frame: sent.append((clock(), frame))
    urls = await ex.start()
    conn.send(urls[("bybit", "inverse")])
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # "done"
    await ex.stop()
    out = []
    for t, frame in sent:
        msg = json.loads(frame)
        out.append((msg["data"]["symbol"], msg["ts"], t))
    conn.send((out, ex.stats.ticks))


def _ws_frame(text: str) -> bytes:
    """One unmasked text frame (RFC 6455 §5.2), as a server sends it."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 1 << 16:
        head = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return head + payload


def _cpu_child(conn: Connection) -> None:
    asyncio.run(_cpu_sim(conn))


async def _cpu_sim(conn: Connection) -> None:
    from core.sim import SimExchange

    ex = SimExchange(seed=1)  # the defaults a dashboard runs on: 6 coins, 100 ms
    urls = await ex.start()
    conn.send(urls)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # "go"
    c0, w0, f0 = time.process_time(), time.perf_counter(), ex.stats.frames
    await loop.run_in_executor(None, conn.recv)  # "stop"
    c1, w1, f1 = time.process_time(), time.perf_counter(), ex.stats.frames
    await ex.stop()
    conn.send(((c1 - c0) / (w1 - w0), (f1 - f0) / (w1 - w0)))


def sim_cpu(seconds: float = 4.0) -> None:
    """CPU the simulator needs at its defaults with a dashboard's four sockets connected."""
    from websockets.asyncio.client import connect

    from core.sim.model import DEFAULT_COINS

    async def clients(urls: dict[tuple[str, str], str], parent: Connection) -> None:
        bybit_perp = [f"tickers.{c}USD" for c in DEFAULT_COINS]
        bybit_spot = [f"tickers.{c}USDT" for c in DEFAULT_COINS]
        coinm = "/".join(
            f"{c.lower()}usd_perp@{k}"
            for c in DEFAULT_COINS
            for k in ("markPrice@1s", "bookTicker")
        )
        spot = "/".join(f"{c.lower()}usdt@bookTicker" for c in DEFAULT_COINS)
        async with (
            connect(urls[("bybit", "inverse")]) as a,
            connect(urls[("bybit", "spot")]) as b,
            connect(urls[("binance", "inverse")] + "?streams=" + coinm) as c,
            connect(urls[("binance", "spot")] + "?streams=" + spot) as d,
        ):
            await a.send(json.dumps({"op": "subscribe", "args": bybit_perp}))
            await b.send(json.dumps({"op": "subscribe", "args": bybit_spot}))

            async def drain(ws: Any) -> None:
                async for _ in ws:
                    pass

            tasks = [asyncio.create_task(drain(ws)) for ws in (a, b, c, d)]
            await asyncio.sleep(0.5)
            parent.send("go")
            await asyncio.sleep(seconds)
            parent.send("stop")
            for t in tasks:
                t.cancel()

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_cpu_child, args=(child,))
    proc.start()
    urls = parent.recv()
    asyncio.run(clients(urls, parent))
    cpu, fps = parent.recv()
    proc.join()
    print(
        f"simulator at its defaults (6 coins, 100 ms) feeding the 4 sockets of a dashboard: "
        f"{cpu * 100:.1f} % of a core, {fps:,.0f} frames/s"
    )


def _throughput_child(conn: Connection, n_frames: int) -> None:
    asyncio.run(_throughput_sender(conn, n_frames))


def _sim_frames(count: int) -> list[str]:
    """Distinct Bybit inverse delta frames made by the simulator's model and wire code."""
    from core.sim.model import MarketModel
    from core.sim.venues.bybit.public import delta as bybit_delta
    from core.sim.venues.bybit.public import inverse_message as bybit_inverse_message
    from core.sim.venues.bybit.public import inverse_symbol as bybit_inverse_symbol
    from core.sim.venues.bybit.public import inverse_ticker as bybit_inverse_ticker

    m = MarketModel(LAT_COINS, seed=1, start_ms=1_764_000_000_000)
    prev: dict[str, dict[str, str]] = {}
    frames: list[str] = []
    cs = 1
    while len(frames) < count:
        m.advance(100)
        for coin in LAT_COINS:
            cur = bybit_inverse_ticker(m.coin(coin).params, m.perp("bybit", coin), m.price(coin))
            sym = bybit_inverse_symbol(coin)
            delta = bybit_delta(prev[sym], cur) if sym in prev else None
            prev[sym] = cur
            if delta is None:
                continue
            cs += 1
            msg = bybit_inverse_message(f"tickers.{sym}", "delta", delta, cs, m.now_ms)
            frames.append(json.dumps(msg, separators=(",", ":")))
    return frames


async def _throughput_sender(conn: Connection, n_frames: int) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    from core.sim.model import MarketModel
    from core.sim.venues.bybit.public import inverse_message as bybit_inverse_message
    from core.sim.venues.bybit.public import inverse_symbol as bybit_inverse_symbol
    from core.sim.venues.bybit.public import inverse_ticker as bybit_inverse_ticker

    # every frame distinct: the runner drops an old or repeated Bybit cs, so a cycle of fewer
    # frames would measure the drop (20,000 quotes, then nothing until the 60 s timeout)
    frames = _sim_frames(n_frames)
    m = MarketModel(LAT_COINS, seed=1, start_ms=1_764_000_000_000)
    snapshots = [
        json.dumps(
            bybit_inverse_message(
                f"tickers.{bybit_inverse_symbol(c)}",
                "snapshot",
                bybit_inverse_ticker(m.coin(c).params, m.perp("bybit", c), m.price(c)),
                1,
                m.now_ms,
            )
        )
        for c in LAT_COINS
    ]
    blobs = [
        b"".join(_ws_frame(f) for f in frames[i : i + CHUNK])
        for i in range(0, len(frames) - CHUNK + 1, CHUNK)
    ]
    done = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()  # the subscription
        await ws.send(
            json.dumps(
                {"success": True, "ret_msg": "", "conn_id": "b", "req_id": "", "op": "subscribe"}
            )
        )
        for s in snapshots:
            await ws.send(s)
        # Bulk writes of pre-framed websocket messages (server frames are unmasked), so that
        # the sender is not what limits the measurement.
        transport = ws.transport
        k = len(frames)
        t0 = time.perf_counter()
        sent = 0
        while sent < n_frames:
            chunk = blobs[(sent // CHUNK) % len(blobs)]
            take = min(CHUNK, n_frames - sent)
            transport.write(
                chunk
                if take == CHUNK
                else b"".join(_ws_frame(frames[(sent + j) % k]) for j in range(take))
            )
            sent += take
            while transport.get_write_buffer_size() > 1 << 20:
                await asyncio.sleep(0.0005)
        conn.send(("sent", time.perf_counter() - t0))
        await ws.wait_closed()
        done.set()

    async with serve(handler, "127.0.0.1", 0, ping_interval=None, max_queue=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        conn.send(f"ws://127.0.0.1:{port}/v5/public/inverse")
        await done.wait()


# -- measurements ------------------------------------------------------------------------------


def _pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


async def _latency_run(url: str) -> list[tuple[str, int, int]]:
    from core.feeds import make_adapter
    from core.feeds.runner import FeedRunner

    got: list[tuple[str, int, int]] = []
    clock = time.monotonic_ns

    def on_quote(q: Any) -> None:
        got.append((q.symbol, q.exchange_ms, clock()))

    symbols = [f"{c}USD" for c in LAT_COINS]
    runner = FeedRunner(make_adapter("bybit", "inverse"), url, symbols, on_quote)
    task = asyncio.create_task(runner.run())
    await asyncio.sleep(LAT_SECONDS)
    runner.stop()
    await task
    return got


def latency() -> None:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_latency_child, args=(child,))
    proc.start()
    url = parent.recv()
    got = asyncio.run(_latency_run(url))
    parent.send("done")
    sent, _ticks = parent.recv()
    proc.join()
    sent_at = {(sym, ts): t for sym, ts, t in sent}
    if not got:
        print("latency: no quotes received")
        return
    first = got[0][2]
    lat_ms = [
        (t - sent_at[(sym, ts)]) / 1e6
        for sym, ts, t in got
        if (sym, ts) in sent_at and t - first > WARMUP_S * 1e9
    ]
    span_s = (got[-1][2] - first) / 1e9
    rate = len(got) / span_s if span_s > 0 else 0.0
    print(
        f"latency sim send -> normalised quote (Bybit inverse, {len(LAT_COINS)} symbols, "
        f"{rate:,.0f} msg/s, {len(lat_ms)} matched): "
        f"p50 {statistics.median(lat_ms):.3f} ms, p90 {_pct(lat_ms, 90):.3f} ms, "
        f"p99 {_pct(lat_ms, 99):.3f} ms, max {max(lat_ms):.3f} ms   (goal p99 <= 2 ms)"
    )


async def _throughput_run(url: str, n_frames: int) -> tuple[int, float, int]:
    from core.feeds import make_adapter
    from core.feeds.runner import FeedRunner

    count = 0
    t_first = 0.0
    t_last = 0.0
    target = n_frames + len(LAT_COINS)
    finished = asyncio.Event()
    clock = time.perf_counter

    def on_quote(_q: Any) -> None:
        nonlocal count, t_first, t_last
        count += 1
        if count == len(LAT_COINS) + 1:
            t_first = clock()
        if count >= target:
            t_last = clock()
            finished.set()

    symbols = [f"{c}USD" for c in LAT_COINS]
    runner = FeedRunner(
        make_adapter("bybit", "inverse"), url, symbols, on_quote, silence_timeout_s=None
    )
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(finished.wait(), 60)
    except TimeoutError:
        t_last = clock()
    runner.stop()
    await task
    return count - len(LAT_COINS), t_last - t_first, runner.counters.parse_errors


def throughput(n_frames: int = THRU_FRAMES) -> None:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_throughput_child, args=(child, n_frames))
    proc.start()
    url = parent.recv()
    n, secs, errors = asyncio.run(_throughput_run(url, n_frames))
    _, send_s = parent.recv()
    proc.join()
    print(
        f"runner throughput from loopback (Bybit inverse deltas, one connection): "
        f"{n / secs:,.0f} msg/s ({n:,} quotes in {secs:.2f} s, {errors} parse errors; "
        f"sender {n_frames / send_s:,.0f} msg/s)   (goal 50,000 msg/s)"
    )


def loop_jitter() -> None:
    """The floor the machine sets: how late an idle event loop wakes from a 1 ms sleep."""

    async def run() -> list[float]:
        loop = asyncio.get_running_loop()
        late = []
        for _ in range(2000):
            t = loop.time()
            await asyncio.sleep(0.001)
            late.append((loop.time() - t - 0.001) * 1000)
        return late

    late = asyncio.run(run())
    print(
        f"event-loop wake-up lateness after a 1 ms sleep (baseline scheduling noise): "
        f"p50 {statistics.median(late):.3f} ms, p99 {_pct(late, 99):.3f} ms, "
        f"max {max(late):.3f} ms"
    )


def main() -> None:
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    loop_jitter()
    latency()
    throughput()
    sim_cpu()


if __name__ == "__main__":
    main()
