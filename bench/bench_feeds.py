"""Feed benchmarks: decode + normalise cost per venue on one core, and FeedRunner throughput
from a loopback websocket server running in another process.

Goals (issue 3): <= 3 us per Bybit ticker message decoded and normalised; >= 50,000 messages/s
through the runner without the UI. Uses the recorded messages in ../shared/fixtures/ws.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from core.events import Quote
from core.feeds import make_adapter
from core.feeds.runner import FeedRunner

FIXTURES = Path(
    os.environ.get("HEDGETOP_SHARED", Path(__file__).resolve().parents[2] / "shared")
) / ("fixtures/ws")

# (label, venue, socket, fixture file)
CASES = [
    ("bybit tickers (snapshot+deltas)", "bybit", "inverse", "bybit-linear-tickers.jsonl"),
    ("bybit spot tickers", "bybit", "spot", "bybit-spot-tickers.jsonl"),
    ("binance COIN-M bookTicker", "binance", "inverse", "binance-coinm-bookticker.jsonl"),
    ("okx spot tickers", "okx", "inverse", "okx-spot-tickers.jsonl"),
    ("deribit ticker", "deribit", "inverse", "deribit-ticker.jsonl"),
]


def _lines(name: str) -> list[bytes]:
    return [line.encode() for line in (FIXTURES / name).read_text().splitlines() if line.strip()]


def _best_of(runs: int, fn: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_decode(min_messages: int = 100_000) -> dict[str, float]:
    """Best-of-5 µs per message for each venue's adapter (decode + normalise + emit)."""
    results: dict[str, float] = {}
    for label, venue, socket, name in CASES:
        lines = _lines(name)
        reps = max(1, min_messages // len(lines))
        adapter = make_adapter(venue, socket)
        sink: list[Quote] = []

        def run(adapter=adapter, lines=lines, reps=reps, sink=sink) -> None:  # type: ignore[no-untyped-def]
            decode = adapter.decode
            emit = sink.append
            for _ in range(reps):
                adapter.reset()  # a new stream: each repeat is decoded, not dropped as old
                for raw in lines:
                    decode(raw, 1, emit)
                sink.clear()

        seconds = _best_of(5, run)
        results[label] = seconds / (reps * len(lines)) * 1e6
    return results


def bench_baselines(min_messages: int = 100_000) -> dict[str, float]:
    """For scale: stdlib json.loads alone, and msgspec decoding into a typed struct alone."""
    from core.feeds.bybit import _Message

    lines = _lines("bybit-linear-tickers.jsonl")
    reps = max(1, min_messages // len(lines))
    decoder = msgspec.json.Decoder(_Message)

    def stdlib() -> None:
        for _ in range(reps):
            for raw in lines:
                json.loads(raw)

    def typed() -> None:
        for _ in range(reps):
            for raw in lines:
                decoder.decode(raw)

    n = reps * len(lines)
    return {
        "stdlib json.loads (bybit)": _best_of(5, stdlib) / n * 1e6,
        "msgspec typed decode only (bybit)": _best_of(5, typed) / n * 1e6,
    }


# --- runner throughput --------------------------------------------------------------------


def _frame(text: str) -> bytes:
    """One unmasked server text frame (RFC 6455 §5.2)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        head = bytes([0x81, n])
    elif n < 65536:
        head = bytes([0x81, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x81, 127]) + n.to_bytes(8, "big")
    return head + payload


def _cycles(frames: list[str], cycles: int) -> list[bytes]:
    """The recording repeated ``cycles`` times, each repeat moved forward in exchange time and
    sequence (``ts``, ``cs``) as a live feed would be: the runner drops a message older than
    the last of its symbol, so a plain repeat would be dropped after the first cycle."""
    rows = [json.loads(f) for f in frames]
    ts_span = max(r["ts"] for r in rows) - min(r["ts"] for r in rows) + 1000
    cs_span = max(r["cs"] for r in rows) - min(r["cs"] for r in rows) + 1000
    out = []
    for c in range(cycles):
        text = []
        for r in rows:
            moved = dict(r, ts=r["ts"] + c * ts_span, cs=r["cs"] + c * cs_span)
            text.append(_frame(json.dumps(moved, separators=(",", ":"))))
        out.append(b"".join(text))
    return out


def _server_process(port_q: mp.Queue, frames: list[str], total: int) -> None:  # type: ignore[type-arg]
    """A bare websocket server: handshake, read the subscription, then write pre-built frames
    in large chunks, so that the client, not the server, is what gets measured."""
    import base64
    import hashlib
    import re

    chunks = _cycles(frames, max(1, total // len(frames)))

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        match = re.search(rb"(?i)sec-websocket-key:\s*(\S+)", request)
        assert match is not None
        magic = match.group(1) + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        accept = base64.b64encode(hashlib.sha1(magic).digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        _, b1 = await reader.readexactly(2)  # the subscription frame (masked)
        length = b1 & 0x7F
        if length == 126:
            length = int.from_bytes(await reader.readexactly(2), "big")
        elif length == 127:
            length = int.from_bytes(await reader.readexactly(8), "big")
        await reader.readexactly(4 + length)
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
        with contextlib.suppress(Exception):
            await reader.read()  # until the client goes

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port_q.put(server.sockets[0].getsockname()[1])
        await asyncio.Future()

    asyncio.run(main())


async def _drain(url: str, symbols: list[str], total: int) -> tuple[float, int]:
    done = asyncio.Event()
    count = 0
    t_first = 0.0

    def on_quote(q: Quote) -> None:
        nonlocal count, t_first
        count += 1
        if count == 1:
            t_first = time.perf_counter()
        if count >= total:
            done.set()

    runner = FeedRunner(make_adapter("bybit"), url, symbols, on_quote)
    task = asyncio.create_task(runner.run())
    async with asyncio.timeout(120):
        await done.wait()
    elapsed = time.perf_counter() - t_first
    runner.stop()
    await task
    return elapsed, runner.counters.messages


def bench_runner(total: int = 200_000) -> float:
    """Messages per second through FeedRunner (Bybit frames) from a server in another
    process over 127.0.0.1 (the first message starts the clock)."""
    lines = [line.decode() for line in _lines("bybit-linear-tickers.jsonl")]
    total = total // len(lines) * len(lines)
    symbols = sorted({json.loads(line)["data"]["symbol"] for line in lines})
    ctx = mp.get_context("fork")
    port_q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    proc = ctx.Process(target=_server_process, args=(port_q, lines, total), daemon=True)
    proc.start()
    try:
        port = port_q.get(timeout=30)
        elapsed, messages = asyncio.run(_drain(f"ws://127.0.0.1:{port}/ws", symbols, total))
    finally:
        proc.terminate()
        proc.join(5)
    return (messages - 1) / elapsed if elapsed > 0 else float("nan")


def main() -> None:
    print("decode + normalise, one core, best of 5 (goal: bybit <= 3 us/msg)")
    for label, us in bench_decode().items():
        print(f"  {label:<36} {us:6.2f} us/msg")
    for label, us in bench_baselines().items():
        print(f"  {label:<36} {us:6.2f} us/msg")
    rates = sorted(bench_runner() for _ in range(3))
    print("FeedRunner from a loopback server in another process (goal: >= 50,000 msg/s)")
    print(
        f"  bybit frames, 200,000 messages x3      best {rates[-1]:,.0f} msg/s, "
        f"median {rates[1]:,.0f} msg/s, worst {rates[0]:,.0f} msg/s"
    )
    load = os.getloadavg()
    print(f"  (machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f})")


if __name__ == "__main__":
    main()
