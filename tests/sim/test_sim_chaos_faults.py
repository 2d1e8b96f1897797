"""Each chaos fault is observable on the wire with a plain websockets client."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from core.sim import parse_chaos

TIMEOUT = 5.0


async def recv(ws: ClientConnection, timeout: float = TIMEOUT) -> str:
    msg = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(msg, str)
    return msg


def raw_url(urls: dict[tuple[str, str], str], stream: str) -> str:
    return urls[("binance", "inverse")].removesuffix("/stream") + "/ws/" + stream


async def test_drop_closes_every_connection_abruptly_or_cleanly(make_sim: Any) -> None:
    ex, urls = await make_sim(chaos=parse_chaos("drop=0.3"))
    async with (
        connect(raw_url(urls, "btcusd_perp@bookTicker")) as a,
        connect(raw_url(urls, "ethusd_perp@bookTicker")) as b,
    ):
        codes = []
        for ws in (a, b):
            with pytest.raises(ConnectionClosed):
                await _drain(ws, TIMEOUT)
            codes.append(ws.close_code)
    # One drop aborts the TCP connection (no close frame: 1006), the next closes it (1001).
    assert sorted(c or 1006 for c in codes) == [1001, 1006]
    assert ex.stats.drops >= 2
    async with connect(raw_url(urls, "btcusd_perp@bookTicker")) as c:
        assert json.loads(await recv(c))["s"] == "BTCUSD_PERP"


async def _drain(ws: ClientConnection, quiet_s: float) -> None:
    """Read until nothing arrives for ``quiet_s`` (the recv timeout ends the loop)."""
    for _ in range(1000):
        await recv(ws, timeout=quiet_s)


async def _quiet_after_stall(ex: Any, ws: ClientConnection) -> None:
    """Wait until the sim says it is stalled, drain what was already in flight, then see
    a quiet gap of 15 ticks (20 ms each)."""
    await asyncio.wait_for(ex.stall_started.wait(), TIMEOUT)
    with pytest.raises(TimeoutError):
        await _drain(ws, 0.3)


async def test_stall_accepts_but_sends_nothing(make_sim: Any) -> None:
    ex, urls = await make_sim(chaos=parse_chaos("stall=0.2"))
    async with connect(urls[("bybit", "inverse")]) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": ["tickers.BTCUSD"]}))
        assert json.loads(await recv(ws))["success"] is True
        assert json.loads(await recv(ws))["type"] == "snapshot"
        await _quiet_after_stall(ex, ws)
    # A new connection is accepted, but nothing is answered.
    async with connect(urls[("bybit", "inverse")]) as ws:
        await ws.send(json.dumps({"op": "ping"}))
        with pytest.raises(TimeoutError):
            await recv(ws, timeout=0.3)
    assert ex.stats.stalled_ticks > 0


async def test_stall_window_resumes(make_sim: Any) -> None:
    ex, urls = await make_sim(chaos=parse_chaos("stall=0.2:0.4"))
    async with connect(raw_url(urls, "solusd_perp@bookTicker")) as ws:
        first = json.loads(await recv(ws))
        await _quiet_after_stall(ex, ws)
        later = json.loads(await recv(ws))  # data returns after the window
    assert later["u"] > first["u"]
    assert later["E"] - first["E"] >= 400  # simulated time went on meanwhile


async def test_garbage_frames_are_malformed(make_sim: Any) -> None:
    ex, urls = await make_sim(chaos=parse_chaos("garbage=1"))
    async with connect(urls[("bybit", "inverse")]) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": ["tickers.ETHUSD"], "req_id": "g"}))
        ack = json.loads(await recv(ws))  # replies are never garbled
        assert ack["req_id"] == "g"
        for _ in range(6):
            text = await recv(ws)
            with pytest.raises(json.JSONDecodeError):
                json.loads(text)
    assert ex.stats.garbage >= 6


async def test_some_garbage_among_good_frames(make_sim: Any) -> None:
    _, urls = await make_sim(chaos=parse_chaos("garbage=0.3"), interval_ms=5.0)
    good = bad = 0
    async with connect(raw_url(urls, "btcusd_perp@markPrice@1s")) as ws:
        for _ in range(60):
            try:
                json.loads(await recv(ws))
                good += 1
            except ValueError:
                bad += 1
    assert good > 0
    assert bad > 0


async def test_reorder_repeats_and_swaps_frames(make_sim: Any) -> None:
    ex, urls = await make_sim(chaos=parse_chaos("reorder=1"), interval_ms=5.0)
    async with connect(raw_url(urls, "btcusd_perp@bookTicker")) as ws:
        ids = [json.loads(await recv(ws))["u"] for _ in range(40)]
    repeats = sum(1 for a, b in itertools.pairwise(ids) if a == b)
    backwards = sum(1 for a, b in itertools.pairwise(ids) if b < a)
    assert repeats > 0
    assert backwards > 0
    assert ex.stats.repeated > 0
    assert ex.stats.swapped > 0


async def test_binance_refused_streams(make_sim: Any) -> None:
    ex, urls = await make_sim(chaos=parse_chaos("refuse=ETH"))
    url = urls[("binance", "inverse")] + "?streams=ethusd_perp@bookTicker/btcusd_perp@bookTicker"
    async with connect(url) as ws:
        streams = {json.loads(await recv(ws))["stream"] for _ in range(8)}
        assert streams == {"btcusd_perp@bookTicker"}
        await ws.send(
            json.dumps({"method": "SUBSCRIBE", "params": ["ethusd_perp@markPrice"], "id": 4})
        )
        for _ in range(50):
            reply = json.loads(await recv(ws))
            if "id" in reply:
                break
        assert reply["id"] == 4
        assert reply["code"] == 2
        assert "ethusd_perp@markPrice" in reply["msg"]
    assert ex.stats.refused == 2
